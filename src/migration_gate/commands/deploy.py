"""deploy: the locked, pre-flighted, timed and ledgered upgrade of an environment."""

from __future__ import annotations

from migration_gate.config.settings import Settings
from migration_gate.deploy.apply import Progress
from migration_gate.findings import Report

__all__ = ["deploy"]


def deploy(
    settings: Settings,
    *,
    env: str,
    dry_run: bool = False,
    allow_drift: bool = False,
    backup: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Deploy the pending migrations to an environment: locked, checked for drift, ledgered.

    Reads envs/ENV.yaml and the database URL from the variable it names; waits for any other
    deploy of that database; refuses a database whose schema or ledger is not what the
    files say; applies each pending revision in its own transaction (a row in
    migration_gate_ledger with it); checks the database is at the head with the head's
    schema. `dry_run` shows the plan and each revision's SQL and changes nothing."""
    from migration_gate.deploy.project import Target, project_for, target_url
    from migration_gate.deploy.run import run_deploy

    environment = settings.environment(env)
    url = target_url(environment.database_url(settings.environ), env, environment.database.url_env)
    with project_for(settings) as project:
        return run_deploy(
            project,
            Target(env, url, environment.deploy),
            dry_run_only=dry_run,
            allow_drift=allow_drift,
            backup=backup,
            progress=progress,
        )
