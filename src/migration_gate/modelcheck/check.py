"""check-models: the schema the chain produces at head vs the schema the models describe.

On one database: upgrade through every revision, snapshot; empty it, `create_all` the
models' MetaData, snapshot; every difference is `model-drift`. Both sides are real schemas
captured the same way, so what is compared is meaning, not rendering.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config

from migration_gate.chain.failures import step_finding
from migration_gate.chain.graph import heads
from migration_gate.chain.runner import StepFailed, StepRunner
from migration_gate.chain.script import Chain, Invoke, load_chain
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import engines, urls
from migration_gate.db.workspace import Workspace, workspace_for_url
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report
from migration_gate.snapshot import capture, diff

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
            metadata.create_all(conn)
            conn.commit()
            models = capture(conn)
    finally:
        engine.dispose()
    head_ids = heads(revs)
    head = next((r for r in revs if head_ids and r.revision == head_ids[-1]), None)
    for change in diff(chain_schema, models):
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
