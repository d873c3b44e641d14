"""The revision steps the step runner hands to Alembic, and what one command showed.

`RevisionStep` is what Alembic's ``run_migrations`` runs: per step, inside the step's
transaction (with ``transaction_per_migration``), ``step.migration_fn()`` and then the version
table's update. `Step` wraps the revision's code: it notes which revision is running (a
failure is that revision's), and for `StepRunner.upgrade_each` checks that the revision has
a transaction of its own (`TransactionsShared` otherwise) and calls the caller's
``before_each(revision)`` in it, before the revision's code. `Outcome` is what the runner
learns from one command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import Script

from migration_gate.errors import MigrationError

__all__ = ["Outcome", "Step", "TransactionsShared"]


class TransactionsShared(MigrationError):
    """`upgrade_each`: env.py ran two revisions in one transaction after all (it began the
    transaction itself); raised before the second one ran anything."""

    def __init__(self, revision: str, previous: str) -> None:
        super().__init__(
            f"env.py runs {previous} and {revision} in one transaction although it declares "
            "transaction_per_migration",
            revision=revision,
        )


@dataclass
class Outcome:
    used_our_connection: bool = True
    target_metadata: Any = None
    #: env.py's transaction_per_migration (None: env.py did not configure a context)
    per_migration: bool | None = None
    #: env.py called run_migrations (so a failure after this is a revision's)
    reached: bool = False
    #: the revisions handed to Alembic (`upgrade_each`: maybe only the first)
    given: tuple[str, ...] = ()
    #: the revision whose upgrade/downgrade code was called last
    current: str | None = None
    #: what `before_each` (or the shared-transaction check) raised: re-raised as is
    stopped: BaseException | None = None


class Step(RevisionStep):
    """A revision step that says when its code starts: it notes the revision as the one
    running, then (in `upgrade_each`) checks that it runs in a transaction of its own and
    calls `before_each(revision)` inside that transaction, before the revision's code."""

    def __init__(
        self,
        revision_map: Any,
        script: Script,
        is_upgrade: bool,
        *,
        outcome: Outcome,
        ctx: MigrationContext,
        before_each: Callable[[str], None] | None,
        separate: list[Any] | None,
    ) -> None:
        super().__init__(revision_map, script, is_upgrade)
        code = self.migration_fn
        rev = script.revision

        def migration_fn(**kw: Any) -> Any:
            previous, outcome.current = outcome.current, rev
            try:
                if separate is not None:  # (previous revision, its transaction)
                    txn = ctx.connection.get_transaction() if ctx.connection is not None else None
                    if separate and txn is not None and separate[-1][1] is txn:
                        raise TransactionsShared(rev, separate[-1][0])
                    separate.append((rev, txn))
                if before_each is not None:
                    before_each(rev)
            except BaseException as exc:
                outcome.current = previous  # nothing of `rev` ran
                outcome.stopped = exc
                raise
            return code(**kw)

        self.migration_fn = migration_fn
