"""Apply the pending revisions, each in its own transaction, with retries and a ledger row.

The revisions go to the step runner (through the user's env.py) in one Alembic command
(`batch`): all of them when env.py runs each migration in its own transaction
(``transaction_per_migration=True``) on the runner's connection, else the first, and then one
command per revision (`TransactionHooks.step`). Either way each revision has its own
transaction, in which the hooks keep the deploy's timeouts in force and write its ledger row.
A revision that fails on a lock (``lock_timeout``, SQLSTATE 55P03, or a deadlock, 40P01) has
been rolled back entirely, so it is tried again, alone, after a backoff (`Retry`), up to
`lock_retries` times, unless part of it had already run outside its transaction
(``autocommit_block``). Any other failure stops the deploy there: the database stays at the
last revision that completed, and a ``failed`` row goes to the ledger.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from migration_gate.chain.failures import step_finding
from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import StepFailed, StepRunner
from migration_gate.deploy import ledger
from migration_gate.deploy.batch import Began, OutOfTime, run_batch
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


@dataclass
class _Attempt:
    """The last attempt of one revision."""

    state: StepState
    failure: StepFailed | None
    attempts: int
    seconds: float


class _Applier:
    """Applies one plan; `run` goes revision by revision, each helper handles one outcome."""

    def __init__(
        self,
        runner: StepRunner,
        plan: Plan,
        infos: Mapping[str, RevisionInfo],
        *,
        who: Identity,
        timeouts: Timeouts,
        retry: Retry,
        lock: DeployLock,
        root: Path | None,
    ) -> None:
        self.runner, self.plan, self.infos = runner, plan, infos
        self.who, self.timeouts, self.retry, self.root = who, timeouts, retry, root
        self.by_rev = {p.revision: p for p in plan.pending}
        self.index = {p.revision: i for i, p in enumerate(plan.pending)}
        self.out = Applied()
        self.hooks = TransactionHooks(
            runner.url,
            timeouts=timeouts,
            version_table=runner.version_table,
            row=self.row,
            lock=(lock.key, lock.pid) if lock.pid is not None else None,
        )

    def row(self, state: StepState, status: str = "applied", error: str | None = None) -> LedgerRow:
        return LedgerRow(
            revision=state.revision,
            checksum=self.by_rev[state.revision].checksum or None,
            direction="upgrade",
            status=status,
            started_at=state.started_at,
            duration=time.perf_counter() - state.started,
            deployed_by=self.who.deployed_by,
            tool_version=self.who.tool_version,
            environment=self.who.environment,
            error=error,
        )

    def at(self) -> str:
        """The revision the database is at now."""
        return self.out.done[-1] if self.out.done else ", ".join(self.plan.live) or "base"

    def attempt(
        self, rev: str, first: Began | None = None, failure: StepFailed | None = None
    ) -> _Attempt:
        """Apply `rev`, again after a backoff while it fails on a lock and may be retried.
        `first` (with its `failure`): its first attempt, made in a batch."""
        attempts = 0
        while True:
            attempts += 1
            if first is not None and attempts == 1:
                state, seconds = first.state, first.seconds
            else:
                failure = None
                self.hooks.prepare(self.runner.conn)
                with self.hooks.step(rev) as state:
                    try:
                        self.runner.upgrade(rev)
                    except StepFailed as exc:
                        failure = exc
                seconds = time.perf_counter() - state.started
            retry = (
                failure is not None
                and failure.code in RETRYABLE
                and attempts <= self.retry.retries
                and not state.outside
                and not state.lost_lock
            )
            if not retry:
                return _Attempt(state, failure, attempts, seconds)
            time.sleep(self.retry.delay(attempts))

    def applied(self, planned: PlannedRevision, done: _Attempt) -> None:
        out, rev = self.out, planned.revision
        out.done.append(rev)
        out.steps.append(AppliedRevision(rev, "applied", done.seconds, done.attempts))
        if not done.state.ledger_written:
            out.notes.append(_late_row(self.runner, self.row(done.state), self.who.environment))
        out.rows.append(self.row(done.state))
        changed = _changed(done.state, self.timeouts, self.who.environment, planned)
        if changed is not None:
            out.notes.append(changed)

    def failed(self, rev: str, done: _Attempt, at: str) -> None:
        out, env, failure = self.out, self.who.environment, done.failure
        assert failure is not None
        if done.state.lost_lock:
            out.failure = Finding(
                check=DEPLOY_FAILED,
                severity="error",
                revision=rev,
                message=f"deploy to {env} stopped before {rev}: the deploy lock was lost (its "
                f"session ended); the database stays at {at}, "
                + (
                    f"the statements {rev} ran outside its transaction were not rolled back"
                    if done.state.outside
                    else f"nothing of {rev} applied"
                ),
                details={"hint": "deploy again: the next deploy takes the lock and goes on"},
            )
            out.steps.append(AppliedRevision(rev, "not-run"))
            return
        tries = f", {done.attempts} attempts" if done.attempts > 1 else ""
        applied_part = (
            f"the statements {rev} ran outside its transaction were not rolled back"
            if done.state.outside
            else f"nothing of {rev} applied"
        )
        out.failure = step_finding(
            failure,
            self.infos[rev],
            check=DEPLOY_FAILED,
            dialect=self.runner.conn.dialect.name,
            root=self.root,
            what=f"deploy to {env} stopped: {self.infos[rev].label()} failed (the database "
            f"stays at {at}, {applied_part}{tries})",
            hint=_hint(failure.code, self.timeouts, done.state.outside),
            environment=env,
            attempts=done.attempts,
        )
        out.steps.append(AppliedRevision(rev, "failed", done.seconds, done.attempts, failure.cause))
        row = self.row(done.state, "failed", failure.cause)
        with contextlib.suppress(SQLAlchemyError):
            ledger.insert(self.runner.conn, row)
            self.runner.conn.commit()
            out.rows.append(row)

    def out_of_time(self, rev: str, at: str) -> None:
        self.out.failure = Finding(
            check=DEPLOY_FAILED,
            severity="error",
            revision=rev,
            message=f"deploy to {self.who.environment} ran out of time "
            f"(deploy.timeout) before {rev}; the database stays at {at}",
            details={"hint": "deploy again to apply the rest, or raise deploy.timeout"},
        )

    def batched(self) -> bool:
        """May the next revisions go in one command (each in its own transaction)? Until the
        first command, env.py is asked (`run_batch` applies the first revision only unless
        env.py declares transaction_per_migration)."""
        return self.runner.per_migration_transactions is not False and self.runner.shared_connection

    def run(self, deadline: float | None, progress: Progress | None) -> Applied:
        pending, n = self.plan.pending, len(self.plan.pending)
        told: set[str] = set()

        def tell(rev: str) -> None:
            if progress is not None and rev not in told:
                told.add(rev)
                progress(self.who.environment, self.index[rev] + 1, n, rev)

        def before(rev: str) -> None:  # in a batch, as each revision begins
            if deadline is not None and time.monotonic() > deadline:
                raise OutOfTime(rev)
            tell(rev)

        i = 0
        with self.hooks:
            while i < n:
                rev, at = pending[i].revision, self.at()
                if deadline is not None and time.monotonic() > deadline:
                    self.out_of_time(rev, at)
                    break
                first, failure = None, None
                if n - i > 1 and self.batched():
                    batch = run_batch(self.runner, self.hooks, pending[i:], before)
                    for began in batch.committed:
                        self.applied(began.planned, _Attempt(began.state, None, 1, began.seconds))
                    i += len(batch.committed)
                    if i == n:
                        break
                    rev, at = pending[i].revision, self.at()
                    if batch.out_of_time:
                        self.out_of_time(rev, at)
                        break
                    if batch.failure is None and batch.committed:
                        continue  # env.py runs one command per revision from here on
                    first, failure = batch.first, batch.failure
                tell(rev)
                done = self.attempt(rev, first, failure)
                if done.failure is not None:
                    self.failed(rev, done, at)
                    break
                self.applied(pending[i], done)
                i += 1
        seen = {a.revision for a in self.out.steps}
        self.out.steps += [
            AppliedRevision(p.revision, "not-run")
            for p in self.plan.pending
            if p.revision not in seen
        ]
        return self.out


def apply_plan(
    runner: StepRunner,
    plan: Plan,
    infos: Mapping[str, RevisionInfo],
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
    applier = _Applier(
        runner, plan, infos, who=who, timeouts=timeouts, retry=retry, lock=lock, root=root
    )
    return applier.run(deadline, progress)


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
