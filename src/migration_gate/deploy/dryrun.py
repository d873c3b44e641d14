"""`deploy --dry-run`: the SQL each pending revision will send, captured for real.

Not Alembic's offline mode (which renders what a migration would send and breaks on
migrations that read the database): a scratch database is walked to the live revision, then
through each pending revision with `chain.upwalk.walk_up(capture_sql=True)`, and every
statement the revision really sent is kept (`chain.sql_capture`). The environment's
database is only read. The same walk gives the schema expected at the live revision (the
schema before the first pending revision), which the drift check then need not build again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from migration_gate.chain.expected import path_to
from migration_gate.chain.failures import step_finding
from migration_gate.chain.script import Chain
from migration_gate.chain.sql_capture import rendered_script
from migration_gate.chain.upwalk import walk_up
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db.provision import Provider
from migration_gate.deploy.apply import DEPLOY_FAILED
from migration_gate.deploy.plan import Plan
from migration_gate.findings import Finding
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["DryRun", "dry_run"]


@dataclass
class DryRun:
    """revision -> its SQL, the schema at the live revision, and a failure, if one."""

    sql: dict[str, str] = field(default_factory=dict)
    at_live: SchemaSnapshot | None = None
    failure: Finding | None = None


def dry_run(
    source: ConfigSource,
    chain: Chain,
    plan: Plan,
    provider: Provider,
    *,
    environment: str,
    root: Path | None = None,
    setup: Setup | None = None,
) -> DryRun:
    """Capture the SQL of `plan.pending` on a scratch database of `provider`."""
    out = DryRun()
    pending = plan.revisions()
    if not pending:
        return out
    url = provider.scratch("deploy_dry_run")
    try:
        walked = walk_up(
            source,
            url,
            path_to(chain, plan.heads),
            chain.infos,
            observe=pending,
            capture_sql=True,
            script=chain.script,
            setup=setup,
        )
    finally:
        provider.drop(url)
    for rev in pending:
        step = walked.steps.get(rev)
        if step is not None:
            out.sql[rev] = rendered_script(step.statements)[0]
    first = walked.steps.get(pending[0])
    out.at_live = first.before if first is not None else None
    exc = walked.failure
    info = chain.infos.get(exc.revision or "") if exc is not None else None
    if exc is not None and info is not None:
        at = ", ".join(plan.live) or "base"
        out.failure = step_finding(
            exc,
            info,
            check=DEPLOY_FAILED,
            dialect=walked.dialect,
            root=root,
            what=f"dry run of {environment}: {info.label()} fails on a scratch database "
            f"brought to {at}",
            hint="fix the migration before deploying: it would fail the same way on the "
            "environment's database",
            environment=environment,
        )
    return out
