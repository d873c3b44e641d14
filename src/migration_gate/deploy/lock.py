"""Serialize deployers of one database: the deploy lock.

On PostgreSQL the lock is a session-level advisory lock, taken on a dedicated connection
(its own session, application_name ``migration-gate-deploy-lock``) and held until the deploy
ends; the key is derived from the version table's name, so two checkouts of one project (two
CI runners) compete for the same lock and two projects sharing a database with different
version tables do not. A second deployer waits up to `deploy.lock_wait` (PostgreSQL's own
`lock_timeout` on that one statement), then gives up naming who holds it. If the holder dies
(SIGKILL, a lost runner), PostgreSQL ends its session and the lock is free.

A dead deployer can leave a statement running on its migration session (a long ALTER, a
pg_sleep) after its lock session is gone. Sessions that migrate carry the application_name
``migration-gate-deploy`` (`tagged`) and, on PostgreSQL 14+, a short
`client_connection_check_interval` so the server notices their client is gone; the next
deployer, once it holds the lock, waits for such orphaned sessions to end before it reads
anything. While migrating, each revision's transaction first checks that the lock session
still holds the lock (`hooks`): a deployer that lost its lock stops.

On SQLite the lock is an exclusive transaction held on a companion file beside the
database (``<database>-migration-gate.lock``): a second deployer's ``BEGIN EXCLUSIVE``
waits for it (SQLite's busy timeout), and the operating system frees it when a holder dies.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import time
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from migration_gate.db import engines, urls
from migration_gate.db.failure import error_code, error_text
from migration_gate.errors import ConfigError, GateError, InfrastructureError

__all__ = ["LOCK_APP", "MIGRATE_APP", "DeployLock", "LockNotAcquired", "lock_key", "tagged"]

log = logging.getLogger(__name__)

#: application_name of the sessions that run revisions
MIGRATE_APP = "migration-gate-deploy"
#: application_name of the session that holds the deploy lock
LOCK_APP = "migration-gate-deploy-lock"
_POLL = 0.2


class LockNotAcquired(GateError):
    """Another deployer held the lock for longer than `lock_wait`, or the lock was lost."""


def lock_key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) for `name` (the version table)."""
    digest = hashlib.sha256(f"migration-gate deploy:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def tagged(url: str, app: str = MIGRATE_APP) -> str:
    """`url` with the application_name that marks a deploy's sessions (PostgreSQL only)."""
    u = urls.parse(url)
    if u.get_backend_name() != "postgresql":
        return url
    return u.update_query_dict({"application_name": app}).render_as_string(hide_password=False)


def _ms(seconds: float) -> str:
    return f"{max(0, round(seconds * 1000))}ms"


class DeployLock:
    """The deploy lock of the database at `url`, held between `acquire` and `release`."""

    def __init__(self, url: str, *, name: str, wait: float, environment: str) -> None:
        self.url = url
        self.dialect = urls.dialect_of(url)
        self.key = lock_key(name)
        self.wait = wait
        self.environment = environment
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._sqlite: sqlite3.Connection | None = None
        #: seconds spent waiting for another deployer
        self.waited = 0.0
        #: the backend pid of the session holding the lock (PostgreSQL)
        self.pid: int | None = None

    # -- PostgreSQL --------------------------------------------------------------------
    def _connect(self) -> Connection:
        self._engine = engines.engine(tagged(self.url, LOCK_APP), autocommit=True)
        try:
            return self._engine.connect()
        except DBAPIError as exc:
            self._engine.dispose()
            self._engine = None
            raise InfrastructureError(
                f"{self.environment}: cannot connect to {urls.mask(self.url)}: {error_text(exc)}",
                hint="check the database URL and that the server is running",
            ) from None

    def _holder(self, conn: Connection) -> str:
        row = conn.execute(
            sa.text(
                "SELECT a.pid, a.application_name, a.client_addr, a.backend_start "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"
            ),
            {"hi": (self.key >> 32) & 0xFFFFFFFF, "lo": self.key & 0xFFFFFFFF},
        ).first()
        if row is None:
            return "another session"
        where = f" from {row.client_addr}" if row.client_addr else ""
        return f"session {row.pid}{where} ({row.application_name or 'no name'}, since {row.backend_start:%Y-%m-%d %H:%M:%S%z})"

    def _acquire_pg(self) -> None:
        conn = self._conn = self._connect()
        self.pid = int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        if conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar():
            self._wait_for_orphans(conn, time.monotonic() + self.wait)
            return
        holder = self._holder(conn)
        if self.wait <= 0:
            raise LockNotAcquired(
                f"{self.environment}: another deploy holds the deploy lock ({holder})",
                hint="wait for it to finish, or set deploy.lock_wait to wait for it",
            )
        log.warning(
            "%s: waiting up to %.0fs for the deploy lock held by %s",
            self.environment,
            self.wait,
            holder,
        )
        t0 = time.monotonic()
        conn.execute(sa.text("SELECT set_config('lock_timeout', :t, false)"), {"t": _ms(self.wait)})
        try:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
        except DBAPIError as exc:
            if error_code(exc) != "55P03":
                raise
            raise LockNotAcquired(
                f"{self.environment}: another deploy held the deploy lock for longer than "
                f"deploy.lock_wait ({self.wait:g}s): {holder}",
                hint="find out why that deploy takes so long (or why it hangs), or raise "
                "deploy.lock_wait",
            ) from None
        finally:
            self.waited = time.monotonic() - t0
        conn.execute(sa.text("SELECT set_config('lock_timeout', '0', false)"))
        self._wait_for_orphans(conn, t0 + self.wait)

    def _wait_for_orphans(self, conn: Connection, deadline: float) -> None:
        """Wait for migration sessions left running by a deployer that died."""
        query = sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :app AND pid <> pg_backend_pid()"
        )
        while True:
            pids = conn.execute(query, {"app": MIGRATE_APP}).scalars().all()
            if not pids:
                return
            if time.monotonic() >= deadline:
                raise LockNotAcquired(
                    f"{self.environment}: session(s) {', '.join(map(str, pids))} of an earlier "
                    "deploy are still running on the database although that deploy no longer "
                    "holds the deploy lock",
                    hint="a deployer died in the middle of a statement; wait for it to end or "
                    "end it with SELECT pg_terminate_backend(pid)",
                )
            log.warning(
                "%s: waiting for session(s) %s of an earlier deploy to end",
                self.environment,
                ", ".join(map(str, pids)),
            )
            time.sleep(_POLL)

    # -- SQLite ------------------------------------------------------------------------
    def _acquire_sqlite(self) -> None:
        database = urls.parse(self.url).database
        if not database or database == ":memory:":
            raise ConfigError(
                f"{self.environment}: an in-memory SQLite database cannot be deployed to",
                hint="name a file: sqlite:///path/to/app.db",
            )
        path = Path(f"{database}-migration-gate.lock")
        t0 = time.monotonic()
        try:
            self._sqlite = sqlite3.connect(path, timeout=self.wait, isolation_level=None)
            self._sqlite.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None
            if "locked" in str(exc):
                raise LockNotAcquired(
                    f"{self.environment}: another deploy held the deploy lock ({path}) for "
                    f"longer than deploy.lock_wait ({self.wait:g}s)",
                    hint="wait for it to finish, or raise deploy.lock_wait",
                ) from None
            raise InfrastructureError(f"{self.environment}: cannot lock {path}: {exc}") from None
        finally:
            self.waited = time.monotonic() - t0

    # -- both --------------------------------------------------------------------------
    def acquire(self) -> DeployLock:
        if self.dialect == "postgresql":
            self._acquire_pg()
        else:
            self._acquire_sqlite()
        return self

    def release(self) -> None:
        conn, self._conn = self._conn, None
        self.pid = None
        if conn is not None:
            with contextlib.suppress(DBAPIError):
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            with contextlib.suppress(DBAPIError):
                conn.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        lite, self._sqlite = self._sqlite, None
        if lite is not None:
            with contextlib.suppress(sqlite3.Error):
                lite.execute("ROLLBACK")
            lite.close()

    def __enter__(self) -> DeployLock:
        return self.acquire()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
