"""What the data probe says: the `data-loss` finding for a loss, `probe-skipped` for a table it
could not fill. Pure: values in, findings out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.checks.probe.compare import Loss
from migration_gate.findings import Finding

__all__ = ["DATA_LOSS", "SKIPPED", "loss_finding", "skipped_finding"]

DATA_LOSS = "data-loss"
SKIPPED = "probe-skipped"
_HINT = (
    "keep the rows: add the new table or columns, copy the data across, then drop the old "
    'ones; if the loss is intended, declare gate = {"destructive": "why"} in the module'
)


def loss_finding(loss: Loss, rev: RevisionInfo, dialect: str, root: Path | None) -> Finding:
    declared = rev.gate.get("destructive")
    label = f"{rev.revision} ({rev.doc})" if rev.doc else rev.revision
    if loss.kind == "dropped":
        what = f"drops table {loss.table} while it holds {loss.before} row(s)"
    elif loss.kind == "rows" and loss.after == 0:
        what = (
            f"empties {loss.table}: all {loss.before} row(s) are gone (was the table "
            "dropped and created again?)"
        )
    elif loss.kind == "rows":
        what = f"loses {loss.before - loss.after} of the {loss.before} row(s) of {loss.table}"
    else:
        sample = "; ".join(f"{b} -> {a}" for b, a in loss.examples)
        what = (
            f"changes {loss.table}.{loss.column} in {loss.after} of {loss.before} probe "
            f"row(s) ({sample}): its values were dropped (column dropped and re-added), "
            "reset to a default or overwritten"
        )
    message = f"upgrade of {label} on {dialect} {what}"
    if declared:
        message += f" (declared destructive: {declared})"
    details: dict[str, Any] = {
        "table": loss.table,
        "kind": loss.kind,
        "before": loss.before,
        "after": loss.after,
        "hint": _HINT,
    }
    if loss.column:
        details["column"] = loss.column
        details["examples"] = [list(e) for e in loss.examples]
    if declared:
        details["declared"] = declared
    return Finding(
        check=DATA_LOSS,
        severity="warning" if declared else "error",
        revision=rev.revision,
        dialect=dialect,
        file=rev.rel_path(root),
        line=rev.upgrade_line,
        message=message,
        details=details,
    )


def skipped_finding(table: str, reason: str, rev: RevisionInfo, dialect: str) -> Finding:
    return Finding(
        check=SKIPPED,
        severity="info",
        revision=rev.revision,
        dialect=dialect,
        message=f"data probe left {table} empty before {rev.revision} on {dialect}: {reason}",
        details={
            "table": table,
            "reason": reason,
            "hint": "lost rows of this table cannot be detected; nothing to fix unless "
            "the reason is a bug of migration-gate",
        },
    )
