"""The pending revisions in ONE Alembic command, each still in its own transaction.

A deploy that ran each revision as its own Alembic command would pay, per revision, for
env.py and for Alembic's reads of its version table. `run_batch` hands the plan to the
runner in one command (`StepRunner.upgrade_each`): when env.py declares
``transaction_per_migration=True`` and migrates on the runner's connection, Alembic runs
them all, beginning and committing one transaction per revision itself; otherwise the
command applies the first revision only, and the deploy goes on one command per revision.
Each revision's transaction is still the revision's own: the runner checks that no two
revisions share one (`TransactionsShared`: the batch stops before the second does anything),
and calls back as each revision's code is about to run, inside its transaction, so that the
hooks' state (`TransactionHooks.open`), and so its ledger row, are that revision's.

When a revision fails, those before it are committed with their ledger rows (the
database's revision says how far the batch got), and the batch says which revision was
next and, when it had begun, its state and failure: the deploy treats that as the
revision's first attempt (`apply`: retries on a lock, or the failure).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from migration_gate.chain.runner import StepFailed, StepRunner, TransactionsShared
from migration_gate.deploy.hooks import StepState, TransactionHooks
from migration_gate.deploy.section import PlannedRevision

__all__ = ["Batch", "Began", "OutOfTime", "run_batch"]


class OutOfTime(Exception):
    """Raised by the deploy's callback when deploy.timeout has passed: the revision about to
    run does not run (its transaction, empty, rolls back)."""


@dataclass
class Began:
    """One revision of a batch that began: its hooks' state, and how long it took."""

    planned: PlannedRevision
    state: StepState
    seconds: float = 0.0


@dataclass
class Batch:
    """What `run_batch` did."""

    #: the revisions committed, in order, each with its ledger row
    committed: list[Began] = field(default_factory=list)
    #: the first revision not committed, when it had begun (its failure is `failure`)
    first: Began | None = None
    failure: StepFailed | None = None
    #: the deploy's callback stopped the batch (deploy.timeout)
    out_of_time: bool = False


def run_batch(
    runner: StepRunner,
    hooks: TransactionHooks,
    batch: Sequence[PlannedRevision],
    before: Callable[[str], None],
) -> Batch:
    """Apply `batch` in one command, as far as env.py allows (the runner's
    `per_migration_transactions` must not be False); `before(revision)` is called as each
    revision begins and may raise `OutOfTime`."""
    by_rev = {p.revision: p for p in batch}
    began: list[Began] = []
    out = Batch()

    def before_each(rev: str) -> None:
        now = time.perf_counter()
        if began:
            began[-1].seconds = now - began[-1].state.started
        before(rev)
        state = hooks.state
        if began or state is None or state.revision != rev:
            state = hooks.open(rev)
        began.append(Began(by_rev[rev], state))

    hooks.prepare(runner.conn)
    # the command's first transaction begins before the first revision's code: its events
    # are that revision's (e.g. SQLite's BEGIN IMMEDIATE)
    hooks.open(batch[0].revision)
    stopped = True
    try:
        given = runner.upgrade_each([p.revision for p in batch], before_each)
        stopped = len(given) != len(began)
    except StepFailed as exc:
        out.failure = exc
    except OutOfTime:
        out.out_of_time = True
    except TransactionsShared:
        pass  # nothing of the batch is committed; the runner no longer batches
    finally:
        hooks.state = None
    if began:
        began[-1].seconds = time.perf_counter() - began[-1].state.started
    if not stopped:
        out.committed = began
        return out
    # each revision began only after the one before it committed, so the last one committed
    # is the database's revision now (rows a commit took down with it do not count)
    heads = set(runner.heads())
    last = max((i for i, b in enumerate(began) if b.planned.revision in heads), default=-1)
    out.committed = began[: last + 1]
    if out.failure is not None and len(began) > last + 1:
        nxt = began[last + 1]
        if nxt.planned.revision == out.failure.revision:
            out.first = nxt
    return out
