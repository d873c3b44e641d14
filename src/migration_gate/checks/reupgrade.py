"""reupgrade-differs: upgrading again after the downgrade gives another schema than the first
upgrade did (the upgrade depends on leftovers of the downgrade)."""

from __future__ import annotations

from migration_gate.checks.base import Roundtrip, RoundtripCheck, StepContext
from migration_gate.checks.trace import renamed_findings
from migration_gate.findings import Finding

__all__ = ["ID", "Reupgrade"]

ID = "reupgrade-differs"


class Reupgrade(RoundtripCheck):
    def after_roundtrip(self, step: StepContext, states: Roundtrip) -> list[Finding]:
        if not states.differs:
            return []
        found, rest = renamed_findings(
            step, states.differs, ID, "the second upgrade", step.rev.upgrade_line
        )
        if not rest:
            return found
        sentences = rest.sentences(
            added="extra after re-upgrade", removed="missing after re-upgrade"
        )
        return [
            *found,
            step.finding(
                ID,
                f"upgrade of {step.rev.label()} after its downgrade gives a different schema on "
                f"{step.dialect}: " + "; ".join(sentences),
                line=step.rev.upgrade_line,
                diff=sentences,
                changes=rest.to_list(),
                hint="upgrade() must not depend on leftovers; make downgrade() complete",
            ),
        ]
