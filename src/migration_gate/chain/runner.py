"""The step runner: one Alembic revision at a time, in-process, through the user's env.py.

A `StepRunner` holds one connection to one database and hands it to env.py through
``config.attributes["connection"]`` (Alembic's documented sharing pattern). Each call runs
exactly one revision step as its own Alembic command and commits it, as an incremental
deploy would; `upgrade_together` runs several in one command, and `upgrade_each` runs
several in one command each in a transaction of its own (when env.py declares
``transaction_per_migration``, which the runner learns from each command:
`per_migration_transactions`). The script directory is read once. When env.py ignores the
shared connection and opens its own from the URL, the runner notices and still works (more
slowly); when it migrates some other database entirely, that is a configuration error.
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from migration_gate.chain.connect import async_env, env_url, runner_engine
from migration_gate.chain.script import Invoke, load_script
from migration_gate.chain.steps import Outcome, Step, TransactionsShared
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import urls
from migration_gate.db.failure import error_code, error_text
from migration_gate.errors import ConfigError, InfrastructureError, MigrationError
from migration_gate.snapshot import SchemaSnapshot
from migration_gate.snapshot.incremental import IncrementalCapture

__all__ = ["EnvFailed", "StepFailed", "StepRunner", "TransactionsShared", "derived_config"]

T = TypeVar("T")


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


class EnvFailed(StepFailed):
    """env.py raised before Alembic ran any revision: no revision is to blame. `line` is
    env.py's line (`path` its file)."""

    def __init__(self, revision: str, direction: str, cause: str, line: int | None, path: Path):
        super().__init__(revision, direction, cause, line)
        self.path = path


def derived_config(config: Config) -> Config:
    """A copy of `config` whose ini values and attributes are its own: the runner points it at
    its database without touching the caller's Config."""
    new = copy.copy(config)
    new.__dict__["attributes"] = dict(config.attributes)
    new.__dict__["file_config"] = copy.deepcopy(config.file_config)
    return new


def _line_in(exc: BaseException, path: str | None) -> int | None:
    if not path:
        return None
    target = str(Path(path).resolve())
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if str(Path(frame.filename).resolve()) == target:
            line = frame.lineno
    return line


class StepRunner:
    """Runs single revision steps of one chain on one database.

    It works on its own copy of the Config (`derived_config`): the caller's is never changed.
    The copy's ``sqlalchemy.url`` names the runner's database (with an async driver when
    env.py is async), unless the Config comes from a factory of the URL (`ConfigSource`)."""

    def __init__(
        self,
        source: Config | ConfigSource,
        url: str,
        *,
        script: ScriptDirectory | None = None,
        invoke: Invoke | None = None,
        setup: Setup | None = None,
    ) -> None:
        self.source = source if isinstance(source, ConfigSource) else ConfigSource(source)
        self.setup = setup
        self.script = script or load_script(self.source.base())
        self.invoke: Invoke = invoke or (lambda fn: fn())
        self.async_env = async_env(self.script)
        self.shared_connection = True
        self.target_metadata: Any = None
        #: env.py's transaction_per_migration, as its last command configured it (None:
        #: not known yet); False for good once env.py ran two revisions in one transaction
        self.per_migration_transactions: bool | None = None
        self._shared_seen = False
        self._snapshots: IncrementalCapture | None = None
        self._outcome = Outcome()
        self._connect(url)

    def _connect(self, url: str) -> None:
        self.url = url
        config, url_in_config = self.source.for_url(url)
        self.config = derived_config(config)
        self.engine: Engine = runner_engine(url)
        try:
            self.conn: Connection = self.engine.connect()
        except DBAPIError as exc:
            self.engine.dispose()
            raise InfrastructureError(
                f"cannot connect to {urls.mask(url)}: {error_text(exc)}",
                hint="check the database URL and that the server is running",
            ) from None
        if not url_in_config:
            for_env = env_url(url, self.async_env)
            self.config.set_main_option("sqlalchemy.url", for_env.replace("%", "%%"))
        self.config.attributes["connection"] = self.conn
        if self.setup is not None:
            self._run_setup(self.setup)

    def _run_setup(self, setup: Setup) -> None:
        """The application's own start on a fresh database (tables it makes itself)."""
        name = getattr(setup, "__qualname__", repr(setup))
        try:
            self.invoke(lambda: setup(self.conn))
            if self.conn.in_transaction():
                self.conn.commit()
        except Exception as exc:
            self._recover()
            raise ConfigError(
                f"the setup hook {name} raised on a fresh database: {error_text(exc)}",
                hint="fix the function named by setup in [tool.migration-gate] (it is called "
                "with a connection to an empty database, before the first revision)",
            ) from exc

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

    def upgrade_together(self, revisions: Sequence[str]) -> None:
        """Apply `revisions` in ONE Alembic command, as `alembic upgrade <last>` from the
        database's revision would (one transaction unless env.py asks for one per revision).
        A failure names the revision whose code raised."""
        if revisions:
            self._step(revisions[-1], is_upgrade=True, together=tuple(revisions))

    def upgrade_each(
        self, revisions: Sequence[str], before_each: Callable[[str], None] | None = None
    ) -> tuple[str, ...]:
        """Apply `revisions` in ONE Alembic command, each in its own transaction, as far as
        env.py allows: all of them when env.py, as it configures Alembic for this command,
        declares ``transaction_per_migration`` and migrates on the runner's connection; else
        only the first (one step, as `upgrade` would). Returns the revisions applied.

        `before_each(revision)` is called inside each revision's transaction, just before its
        code; what it raises stops the command and is re-raised as is. A revision that fails
        is a `StepFailed` naming it (the revisions before it are committed, each in its
        transaction). Should env.py run two revisions in one transaction after all (it began
        the transaction itself), `TransactionsShared` is raised before the second one runs
        anything, and `per_migration_transactions` is False from then on; when that is False,
        this is a ValueError."""
        if self.per_migration_transactions is False:
            raise ValueError("upgrade_each needs env.py's transaction_per_migration=True")
        if not revisions:
            return ()
        self._step(
            revisions[-1],
            is_upgrade=True,
            together=tuple(revisions),
            before_each=before_each,
            separate=True,
        )
        return self._outcome.given

    def run_env_only(self) -> Any:
        """Run env.py once without migrating, to learn its target_metadata."""
        self._run(lambda heads, ctx: [], None)
        return self.target_metadata

    def _script(self, revision: str) -> Script:
        script = self.script.get_revision(revision)
        if script is None:
            raise ConfigError(f"revision {revision} not found in the script directory")
        return script

    def _step(
        self,
        revision: str,
        *,
        is_upgrade: bool,
        together: tuple[str, ...] = (),
        before_each: Callable[[str], None] | None = None,
        separate: bool = False,
    ) -> None:
        scripts = [self._script(r) for r in (together or (revision,))]
        script = scripts[-1]
        direction = "upgrade" if is_upgrade else "downgrade"

        def steps(heads: Any, ctx: MigrationContext) -> list[RevisionStep]:
            seen: list[Any] | None = [] if separate else None
            given = scripts
            # env.py has configured Alembic by now: one revision per transaction, on our
            # connection (so our hooks see each commit)? Else the first revision alone.
            if separate and not (
                ctx.opts.get("transaction_per_migration") and ctx.connection is self.conn
            ):
                given = scripts[:1]
            self._outcome.given = tuple(s.revision for s in given)
            return [
                Step(
                    self.script.revision_map,
                    s,
                    is_upgrade,
                    outcome=self._outcome,
                    ctx=ctx,
                    before_each=before_each,
                    separate=seen,
                )
                for s in given
            ]

        try:
            self._run(steps, revision)
        except ConfigError:
            raise
        except Exception as exc:
            self._recover()
            outcome = self._outcome
            if outcome.stopped is not None:
                if isinstance(outcome.stopped, TransactionsShared):
                    self._shared_seen = True
                    self.per_migration_transactions = False
                raise outcome.stopped from None
            if not outcome.reached:  # env.py itself raised, before any revision ran
                env = Path(self.script.dir, "env.py")
                raise EnvFailed(
                    revision, direction, error_text(exc), _line_in(exc, str(env)), env
                ) from exc
            by_rev = {s.revision: s for s in scripts}
            if separate and outcome.current in by_rev:  # the revision that was running
                script, revision = by_rev[outcome.current], str(outcome.current)
            else:
                for candidate in reversed(scripts):  # the revision whose code raised
                    line = _line_in(exc, candidate.path)
                    if line is not None:
                        script, revision = candidate, candidate.revision
                        break
            raise StepFailed(
                revision, direction, error_text(exc), _line_in(exc, script.path), error_code(exc)
            ) from exc
        if not self.shared_connection:
            revision = self._outcome.given[-1] if self._outcome.given else revision
            applied = revision in self.heads() if is_upgrade else revision not in self.heads()
            if not applied:
                raise ConfigError(
                    f"env.py migrated a different database than {urls.mask(self.url)}",
                    hint="make env.py use config.attributes['connection'] or the configured "
                    "sqlalchemy.url, or set config_factory in [tool.migration-gate]",
                )

    def _run(self, fn: Callable[[Any, MigrationContext], Any], destination: str | None) -> None:
        outcome = self._outcome = Outcome()

        def wrapped(heads: Any, ctx: MigrationContext) -> Any:
            outcome.reached = True
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
                try:
                    self.script.run_env()
                finally:  # env.py configured its context once it ran a migration function
                    if outcome.reached:
                        opts = env.context_opts
                        outcome.per_migration = bool(opts.get("transaction_per_migration"))
                outcome.target_metadata = env.context_opts.get("target_metadata")

        try:
            self.invoke(command)
        finally:
            if outcome.per_migration is not None and not self._shared_seen:
                self.per_migration_transactions = outcome.per_migration
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
        self.close()
        self._connect(url)

    def close(self) -> None:
        try:
            self._drop_snapshots()
            if self.conn.in_transaction():
                self.conn.rollback()
            self.conn.close()
        finally:
            self.engine.dispose()
            self.config.attributes.pop("connection", None)
