"""downgrade-leaves-trace: the schema after a revision's downgrade is not the schema before it.

The walk snapshots before the upgrade and after the downgrade; any difference (with the diff
in sentences: what the downgrade left behind, what it took away) is an error at the
revision's `def downgrade` line. Two kinds of difference are told apart:

- a constraint or index that comes back under another name (or named where it was unnamed),
  with the same definition: a warning, since the schema means the same but a later migration
  that names it will fail (`snapshot.split_renames`);
- an index detail the upgrade lost in a SQLite batch rebuild and the downgrade did not bring
  back: `index-detail-lost` reports it at the upgrade, so it is not reported again here.
"""

from __future__ import annotations

from pathlib import Path

from migration_gate.checks.base import Roundtrip, RoundtripCheck, StepContext
from migration_gate.checks.index_details import lost_in_upgrade
from migration_gate.findings import Finding
from migration_gate.snapshot import Change, SchemaDiff, split_renames

__all__ = ["ID", "Trace", "renamed_findings"]

ID = "downgrade-leaves-trace"


def _explained(states: Roundtrip, path: Path) -> SchemaDiff:
    """The trace without the index changes of a batch rebuild that `index-detail-lost`
    reported at the upgrade (the index is as the upgrade left it)."""
    lost = {(t, loss.index) for t, loss in lost_in_upgrade(states.before, states.after, path)}
    if not lost:
        return states.trace

    def kept(change: Change) -> bool:
        path = change.path
        if len(path) < 4 or path[0] != "tables" or path[2] != "indexes":
            return True
        if (path[1], path[3]) not in lost:
            return True
        after, down = states.after.table(path[1]), states.down.table(path[1])
        same = {i.name: i for i in after.indexes} if after is not None else {}
        now = {i.name: i for i in down.indexes} if down is not None else {}
        return same.get(path[3]) != now.get(path[3])

    return SchemaDiff(tuple(c for c in states.trace if kept(c)))


def renamed_findings(
    step: StepContext, changes: SchemaDiff, check: str, what: str, line: int | None
) -> tuple[list[Finding], SchemaDiff]:
    """Warnings for the constraints that come back under another name, and the rest."""
    pairs, rest = split_renames(changes)
    found = [
        step.finding(
            check,
            f"{what} of {step.rev.label()} on {step.dialect}: {pair.sentence()}; the schema "
            "means the same, but a later migration that refers to the old name will fail",
            line=line,
            severity="warning",
            renamed={"table": pair.table, "before": pair.before, "after": pair.after},
            hint="give the constraint its name again (name it explicitly in both directions: "
            "op.create_unique_constraint('uq_...', ...), naming_convention in the MetaData)",
        )
        for pair in pairs
    ]
    return found, rest


class Trace(RoundtripCheck):
    def after_roundtrip(self, step: StepContext, states: Roundtrip) -> list[Finding]:
        if not states.trace:
            return []
        trace = _explained(states, step.rev.path)
        found, rest = renamed_findings(step, trace, ID, "the downgrade", step.rev.downgrade_line)
        if not rest:
            return found
        sentences = rest.sentences(
            added="left behind by the downgrade", removed="missing after the downgrade"
        )
        return [
            *found,
            step.finding(
                ID,
                f"downgrade of {step.rev.label()} does not restore the schema on "
                f"{step.dialect}: " + "; ".join(sentences),
                line=step.rev.downgrade_line,
                diff=sentences,
                changes=rest.to_list(),
                hint="make downgrade() undo every object upgrade() created or changed",
            ),
        ]
