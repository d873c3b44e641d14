"""Apply the pending revisions, each in its own transaction, with retries and a ledger row.

Each revision is one step of the step runner (through the user's env.py, committed), inside
`TransactionHooks.step`, which sets the deploy's timeouts in the revision's transaction and
writes its ledger row in it. A revision that fails on a lock (``lock_timeout``, SQLSTATE
55P03, or a deadlock, 40P01) has been rolled back entirely, so it is tried again after a
backoff (`Retry`), up to `lock_retries` times, unless part of it had already run outside its
transaction (``autocommit_block``). Any other failure stops the deploy there: the database
stays at the last revision that completed, and a ``failed`` row goes to the ledger.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from migration_gate.chain.failures import step_finding
from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import StepFailed, StepRunner
from migration_gate.deploy import ledger
from migration_gate.deploy.hooks import StepState, Timeouts, TransactionHooks
from migration_gate.deploy.lock import DeployLock
from migration_gate.deploy.plan import Plan
from migration_gate.deploy.section import AppliedRevision, LedgerRow, PlannedRevision
from migration_gate.findings import Finding

__all__ = ["DEPLOY_FAILED", "RETRYABLE", "Applied", "Identity", "Retry", "apply_plan"]

DEPLOY_FAILED = "deploy-failed"
#: lock_not_available (lock_timeout), deadlock_detected
RETRYABLE = frozenset({"55P03", "40P01"})
_MAX_BACKOFF = 30.0

#: (environment, i, n, revision)
Progress = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class Retry:
    """How often and how patiently a revision that hit a lock is tried again."""

    retries: int = 3
    #: the first wait, doubled for each further retry (at most 30 s), ±20 %
    backoff: float = 1.0

    def delay(self, attempt: int) -> float:
        base = min(self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF)
        return float(base * random.uniform(0.8, 1.2))


@dataclass
class Identity:
    """What every ledger row of this run says about who and where."""

    environment: str
    deployed_by: str
    tool_version: str


@dataclass
class Applied:
    """What `apply_plan` did."""

    steps: list[AppliedRevision] = field(default_factory=list)
    rows: list[LedgerRow] = field(default_factory=list)
    #: the revisions that completed, in order
    done: list[str] = field(default_factory=list)
    failure: Finding | None = None
    #: warnings (a timeout changed inside a revision, a ledger row written late)
    notes: list[Finding] = field(default_factory=list)


def _hint(code: str | None, timeouts: Timeouts, outside: bool) -> str:
    if outside:
        return (
            "part of this revision ran outside its transaction (autocommit_block) and was not "
            "rolled back: check what it left (e.g. an INVALID index) before deploying again"
        )
    if code in RETRYABLE:
        return (
            "another session holds a lock on a table this revision changes (see pg_locks and "
            "pg_stat_activity): deploy when it is done, or raise deploy.lock_timeout "
            f"({timeouts.lock_timeout:g}s) or deploy.lock_retries"
        )
    if code == "57014":
        return (
            f"a statement ran longer than deploy.statement_timeout "
            f"({timeouts.statement_timeout:g}s): make the migration cheaper (batches, "
            "CONCURRENTLY) or raise the timeout"
        )
    return "fix the migration (it failed on this environment's database) and deploy again"


def _changed(
    state: StepState, timeouts: Timeouts, env: str, rev: PlannedRevision
) -> Finding | None:
    wanted = timeouts.settings()
    changed = {k: v for k, v in state.in_force.items() if _normal(v) != _normal(wanted.get(k, v))}
    if not changed:
        return None
    said = ", ".join(f"{k} = {v} (the environment says {wanted[k]})" for k, v in changed.items())
    return Finding(
        check=DEPLOY_FAILED,
        severity="warning",
        revision=rev.revision,
        file=rev.file,
        message=f"{env}: {rev.revision} ran with {said}: env.py or the migration set it "
        "inside the revision's transaction",
        details={
            "in_force": dict(changed),
            "hint": "remove that SET from env.py or the "
            "migration, or set the value in envs/<name>.yaml",
        },
    )


def _normal(value: str) -> str:
    """PostgreSQL shows 5000ms as 5s: compare in milliseconds."""
    units = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000}
    text = value.strip()
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].strip().isdigit():
            return str(int(text[: -len(unit)]) * units[unit])
    return text


def apply_plan(
    runner: StepRunner,
    plan: Plan,
    infos: dict[str, RevisionInfo],
    *,
    who: Identity,
    timeouts: Timeouts,
    retry: Retry,
    lock: DeployLock,
    root: Path | None = None,
    deadline: float | None = None,
    progress: Progress | None = None,
) -> Applied:
    """Apply `plan.pending` in order on the runner's database."""
    out = Applied()
    by_rev = {p.revision: p for p in plan.pending}

    def row(state: StepState, status: str = "applied", error: str | None = None) -> LedgerRow:
        return LedgerRow(
            revision=state.revision,
            checksum=by_rev[state.revision].checksum or None,
            direction="upgrade",
            status=status,
            started_at=state.started_at,
            duration=time.perf_counter() - state.started,
            deployed_by=who.deployed_by,
            tool_version=who.tool_version,
            environment=who.environment,
            error=error,
        )

    hooks = TransactionHooks(
        runner.url,
        timeouts=timeouts,
        version_table=runner.version_table,
        row=row,
        lock=(lock.key, lock.pid) if lock.pid is not None else None,
    )
    n = len(plan.pending)
    for i, planned in enumerate(plan.pending, 1):
        rev = planned.revision
        at = out.done[-1] if out.done else ", ".join(plan.live) or "base"
        if deadline is not None and time.monotonic() > deadline:
            out.failure = Finding(
                check=DEPLOY_FAILED,
                severity="error",
                revision=rev,
                message=f"deploy to {who.environment} ran out of time (deploy.timeout) before "
                f"{rev}; the database stays at {at}",
                details={"hint": "deploy again to apply the rest, or raise deploy.timeout"},
            )
            break
        if progress is not None:
            progress(who.environment, i, n, rev)
        attempt = 0
        while True:
            attempt += 1
            failure: StepFailed | None = None
            with hooks.step(rev) as state:
                try:
                    runner.upgrade(rev)
                except StepFailed as exc:
                    failure = exc
            seconds = time.perf_counter() - state.started
            if failure is None:
                break
            if failure.code in RETRYABLE and attempt <= retry.retries and not state.outside:
                time.sleep(retry.delay(attempt))
                continue
            break
        if failure is None:
            out.done.append(rev)
            out.steps.append(AppliedRevision(rev, "applied", seconds, attempt))
            if state.ledger_written:
                out.rows.append(row(state))
            else:
                out.notes.append(_late_row(runner, row(state), who.environment))
                out.rows.append(row(state))
            changed = _changed(state, timeouts, who.environment, planned)
            if changed is not None:
                out.notes.append(changed)
            continue
        if state.lost_lock:
            out.failure = Finding(
                check=DEPLOY_FAILED,
                severity="error",
                revision=rev,
                message=f"deploy to {who.environment} stopped before {rev}: the deploy lock "
                f"was lost (its session ended); the database stays at {at}, nothing of {rev} "
                "applied",
                details={"hint": "deploy again: the next deploy takes the lock and goes on"},
            )
            out.steps.append(AppliedRevision(rev, "not-run"))
            break
        tries = f", {attempt} attempts" if attempt > 1 else ""
        applied_part = (
            f"the statements {rev} ran outside its transaction were not rolled back"
            if state.outside
            else f"nothing of {rev} applied"
        )
        out.failure = step_finding(
            failure,
            infos[rev],
            check=DEPLOY_FAILED,
            dialect=runner.conn.dialect.name,
            root=root,
            what=f"deploy to {who.environment} stopped: {infos[rev].label()} failed (the "
            f"database stays at {at}, {applied_part}{tries})",
            hint=_hint(failure.code, timeouts, state.outside),
            environment=who.environment,
            attempts=attempt,
        )
        out.steps.append(AppliedRevision(rev, "failed", seconds, attempt, failure.cause))
        failed = row(state, "failed", failure.cause)
        with contextlib.suppress(SQLAlchemyError):
            ledger.insert(runner.conn, failed)
            runner.conn.commit()
            out.rows.append(failed)
        break
    done = {a.revision for a in out.steps}
    out.steps += [
        AppliedRevision(p.revision, "not-run") for p in plan.pending if p.revision not in done
    ]
    return out


def _late_row(runner: StepRunner, row: LedgerRow, env: str) -> Finding:
    """env.py migrated on a connection the hooks did not see: write the row just after."""
    ledger.insert(runner.conn, row)
    runner.conn.commit()
    return Finding(
        check=DEPLOY_FAILED,
        severity="warning",
        revision=row.revision,
        message=f"{env}: the ledger row of {row.revision} was written just after its "
        "transaction, not in it (env.py migrated on a connection migration-gate could not "
        "see), and the deploy's timeouts were not set in it",
        details={
            "hint": "let env.py use config.attributes['connection'] (Alembic's "
            "connection-sharing pattern)"
        },
    )
