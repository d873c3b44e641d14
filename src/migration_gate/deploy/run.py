"""A deploy, start to end, and the drift check alone: the steps in order, each a module.

`run_deploy`: take the deploy lock (`lock`), read the database (`live`), pre-flight
(`preflight`: ledger against files, a database with tables and no revision, the schema
against the one expected at its revision: `expected`), then either show what would run
(`dryrun`) or back up (`backup`), apply each pending revision (`apply`) and post-check (the
database at head with the head's schema). `run_drift` is the pre-flight alone, without the
lock. Both return a `Report` whose `deploy` section says what happened; a failure of the
chain, the pre-flight or a revision is a finding (exit 1), a database that cannot be reached
an `InfrastructureError` (exit 3).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path

from migration_gate import __version__
from migration_gate.chain.runner import StepRunner
from migration_gate.deploy import backup as backups
from migration_gate.deploy.apply import DEPLOY_FAILED, Identity, Progress, Retry, apply_plan
from migration_gate.deploy.dryrun import dry_run
from migration_gate.deploy.hooks import Timeouts
from migration_gate.deploy.ledger import deployed_by
from migration_gate.deploy.live import LiveDatabase
from migration_gate.deploy.lock import DeployLock, LockNotAcquired, tagged
from migration_gate.deploy.plan import Plan, build_plan
from migration_gate.deploy.project import Project, Target, version_table
from migration_gate.deploy.runstate import RunState
from migration_gate.findings import Finding, Report

__all__ = ["run_deploy", "run_drift"]


def _chain_ok(run: RunState) -> bool:
    problems = [f for f in run.project.chain.problems if f.is_error]
    run.report.extend(problems)
    return not problems and not run.project.chain.blocked


def run_drift(project: Project, target: Target) -> Report:
    """The pre-flight alone: ledger against files, schema against the expected one."""
    run = RunState(project, target, "drift")
    try:
        if not _chain_ok(run):
            return run.finish()
        vt = version_table(project.source)
        with LiveDatabase(target.url, version_table=vt, environment=run.env) as live:
            state = live.read()
            plan = build_plan(project.chain, state.heads, run.files, root=project.root)
            run.start(state, plan)
            run.preflight(state, plan, allow_drift=False)
        return run.finish()
    finally:
        run.expected.close()


def _needs_backup(target: Target, plan: Plan, forced: bool) -> bool:
    policy = target.deploy.backup
    if forced or policy == "always":
        return True
    return policy == "destructive" and any(p.destructive for p in plan.pending)


def run_deploy(
    project: Project,
    target: Target,
    *,
    dry_run_only: bool = False,
    allow_drift: bool = False,
    backup: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Deploy the chain's pending revisions to `target` (see the module docstring)."""
    run = RunState(project, target, "deploy")
    run.section = replace(run.section, dry_run=dry_run_only, allow_drift=allow_drift)
    try:
        if not _chain_ok(run):
            return run.finish()
        vt = version_table(project.source)
        with LiveDatabase(target.url, version_table=vt, environment=run.env) as live:
            if dry_run_only:
                _dry_run(run, live, allow_drift=allow_drift)
                return run.finish()
            t = time.perf_counter()
            lock = DeployLock(
                target.url, name=vt, wait=target.deploy.lock_wait, environment=run.env
            )
            try:
                lock.acquire()
            except LockNotAcquired as exc:
                run.report.add(_failed(run, str(exc)))
                return run.finish()
            finally:
                run.timed("lock", t)
            try:
                _deploy(run, live, lock, allow_drift=allow_drift, backup=backup, progress=progress)
            finally:
                lock.release()
        return run.finish()
    finally:
        run.expected.close()


def _failed(run: RunState, message: str, revision: str | None = None) -> Finding:
    return Finding(
        check=DEPLOY_FAILED,
        severity="error",
        revision=revision,
        dialect=run.dialect,
        message=message,
        details={"environment": run.env},
    )


def _dry_run(run: RunState, live: LiveDatabase, *, allow_drift: bool) -> None:
    state = live.read()
    plan = build_plan(run.project.chain, state.heads, run.files, root=run.project.root)
    run.start(state, plan)
    t = time.perf_counter()
    dry = (
        dry_run(
            run.project.source,
            run.project.chain,
            plan,
            run.project.scratch(run.dialect),
            environment=run.env,
            root=run.project.root,
            setup=run.project.setup,
        )
        if plan.pending and not plan.unknown
        else None
    )
    run.timed("dry_run", t)
    built = dry.at_live if dry is not None else None
    run.preflight(state, plan, allow_drift=allow_drift, built=built)
    if dry is not None:
        run.report.sql.update(dry.sql)
        if dry.failure is not None:
            run.report.add(dry.failure)
    if not plan.pending and not plan.unknown:
        run.section = replace(run.section, notes=(*run.section.notes, _nothing(run, plan)))


def _nothing(run: RunState, plan: Plan) -> str:
    return f"nothing to do: {run.env} is at the head ({', '.join(plan.heads) or 'base'})"


def _deploy(
    run: RunState,
    live: LiveDatabase,
    lock: DeployLock,
    *,
    allow_drift: bool,
    backup: bool,
    progress: Progress | None,
) -> None:
    project, target = run.project, run.target
    deadline = time.monotonic() + target.deploy.timeout if target.deploy.timeout else None
    state = live.read()
    plan = build_plan(project.chain, state.heads, run.files, root=project.root)
    run.start(state, plan)
    if not run.preflight(state, plan, allow_drift=allow_drift):
        return
    if not plan.pending:
        run.section = replace(run.section, notes=(*run.section.notes, _nothing(run, plan)))
        return
    if _needs_backup(target, plan, backup):
        t = time.perf_counter()
        at = "-".join(state.heads) or "base"
        try:
            path = backups.backup(
                target.url,
                project.root / target.deploy.backup_dir,
                environment=run.env,
                at=at,
                pg_bin=project.pg_bin,
                server_major=_major(live.server_version),
                environ=project.environ,
                timeout=target.deploy.timeout or None,
            )
        except backups.BackupFailed as exc:
            run.report.add(_failed(run, f"{exc} (nothing was applied)"))
            return
        finally:
            run.timed("backup", t)
        shown = _shown(path, project.root)
        run.section = replace(run.section, backup=shown)
        run.report.written.append(shown)
    live.create_ledger()
    t = time.perf_counter()
    runner = StepRunner(project.source, tagged(target.url), script=project.chain.script)
    try:
        applied = apply_plan(
            runner,
            plan,
            dict(project.chain.infos),
            who=Identity(run.env, deployed_by(project.environ), __version__),
            timeouts=Timeouts(target.deploy.lock_timeout, target.deploy.statement_timeout),
            retry=Retry(target.deploy.lock_retries, target.deploy.retry_backoff),
            lock=lock,
            root=project.root,
            deadline=deadline,
            progress=progress,
        )
    finally:
        runner.close()
        run.timed("apply", t)
    run.report.extend(applied.notes)
    run.section = replace(run.section, applied=tuple(applied.steps), ledger=tuple(applied.rows))
    if applied.failure is not None:
        run.report.add(applied.failure)
    _postcheck(run, live, plan, allow_drift=allow_drift, failed=applied.failure is not None)


def _postcheck(
    run: RunState, live: LiveDatabase, plan: Plan, *, allow_drift: bool, failed: bool
) -> None:
    """The database at the head, with the head's schema; else deploy-failed."""
    t = time.perf_counter()
    state = live.read(with_ledger=False)
    run.section = replace(run.section, after=state.heads)
    if failed:
        run.timed("postcheck", t)
        return
    if set(state.heads) != set(plan.heads):
        run.report.add(
            _failed(
                run,
                f"deploy to {run.env}: after applying every pending revision the database is "
                f"at {', '.join(state.heads) or 'base'}, not at the head "
                f"{', '.join(plan.heads)} (did env.py migrate another database?)",
            )
        )
    else:
        found = run.drift(state.heads, state.schema, allow=allow_drift, when="after")
        if found is not None:
            run.report.add(found)
    run.timed("postcheck", t)


def _major(version: str | None) -> int | None:
    with contextlib.suppress(ValueError, AttributeError, IndexError):
        return int(str(version).split(".")[0])
    return None


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
