"""drift: an environment's database against the schema its revision should have, and its
ledger against the migration files."""

from __future__ import annotations

from migration_gate.config.settings import Settings
from migration_gate.findings import Report

__all__ = ["drift"]


def drift(settings: Settings, *, env: str) -> Report:
    """Compare an environment's database with the schema the chain produces at its revision.

    Also checks its ledger against the files (an edited migration that already ran there)
    and that its revision is one the chain knows. Reads only; takes no lock."""
    from migration_gate.deploy.project import Target, project_for, target_url
    from migration_gate.deploy.run import run_drift

    environment = settings.environment(env)
    url = target_url(
        environment.database_url(settings.environ),
        env,
        environment.database.url_env,
        must_exist=True,
    )
    with project_for(settings) as project:
        return run_drift(project, Target(env, url, environment.deploy))
