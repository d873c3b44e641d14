"""Inside each revision's own transaction: the deploy's timeouts in force, its ledger row last.

The user's env.py opens and commits the transaction a revision runs in (Alembic's
``context.begin_transaction()``); the deploy does not replace it. `TransactionHooks` listens
to SQLAlchemy's connection events, during one step and only for connections to the
deploy's database (the step runner's, or one env.py opened itself to the same database).

On PostgreSQL the step runner's connection is `prepare`-d once per deploy: the deploy's
``lock_timeout`` and ``statement_timeout`` are set for its session (committed), so no
statement is needed as each revision begins. Each revision's ledger row goes in with one
statement as it commits (`ledger.insert_checked`) that also returns the timeouts in force
(a revision or env.py that changed them is reported, not silent), sets them back to the
deploy's for the session (so nothing a revision set, even with a session-level ``SET``,
reaches the next one; a revision that rolls back takes its changes with it), and checks
that the deploy lock's session still holds the lock: when it does not, no row is written
and `LockLost` is raised inside the commit, so the revision's transaction rolls back and
nothing of it is applied.

- **begin**: on SQLite ``BEGIN IMMEDIATE``, so the revision's DDL is really transactional
  (pysqlite alone would autocommit it). On PostgreSQL, outside a transaction (Alembic's
  ``autocommit_block``) the deploy's values are set for the session and the lock is checked
  first, since what runs there commits at once; and on a connection that was not prepared
  (one env.py opened itself) each transaction begins with ``set_config(..., true)`` (what
  ``SET LOCAL`` does) and the lock check.
- **statements**: notes when Alembic writes its version table, and when a statement runs
  outside any transaction (then a failure cannot be rolled back entirely and is not retried).
- **commit**: when the transaction wrote the version table, the revision's ledger row is
  inserted in it, just before it commits (on PostgreSQL with `ledger.insert_checked`).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import DBAPIError

from migration_gate.db import urls
from migration_gate.deploy import ledger
from migration_gate.deploy.section import LedgerRow

__all__ = ["LockLost", "StepState", "Timeouts", "TransactionHooks"]


@dataclass(frozen=True)
class Timeouts:
    """Per-transaction limits, in seconds (0: none)."""

    lock_timeout: float
    statement_timeout: float

    def settings(self) -> dict[str, str]:
        return {
            "lock_timeout": f"{round(self.lock_timeout * 1000)}ms",
            "statement_timeout": f"{round(self.statement_timeout * 1000)}ms",
        }


@dataclass
class StepState:
    """What the hooks saw during one attempt of one revision."""

    revision: str
    started: float = field(default_factory=time.perf_counter)
    #: wall-clock start, UTC ISO 8601 (the ledger's started_at)
    started_at: str = field(default_factory=ledger.now_iso)
    #: a transaction of this step wrote the version table (and is not committed yet)
    stamped: bool = False
    #: the ledger row went in with the revision's commit
    ledger_written: bool = False
    #: a statement ran outside any transaction (autocommit_block)
    outside: bool = False
    #: settings in force when the revision committed (PostgreSQL), e.g. lock_timeout -> 5s
    in_force: dict[str, str] = field(default_factory=dict)
    #: the deploy lock was no longer held when the revision began (it was not applied)
    lost_lock: bool = False


class LockLost(Exception):
    """Raised inside a revision's transaction when the deploy lock is gone."""


def _identity(url: URL) -> tuple[Any, ...]:
    u = urls.sync_url(url)
    return (
        u.get_backend_name(),
        u.host,
        u.port,
        u.database,
        u.username,
        u.query.get("host"),
    )


#: `Connection.info` key (it lives as long as the database connection) of `prepare`
_PREPARED = "migration_gate.deploy.prepared"


def _abort(conn: Connection) -> None:
    """When a begin or commit listener raises, SQLAlchemy forgets that transaction, but the
    database connection is still in it (with the revision's work): roll it back there, so
    that no later commit on this connection (a ledger row, a read) can commit any of it."""
    with contextlib.suppress(Exception):
        conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]


class TransactionHooks:
    """Event listeners that put the deploy's timeouts and ledger row into each revision's
    transaction: ``with hooks:`` around the deploy, `prepare(conn)` before each command,
    `step(...)` around one attempt of one revision, or `open(...)` for each revision of a
    command that runs several."""

    def __init__(
        self,
        url: str,
        *,
        timeouts: Timeouts,
        version_table: str,
        row: Callable[[StepState], LedgerRow],
        lock: tuple[int, int] | None = None,
    ) -> None:
        self.dialect = urls.dialect_of(url)
        #: (advisory lock key, pid of the session holding it): checked as each revision begins
        self.lock = lock
        self.timeouts = timeouts
        self._target = _identity(urls.parse(url))
        self._row = row
        name = re.escape(version_table)
        self._stamp = re.compile(
            rf'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:"?\w+"?\.)?"?{name}"?\b', re.I
        )
        self._ours: dict[int, bool] = {}
        self._session_set: set[int] = set()
        self._token = object()
        self.state: StepState | None = None

    def _is_ours(self, conn: Connection) -> bool:
        engine = conn.engine
        known = self._ours.get(id(engine))
        if known is None:
            known = self._ours[id(engine)] = _identity(engine.url) == self._target
        return known

    @staticmethod
    def _autocommit(conn: Connection) -> bool:
        return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    # -- listeners ---------------------------------------------------------------------
    def _prepared(self, conn: Connection) -> bool:
        return conn.info.get(_PREPARED) is self._token

    def _lock_params(self) -> tuple[str, dict[str, Any]]:
        """The SQL that is true while the deploy lock's session holds it, and its values."""
        if self.lock is None:
            return "true", {}
        key, pid = self.lock
        return (
            "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = %(pid)s AND classid = %(hi)s AND objid = %(lo)s AND objsubid = 1)",
            {"pid": pid, "hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
        )

    @staticmethod
    def _check_interval(conn: Connection) -> bool:
        """PostgreSQL 14+: a session whose client died can end within a second, not after
        its statement (client_connection_check_interval)."""
        major = (conn.dialect.server_version_info or (0,))[0]
        return isinstance(major, int) and major >= 14

    def prepare(self, conn: Connection) -> None:
        """Set the deploy's timeouts for `conn`'s session (PostgreSQL; committed, once per
        database connection): its transactions then begin without a statement of ours.
        Should that fail, the connection stays as it was, and each of its transactions
        begins with the values set for it (the revision's own failure says what is wrong)."""
        if self.dialect != "postgresql" or self._prepared(conn):
            return
        values = self.timeouts.settings()
        check = ", set_config('client_connection_check_interval', '1000', false)"
        try:
            conn.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(lock)s, false), "
                "set_config('statement_timeout', %(stmt)s, false)"
                + (check if self._check_interval(conn) else ""),
                {"lock": values["lock_timeout"], "stmt": values["statement_timeout"]},
            )
            conn.commit()
        except DBAPIError:
            with contextlib.suppress(DBAPIError):
                conn.rollback()
            return
        conn.info[_PREPARED] = self._token
        self._session_set.add(id(conn))

    def _on_begin(self, conn: Connection) -> None:
        try:
            self._begin(conn)
        except BaseException:
            _abort(conn)
            raise

    def _begin(self, conn: Connection) -> None:
        if self.state is None or not self._is_ours(conn):
            return
        if self.dialect == "sqlite":
            if not self._autocommit(conn):
                raw: Any = conn.connection.driver_connection
                raw.isolation_level = None  # we say BEGIN, not pysqlite (which skips DDL)
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        if self.dialect != "postgresql":
            return
        local = not self._autocommit(conn)
        if local and self._prepared(conn):
            return  # the session has the deploy's values; the lock is checked at commit
        values = self.timeouts.settings()
        held, params = self._lock_params()
        params.update(lock=values["lock_timeout"], stmt=values["statement_timeout"], local=local)
        found = conn.exec_driver_sql(
            "SELECT set_config('lock_timeout', %(lock)s, %(local)s), "
            f"set_config('statement_timeout', %(stmt)s, %(local)s), {held}",
            params,
        ).one()
        if not found[2]:
            self.state.lost_lock = True
            raise LockLost("the deploy lock's session is gone")
        if id(conn) not in self._session_set:
            self._session_set.add(id(conn))
            if self._check_interval(conn):
                conn.exec_driver_sql(
                    "SELECT set_config('client_connection_check_interval', '1000', false)"
                )

    def _on_statement(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        state = self.state
        if state is None or not self._is_ours(conn):
            return
        if self._autocommit(conn) and not statement.lstrip().upper().startswith(
            "SELECT SET_CONFIG"
        ):
            state.outside = True
        if self._stamp.match(statement) and not self._autocommit(conn):
            state.stamped = True

    def _on_commit(self, conn: Connection) -> None:
        try:
            self._commit(conn)
        except BaseException:
            _abort(conn)
            raise

    def _commit(self, conn: Connection) -> None:
        state = self.state
        if state is None or not state.stamped or state.ledger_written or not self._is_ours(conn):
            return
        if self._autocommit(conn):
            return
        row = self._row(state)
        if self.dialect == "postgresql":
            held, params = self._lock_params()
            checked = ledger.insert_checked(
                conn, row, restore=self.timeouts.settings(), held=held, params=params
            )
            state.in_force = {
                "lock_timeout": checked.lock_timeout,
                "statement_timeout": checked.statement_timeout,
            }
            if not checked.held:
                state.lost_lock = True
                raise LockLost("the deploy lock's session is gone")
        else:
            ledger.insert(conn, row)
        state.ledger_written = True

    # -- the window ----------------------------------------------------------------------
    def _listeners(self) -> list[tuple[str, Callable[..., Any]]]:
        return [
            ("begin", self._on_begin),
            ("before_cursor_execute", self._on_statement),
            ("commit", self._on_commit),
        ]

    def __enter__(self) -> TransactionHooks:
        """Listen (the listeners act only inside `step`)."""
        for name, fn in self._listeners():
            event.listen(Engine, name, fn)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, fn in self._listeners():
            event.remove(Engine, name, fn)
        self.state = None

    @contextmanager
    def step(self, revision: str) -> Iterator[StepState]:
        """One attempt of `revision` (inside ``with hooks:``)."""
        self.state = StepState(revision)
        try:
            yield self.state
        finally:
            self.state = None

    def open(self, revision: str) -> StepState:
        """The state of `revision`, the next of a command that runs several (inside
        ``with hooks:``): from now on its transaction's events are that revision's. The
        caller sets `state` back to None when the command ends."""
        self.state = StepState(revision)
        return self.state
