"""The step runner: one Alembic revision at a time, in-process, through the user's env.py.

A `StepRunner` holds one connection to one database and hands it to env.py through
``config.attributes["connection"]`` (Alembic's documented sharing pattern). Each call runs
exactly one revision step as its own Alembic command and commits it, as an incremental
deploy would. The script directory is read once. When env.py ignores the shared
connection and opens its own from the URL, the runner notices and still works (more
slowly); when it migrates some other database entirely, that is a configuration error.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from migration_gate.db import urls
from migration_gate.errors import ConfigError, InfrastructureError, MigrationError
from migration_gate.snapshot import SchemaSnapshot
from migration_gate.snapshot.incremental import IncrementalCapture

__all__ = [
    "Invoke",
    "StepFailed",
    "StepRunner",
    "error_code",
    "error_text",
    "load_script",
    "revision_map_error",
]

T = TypeVar("T")
#: wraps each Alembic command the tool runs (a worker thread, an app context...)
Invoke = Callable[[Callable[[], Any]], Any]


class StepFailed(MigrationError):
    """A revision step raised. `cause` is the database's (or Python's) own error text."""

    def __init__(
        self, revision: str, direction: str, cause: str, line: int | None, code: str | None = None
    ) -> None:
        super().__init__(
            f"{direction} of {revision} failed: {cause}", revision=revision, cause=cause
        )
        self.direction = direction
        self.line = line
        #: the database's error code (`error_code`), None for a Python error
        self.code = code


def load_script(config: Config) -> ScriptDirectory:
    """The script directory, loaded once; a missing or broken one is a ConfigError."""
    try:
        script = ScriptDirectory.from_config(config)
    except Exception as exc:
        raise ConfigError(
            f"cannot load the Alembic script directory: {exc}",
            hint="check script_location in the ini file (-c/--config)",
        ) from None
    revision_map_error(script)
    return script


def revision_map_error(script: ScriptDirectory) -> str | None:
    """Build Alembic's revision map once, with its warnings off (duplicate ids, missing
    parents are reported by the graph checks); the error text if it cannot be built."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _ = script.revision_map.heads
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def error_text(exc: BaseException) -> str:
    """The database's own error when there is one, else the Python exception, one line
    per fact, passwords masked."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig).strip()
        name = type(exc.orig).__name__
    else:
        text = str(exc).strip()
        name = type(exc).__name__
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()][:4]
    return urls.mask_text(f"{name}: {' | '.join(lines)}" if lines else name)


def error_code(exc: BaseException) -> str | None:
    """The database's code for the error that `exc` is or wraps: PostgreSQL's SQLSTATE
    (`23502`), SQLite's extended result name (`SQLITE_CONSTRAINT_NOTNULL`); None when no
    database error is behind it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = current.orig if isinstance(current, DBAPIError) else current
        for attr in ("sqlstate", "pgcode", "sqlite_errorname"):  # psycopg, psycopg2, sqlite3
            code = getattr(orig, attr, None)
            if isinstance(code, str) and code:
                return code
        current = current.__cause__ or current.__context__
    return None


def _line_in(exc: BaseException, path: str | None) -> int | None:
    if not path:
        return None
    target = str(Path(path).resolve())
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if str(Path(frame.filename).resolve()) == target:
            line = frame.lineno
    return line


def _engine(url: str) -> Engine:
    """A synchronous engine; SQLite connections may be used from the `invoke` thread."""
    sync = urls.sync_url(url)
    args = {"check_same_thread": False} if sync.get_backend_name() == "sqlite" else {}
    return sa.create_engine(sync, poolclass=NullPool, connect_args=args)


@dataclass
class _Outcome:
    used_our_connection: bool = True
    target_metadata: Any = None


class StepRunner:
    """Runs single revision steps of one chain on one database."""

    def __init__(
        self,
        config: Config,
        url: str,
        *,
        script: ScriptDirectory | None = None,
        invoke: Invoke | None = None,
    ) -> None:
        self.config = config
        self.url = url
        self.script = script or load_script(config)
        self.invoke: Invoke = invoke or (lambda fn: fn())
        self.shared_connection = True
        self.target_metadata: Any = None
        self._snapshots: IncrementalCapture | None = None
        self.engine: Engine = _engine(url)
        try:
            self.conn: Connection = self.engine.connect()
        except DBAPIError as exc:
            raise InfrastructureError(
                f"cannot connect to {urls.mask(url)}: {error_text(exc)}",
                hint="check the database URL and that the server is running",
            ) from None
        self._saved_url = config.get_main_option("sqlalchemy.url")
        config.set_main_option("sqlalchemy.url", self._ini_safe(url))
        config.attributes["connection"] = self.conn

    @staticmethod
    def _ini_safe(url: str) -> str:
        return url.replace("%", "%%")

    # -- database state -------------------------------------------------------------
    def heads(self) -> tuple[str, ...]:
        """The revisions the database is at (read from its version table)."""
        ctx = MigrationContext.configure(self.conn, opts={"version_table": self._version_table()})
        heads = ctx.get_current_heads()
        self._end_read()
        return tuple(sorted(heads))

    def snapshot(self) -> SchemaSnapshot:
        """The schema now; re-reads only what the steps since the last snapshot changed."""
        if self._snapshots is None:
            self._snapshots = IncrementalCapture(self.conn, ignore_tables=(self._version_table(),))
        return self._snapshots.snapshot()

    def _drop_snapshots(self, *, alive: bool = True) -> None:
        if self._snapshots is not None:
            if alive:
                self._snapshots.close()
            self._snapshots = None

    @property
    def version_table(self) -> str:
        """The name of Alembic's version table."""
        return self._version_table()

    def _version_table(self) -> str:
        return str(self.config.attributes.get("version_table", "alembic_version"))

    def _end_read(self) -> None:
        if self.conn.in_transaction():
            self.conn.commit()

    # -- steps ----------------------------------------------------------------------
    def upgrade(self, revision: str) -> None:
        """Apply exactly `revision` (its parents must be applied)."""
        self._step(revision, is_upgrade=True)

    def downgrade(self, revision: str) -> None:
        """Un-apply exactly `revision` (it must be a head of the database)."""
        self._step(revision, is_upgrade=False)

    def upgrade_many(self, revisions: Iterable[str]) -> None:
        """Apply each revision in turn, each as its own step (no checks between)."""
        for rev in revisions:
            self._step(rev, is_upgrade=True)

    def run_env_only(self) -> Any:
        """Run env.py once without migrating, to learn its target_metadata."""
        self._run(lambda heads, ctx: [], None)
        return self.target_metadata

    def _step(self, revision: str, *, is_upgrade: bool) -> None:
        script = self.script.get_revision(revision)
        if script is None:
            raise ConfigError(f"revision {revision} not found in the script directory")
        direction = "upgrade" if is_upgrade else "downgrade"

        def steps(heads: Any, ctx: MigrationContext) -> list[RevisionStep]:
            return [RevisionStep(self.script.revision_map, script, is_upgrade)]

        try:
            self._run(steps, revision)
        except ConfigError:
            raise
        except Exception as exc:
            self._recover()
            raise StepFailed(
                revision, direction, error_text(exc), _line_in(exc, script.path), error_code(exc)
            ) from exc
        if not self.shared_connection:
            applied = revision in self.heads() if is_upgrade else revision not in self.heads()
            if not applied:
                raise ConfigError(
                    f"env.py migrated a different database than {urls.mask(self.url)}",
                    hint="make env.py use config.attributes['connection'] or the configured "
                    "sqlalchemy.url, or set config_factory in [tool.migration-gate]",
                )

    def _run(self, fn: Callable[[Any, MigrationContext], Any], destination: str | None) -> None:
        outcome = _Outcome()

        def wrapped(heads: Any, ctx: MigrationContext) -> Any:
            outcome.used_our_connection = ctx.connection is self.conn
            return fn(heads, ctx)

        self._end_read()

        def command() -> None:
            with EnvironmentContext(
                self.config,
                self.script,
                fn=wrapped,
                as_sql=False,
                starting_rev=None,
                destination_rev=destination,
            ) as env:
                self.script.run_env()
                outcome.target_metadata = env.context_opts.get("target_metadata")

        self.invoke(command)
        self.shared_connection = outcome.used_our_connection
        if not self.shared_connection and self._snapshots is not None:
            self._snapshots.invalidate()  # another connection migrated: nothing was logged
        self.target_metadata = outcome.target_metadata
        if self.conn.in_transaction():
            self.conn.commit()

    def _recover(self) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        except DBAPIError:
            self._drop_snapshots(alive=False)
            self.conn.invalidate()
            self.conn = self.engine.connect()
            self.config.attributes["connection"] = self.conn

    def reconnect(self, url: str) -> None:
        """Point the runner at another database (e.g. a rebuilt one)."""
        self.close(restore=False)
        self.url = url
        self.engine = _engine(url)
        self.conn = self.engine.connect()
        self.config.set_main_option("sqlalchemy.url", self._ini_safe(url))
        self.config.attributes["connection"] = self.conn

    def close(self, *, restore: bool = True) -> None:
        try:
            self._drop_snapshots()
            if self.conn.in_transaction():
                self.conn.rollback()
            self.conn.close()
        finally:
            self.engine.dispose()
            if restore:
                self.config.attributes.pop("connection", None)
                if self._saved_url is not None:
                    self.config.set_main_option("sqlalchemy.url", self._ini_safe(self._saved_url))
