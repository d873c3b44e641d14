"""check-models: the schema the chain produces at head vs the schema the models describe.

On one database: upgrade through every revision, snapshot; empty it, `create_all` the
models' MetaData, snapshot. Both sides are real schemas captured the same way, so what is
compared is meaning, not rendering. `compare` decides what counts (what the models declare,
as Alembic's autogenerate does: an object only the chain has, of a kind models cannot
declare, is `info`; every other difference is a `model-drift` error), and `locate` points
each finding at the model's line or at the migration line that created the object.

Models the database refuses to create (an index declared twice, a type the dialect lacks)
are the user's to fix: a `ConfigError` naming the table, the object and the database's
message, not an internal error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection

from migration_gate.chain.failures import step_finding
from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import StepFailed, StepRunner
from migration_gate.chain.script import Chain, Invoke, load_chain
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import engines, urls
from migration_gate.db.workspace import Workspace, workspace_for_url
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report
from migration_gate.modelcheck.compare import Drift, compare
from migration_gate.modelcheck.locate import Location, MigrationLines, ModelLines, subject
from migration_gate.snapshot import SchemaSnapshot, capture

__all__ = ["check_models", "check_models_in"]


def check_models_in(
    source: ConfigSource | Config,
    workspace: Workspace,
    chain: Chain,
    *,
    metadata: Any = None,
    invoke: Invoke | None = None,
    root: Path | None = None,
    setup: Setup | None = None,
) -> Report:
    """The head schema of `chain` against the models, on the workspace's database. The
    chain's own problems are the caller's to report; a blocked chain is not walked."""
    report = Report("check-models")
    dialect = urls.dialect_of(workspace.url)
    if chain.blocked:
        return report
    revs = list(chain.revisions)
    order = list(chain.order)
    t0 = time.perf_counter()
    runner = StepRunner(source, workspace.url, script=chain.script, invoke=invoke, setup=setup)
    try:
        if order:
            runner.upgrade_many(order)
        else:
            runner.run_env_only()
        chain_schema = runner.snapshot()
        metadata = metadata if metadata is not None else runner.target_metadata
    except StepFailed as exc:
        info = chain.infos.get(exc.revision or "")
        if info is None:
            raise
        report.add(
            step_finding(
                exc,
                info,
                check="upgrade-failed",
                dialect=dialect,
                root=root,
                what=f"upgrade of {info.label()} failed",
                hint="fix the migration; check-models needs the whole chain to run",
            )
        )
        return report
    finally:
        runner.close()
    if metadata is None:
        raise ConfigError(
            "env.py sets no target_metadata, so there are no models to compare",
            hint="pass --models module:attribute or set models in [tool.migration-gate]",
        )
    if not isinstance(metadata, sa.MetaData):
        what = (
            f"the class {metadata.__name__}"
            if isinstance(metadata, type)
            else (f"a {type(metadata).__name__}")
        )
        raise ConfigError(
            f"the models name {what}, not a SQLAlchemy MetaData",
            hint="name the MetaData, e.g. --models app.models:Base.metadata",
        )
    url = workspace.fresh()
    engine = engines.engine(url)
    try:
        with engine.connect() as conn:
            with _models_fault(conn, dialect):
                metadata.create_all(conn)
            conn.commit()
            models = capture(conn)
    finally:
        engine.dispose()
    report.extend(drift_findings(chain_schema, models, dialect, metadata, revs, order, root))
    report.timings[f"{dialect}.total"] = time.perf_counter() - t0
    return report


#: SQLSTATE classes of a server or connection in trouble, not of a refused definition
_SERVER_TROUBLE = ("08", "53", "57", "58", "XX")


def _refused(exc: sa.exc.SQLAlchemyError) -> bool:
    """Whether the database refused a definition (rather than failed as a server)."""
    if isinstance(exc, sa.exc.CompileError):
        return True  # the dialect cannot render it
    if not isinstance(exc, sa.exc.DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str) and sqlstate:
        return not sqlstate.startswith(_SERVER_TROUBLE)
    code = getattr(orig, "sqlite_errorcode", None)  # sqlite3: SQLITE_ERROR is a SQL error
    if isinstance(code, int):
        return code & 0xFF == 1
    return isinstance(
        exc, (sa.exc.ProgrammingError, sa.exc.IntegrityError, sa.exc.NotSupportedError)
    )


def _what(element: Any) -> tuple[str | None, str]:
    """(table, "index ix_t_name") of the DDL statement `element` (CreateIndex, ...)."""
    target = getattr(element, "element", None)
    kind = type(element).__name__.removeprefix("Create").removeprefix("Add")
    kind = "".join(f" {c.lower()}" if c.isupper() else c for c in kind).strip() or "object"
    if isinstance(target, sa.Table):
        return target.name, f"table {target.name}"
    table = getattr(target, "table", None)
    name = getattr(target, "name", None)
    return (
        table.name if isinstance(table, sa.Table) else None,
        f"{kind} {name}" if name else kind,
    )


@contextmanager
def _models_fault(conn: Connection, dialect: str) -> Iterator[None]:
    """Turn the database refusing to create the models into a ConfigError naming them."""
    last: list[Any] = [None]

    def seen(c: Connection, element: Any, *rest: Any) -> None:
        last[0] = element

    event.listen(conn, "before_execute", seen)
    try:
        yield
    except (sa.exc.DBAPIError, sa.exc.CompileError) as exc:
        if not _refused(exc):
            raise
        table, what = _what(last[0])
        orig = getattr(exc, "orig", None) or exc
        message = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        where = f"model {table}: {what}" if table else what
        raise ConfigError(
            f"the models cannot be created on {dialect}: {where}: {message}",
            hint="fix the models so that MetaData.create_all() can create them (a common "
            "cause: an index declared twice, by index=True and by an Index of the same name)",
        ) from None
    finally:
        event.remove(conn, "before_execute", seen)


def check_models(
    config: Config,
    url: str,
    invoke: Invoke | None = None,
    *,
    metadata: Any = None,
    root: Path | None = None,
    setup: Setup | None = None,
) -> Report:
    """Head schema of the chain vs the models' MetaData on the (empty) database at `url`."""
    chain = load_chain(config, invoke=invoke, root=root)
    report = Report("check-models")
    report.extend(chain.problems)
    with workspace_for_url(url) as ws:
        report.merge(
            check_models_in(
                config, ws, chain, metadata=metadata, invoke=invoke, root=root, setup=setup
            )
        )
    return report


_HINT_ERROR = "generate a migration (alembic revision --autogenerate), review it, or fix the models"
_HINT_INFO = (
    "models cannot declare it, so it is not compared; to compare it, create it in the models "
    'too (sa.event.listen(metadata, "after_create", DDL(...)))'
)


def drift_findings(
    chain: SchemaSnapshot,
    models: SchemaSnapshot,
    dialect: str,
    metadata: Any,
    revs: Sequence[RevisionInfo],
    order: Sequence[str],
    root: Path | None,
) -> list[Finding]:
    """The findings of `compare`, each pointing at the model's line or at the migration
    line that created the object (or at no line, when neither can be found)."""
    model_lines = ModelLines(metadata)
    migration_lines = MigrationLines(revs, order)
    out = []
    for drift in compare(chain, models):
        change = drift.change
        location = _locate(drift, model_lines, migration_lines)
        if drift.severity == "info":
            message = (
                f"{change.sentence(removed='is created by the migrations')} on {dialect}; "
                "the models do not declare it"
            )
            hint = _HINT_INFO
        else:
            sentence = change.sentence(
                added="is in the models but no migration creates it",
                removed="is created by the migrations but not in the models",
            )
            message = f"models and migrations disagree on {dialect}: {sentence}"
            hint = _HINT_ERROR
        out.append(
            Finding(
                check="model-drift",
                severity=drift.severity,
                dialect=dialect,
                revision=location.revision if location else None,
                file=_relative(location.path, root) if location else None,
                line=location.line if location else None,
                message=message,
                details={"change": change.to_dict(), "hint": hint},
            )
        )
    return out


def _locate(drift: Drift, models: ModelLines, migrations: MigrationLines) -> Location | None:
    kind, table, name = subject(drift.change.path)
    value = drift.change.after if drift.side == "models" else drift.change.before
    owner = value.get("owned_by") if kind == "sequences" and isinstance(value, dict) else None
    if owner:  # a serial's sequence: where its column is
        kind, (table, _, name) = "column", owner.rpartition(".")
    in_models: Location | None = None
    if kind == "column" and table and name:
        in_models = models.column(table, name)
    elif table:
        in_models = models.table(table)
    if kind == "column" and table and name:
        in_chain = migrations.find(name, within=table) or migrations.find(table)
    else:
        in_chain = migrations.find(name or table or "") if (name or table) else None
    if drift.side == "chain":
        return in_chain
    return in_models or in_chain


def _relative(path: Path, root: Path | None) -> str:
    base = (root or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()
