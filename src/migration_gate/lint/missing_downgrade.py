"""missing-downgrade: an empty downgrade() that does not say the revision is irreversible.

Static: read from the source alone. A merge or no-op revision (empty upgrade) needs no
downgrade. The fix is a real downgrade(), or ``gate = {"irreversible": "why"}``.
"""

from __future__ import annotations

from migration_gate.findings import Finding, Severity
from migration_gate.lint.context import RevisionContext

__all__ = ["ID", "SEVERITY", "check"]

ID = "missing-downgrade"
SEVERITY: Severity = "error"


def check(ctx: RevisionContext) -> list[Finding]:
    info = ctx.info
    if not info.downgrade_empty or info.upgrade_empty or info.gate.get("irreversible", "").strip():
        return []
    what = "has no downgrade()" if info.downgrade_line is None else "has an empty downgrade()"
    return [
        Finding(
            check=ID,
            severity=SEVERITY,
            revision=info.revision,
            file=ctx.file,
            line=info.downgrade_line or ctx.upgrade_line,
            message=f"{info.revision} {what} and does not declare itself irreversible",
            details={
                "hint": "write downgrade() so that it undoes upgrade(), or declare "
                'gate = {"irreversible": "why it cannot be undone"} in the module'
            },
        )
    ]
