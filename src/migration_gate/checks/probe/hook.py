"""The data probe as a walk hook: rows in before each upgrade, what became of them after it.

Before each revision, every table without rows gets a few synthetic rows, valid for the
schema (`generate`), parents first (`fillpass`); the probe records each table's row count
and its probe rows. After the upgrade it reports, as `data-loss` findings (`judge`,
`messages`): a table dropped while it had rows, rows gone (with the statement that deleted
them when the revision's connection sent one), values lost or shifted into another column
(errors, or warnings when the migration declares ``gate = {"destructive": "why"}``), values
rewritten in place (a warning) and rows moved to another table (an info). Rows are left in
place: later downgrades and upgrades meet real data, as they would in production. A table
the probe cannot fill validly, and every table that references it, is a `probe-skipped`
info finding, once per table and reason, and is never judged. Any other error of the probe
is a bug of migration-gate and ends the run (it is never a skip).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.checks.base import RoundtripCheck, StepContext
from migration_gate.checks.probe import fill
from migration_gate.checks.probe.compare import Loss
from migration_gate.checks.probe.explain import Cause
from migration_gate.checks.probe.fillpass import fill_and_record
from migration_gate.checks.probe.generate import ROWS
from migration_gate.checks.probe.judge import judge
from migration_gate.checks.probe.messages import DATA_LOSS, SKIPPED, loss_finding, skipped_finding
from migration_gate.checks.probe.state import ProbeState
from migration_gate.findings import Finding
from migration_gate.snapshot.model import SchemaSnapshot

if TYPE_CHECKING:
    from migration_gate.chain.revisions import RevisionInfo
    from migration_gate.chain.runner import StepRunner

__all__ = ["DATA_LOSS", "SKIPPED", "DataProbe"]


@dataclass
class DataProbe(RoundtripCheck):
    """Fills empty tables before each upgrade and reports what the upgrade did to the rows."""

    rows: int = ROWS
    root: Path | None = None
    _state: ProbeState = field(default_factory=ProbeState)
    _reported: set[tuple[str, str]] = field(default_factory=set)
    #: tables whose skips the walk that checked the revisions before this one's notes
    _muted: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._state.rows = self.rows

    def populated_tables(self) -> tuple[str, ...]:
        """The tables that hold probe rows now."""
        return tuple(sorted(name for name, t in self._state.tracked.items() if t.rows))

    # -- the hooks -----------------------------------------------------------------------
    def before_upgrade(self, step: StepContext, before: SchemaSnapshot) -> list[Finding]:
        skipped = fill_and_record(self._state, step.runner, before)
        fill.finish(step.runner.conn)
        return [f for t, why in skipped for f in self._skipped(t, why, step.rev, before.dialect)]

    def after_upgrade(
        self, step: StepContext, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Finding]:
        if step.rebuilt:  # the rows it put in before this upgrade are not in this database
            self._state.before_snap = None
            return []
        changes = self._compare(step.runner, before, after)
        fill.finish(step.runner.conn)
        return [
            loss_finding(loss, cause, step.rev, after.dialect, self.root) for loss, cause in changes
        ]

    def _compare(
        self, runner: StepRunner, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[tuple[Loss, Cause]]:
        return judge(self._state, runner, before, after)

    # -- findings -------------------------------------------------------------------------
    def fast_forwarded(self, snapshot: SchemaSnapshot) -> None:
        """The walk starts mid-chain (a shard, `--from`). A table of `snapshot` was first
        tried before an earlier revision, which another walk checks: that walk notes it if
        it cannot be filled (so that the union of shard reports is the whole report)."""
        self._muted = frozenset(t.name for t in snapshot.tables)

    def _skipped(self, table: str, reason: str, rev: RevisionInfo, dialect: str) -> list[Finding]:
        if (table, reason) in self._reported or table in self._muted:
            return []
        self._reported.add((table, reason))
        return [skipped_finding(table, reason, rev, dialect)]
