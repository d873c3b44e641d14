"""downgrade-leaves-trace: the schema after a revision's downgrade is not the schema before it.

The walk snapshots before the upgrade and after the downgrade; any difference (with the diff
in sentences: what the downgrade left behind, what it took away) is an error at the
revision's `def downgrade` line.
"""

from __future__ import annotations

from migration_gate.checks.base import Roundtrip, RoundtripCheck, StepContext
from migration_gate.findings import Finding

__all__ = ["ID", "Trace"]

ID = "downgrade-leaves-trace"


class Trace(RoundtripCheck):
    def after_roundtrip(self, step: StepContext, states: Roundtrip) -> list[Finding]:
        if not states.trace:
            return []
        sentences = states.trace.sentences(
            added="left behind by the downgrade", removed="missing after the downgrade"
        )
        return [
            step.finding(
                ID,
                f"downgrade of {step.rev.label()} does not restore the schema on "
                f"{step.dialect}: " + "; ".join(sentences),
                line=step.rev.downgrade_line,
                diff=sentences,
                changes=states.trace.to_list(),
                hint="make downgrade() undo every object upgrade() created or changed",
            )
        ]
