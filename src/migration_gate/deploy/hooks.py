"""Inside each revision's own transaction: the deploy's timeouts first, its ledger row last.

The user's env.py opens and commits the transaction a revision runs in (Alembic's
``context.begin_transaction()``); the deploy does not replace it. `TransactionHooks` listens
to SQLAlchemy's connection events, during one step and only for connections to the
deploy's database (the step runner's, or one env.py opened itself to the same database):

- **begin**: on PostgreSQL ``set_config('lock_timeout', …, true)`` and the same for
  ``statement_timeout`` (what ``SET LOCAL`` does: the values last until the transaction
  ends, so nothing a revision sets survives it), in the same statement as the check that the
  deploy lock's session still holds the lock (a deployer that lost it stops before the
  revision does anything); on SQLite ``BEGIN IMMEDIATE``, so the
  revision's DDL is really transactional (pysqlite alone would autocommit it). Outside a
  transaction (Alembic's ``autocommit_block``) the same values are set for the session.
- **statements**: notes when Alembic writes its version table, and when a statement runs
  outside any transaction (then a failure cannot be rolled back entirely and is not retried).
- **commit**: when the transaction wrote the version table, the revision's ledger row is
  inserted in it, just before it commits; on PostgreSQL the insert also returns the
  timeouts in force, so a revision or env.py that changed them is reported, not silent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import URL

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


class TransactionHooks:
    """Event listeners that put the deploy's timeouts and ledger row into each revision's
    transaction: ``with hooks:`` around the deploy, `step(...)` around one attempt of one
    revision."""

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
    def _on_begin(self, conn: Connection) -> None:
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
        values = self.timeouts.settings()
        params: dict[str, Any] = {
            "lock": values["lock_timeout"],
            "stmt": values["statement_timeout"],
            "local": local,
        }
        held = "true"
        if self.lock is not None:
            key, pid = self.lock
            held = (
                "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = %(pid)s AND classid = %(hi)s AND objid = %(lo)s AND objsubid = 1)"
            )
            params.update(pid=pid, hi=(key >> 32) & 0xFFFFFFFF, lo=key & 0xFFFFFFFF)
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
            major = (conn.dialect.server_version_info or (0,))[0]
            if isinstance(major, int) and major >= 14:
                # a session whose client died ends within a second, not after its statement
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
        state = self.state
        if state is None or not state.stamped or state.ledger_written or not self._is_ours(conn):
            return
        if self._autocommit(conn):
            return
        in_force = ledger.insert(conn, self._row(state), settings=self.dialect == "postgresql")
        if in_force is not None:
            state.in_force = {"lock_timeout": in_force[0], "statement_timeout": in_force[1]}
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
