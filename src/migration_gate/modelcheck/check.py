"""check-models: the schema the chain produces at head vs the schema the models describe.

On one database: upgrade through every revision, snapshot; empty it, `create_all` the
models' MetaData, snapshot; every difference is `model-drift`. Both sides are real schemas
captured the same way, so what is compared is meaning, not rendering.

Models the database refuses to create (an index declared twice, a type the dialect lacks)
are the user's to fix: a `ConfigError` naming the table, the object and the database's
message, not an internal error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from migration_gate.chain.graph import heads, walk_order
from migration_gate.chain.revisions import load_chain
from migration_gate.chain.runner import Invoke, StepRunner, load_script
from migration_gate.db import urls
from migration_gate.db.workspace import Workspace, workspace_for_url
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report
from migration_gate.snapshot import capture, diff

__all__ = ["check_models", "check_models_in"]


def check_models_in(
    config: Config,
    workspace: Workspace,
    *,
    metadata: Any = None,
    invoke: Invoke | None = None,
    root: Path | None = None,
) -> Report:
    report = Report("check-models")
    dialect = urls.dialect_of(workspace.url)
    script = load_script(config)
    revs = load_chain(script)
    order = walk_order(revs)
    t0 = time.perf_counter()
    runner = StepRunner(config, workspace.url, script=script, invoke=invoke)
    try:
        if order:
            runner.upgrade_many(order)
        else:
            runner.run_env_only()
        chain = runner.snapshot()
        metadata = metadata if metadata is not None else runner.target_metadata
    finally:
        runner.close()
    if metadata is None:
        raise ConfigError(
            "env.py sets no target_metadata, so there are no models to compare",
            hint="pass --models module:attribute or set models in [tool.migration-gate]",
        )
    url = workspace.fresh()
    engine = sa.create_engine(urls.sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            with _models_fault(conn, dialect):
                metadata.create_all(conn)
            conn.commit()
            models = capture(conn)
    finally:
        engine.dispose()
    head_ids = heads(revs)
    head = next((r for r in revs if head_ids and r.revision == head_ids[-1]), None)
    for change in diff(chain, models):
        sentence = change.sentence(
            added="is in the models but no migration creates it",
            removed="is created by the migrations but not in the models",
        )
        report.add(
            Finding(
                check="model-drift",
                severity="error",
                dialect=dialect,
                revision=head.revision if head else None,
                file=head.rel_path(root) if head else None,
                line=1,
                message=f"models and migrations disagree on {dialect}: {sentence}",
                details={
                    "change": change.to_dict(),
                    "hint": "generate a migration (alembic revision --autogenerate), review it, "
                    "or fix the models",
                },
            )
        )
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
) -> Report:
    """Head schema of the chain vs the models' MetaData on the (empty) database at `url`."""
    with workspace_for_url(url) as ws:
        return check_models_in(config, ws, metadata=metadata, invoke=invoke, root=root)
