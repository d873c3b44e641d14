"""What the data probe says: a `data-loss` finding per change of the probe's rows, worded by
its kind and cause, and `probe-skipped` for a table it could not fill. Pure: values in,
findings out.

Severity follows the kind: rows gone (`dropped`, `rows`) and values lost (`values`) or put
in the wrong column (`shifted`) are errors, or warnings when the revision declares
``gate = {"destructive": "why"}``; values rewritten in place (`rewritten`) are a warning to
review; rows moved to another table (`moved`) are an info.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.checks.probe.compare import Loss
from migration_gate.checks.probe.explain import Cause
from migration_gate.findings import Finding, Severity

__all__ = ["DATA_LOSS", "SKIPPED", "loss_finding", "skipped_finding"]

DATA_LOSS = "data-loss"
SKIPPED = "probe-skipped"
_KEEP = (
    "keep the rows: add the new table or columns, copy the data across, then drop the old "
    'ones; if the loss is intended, declare gate = {"destructive": "why"} in the module'
)
_HINTS = {
    "dropped": _KEEP,
    "rows": "if these rows must go (they break the migration's new rule), say so: declare "
    'gate = {"destructive": "why"}; else narrow the statement or repair the rows instead',
    "values": _KEEP,
    "shifted": "name the columns on both sides: INSERT INTO new (a, b, ...) SELECT a, b, ... "
    "FROM old, never SELECT * into a table with another column order",
    "rewritten": "check that nothing needs the old values any more (the downgrade cannot bring "
    "back values hashed or encrypted in place); nothing to fix if the rewrite is intended",
    "moved": "nothing to fix: the rows are in the table named",
}


def _rows(n: int) -> str:
    return f"{n} row{'s' * (n != 1)}"


def _what(loss: Loss, cause: Cause) -> str:
    t, gone = loss.table, loss.before - loss.after
    if loss.kind == "dropped":
        return f"drops table {t} while it holds {_rows(loss.before)}"
    if loss.kind == "rows":
        if cause.kind in ("delete", "cascade"):
            n = cause.count if cause.kind == "delete" and cause.count is not None else gone
            return f"{_rows(n)} of {t} {cause.text} ({t}: {loss.before} → {loss.after} rows)"
        if cause.kind == "truncate":
            return f"empties {t}: its {_rows(loss.before)} {cause.text}"
        if cause.kind == "recreated":
            return f"empties {t}: {cause.text}, and its {_rows(loss.before)} are gone"
        return f"{gone} of {_rows(loss.before)} of {t} deleted"
    if loss.kind == "moved":
        where = ", ".join(
            name if len(loss.found) == 1 else f"{name} ({n})" for name, n in loss.found
        )
        if cause.text == "dropped":
            return (
                f"moves the rows of {t} to {where} and drops {t}: each of its "
                f"{sum(n for _, n in loss.found)} probe rows is found there, so no data is lost"
            )
        return (
            f"moves {gone} of the {_rows(loss.before)} of {t} to {where}: each probe row gone "
            f"from {t} is found there, so no data is lost"
        )
    if loss.kind == "shifted":
        pairs = ", ".join(f"{a} → {b}" for a, b in loss.mapping)
        return (
            f"shifts values between columns of {t} ({pairs}: the values of each column on the "
            f"left now sit in the column on the right, in all {loss.after} probe rows): an "
            "INSERT … SELECT * into a table with another column order?"
        )
    sample = "; ".join(f"{b} → {a}" for b, a in loss.examples)
    if loss.replaced_by is not None:
        return (
            f"replaces {t}.{loss.column} with the values {t}.{loss.replaced_by} held ("
            f"{sample}; {loss.after} of {loss.before} probe rows): {loss.replaced_by} is gone, so "
            f"{loss.column} was dropped and {loss.replaced_by} renamed into its place, and the "
            f"old values of {t}.{loss.column} are lost"
        )
    if loss.kind == "rewritten":
        key = f", matched by {', '.join(loss.key)}" if loss.key else ""
        return (
            f"rewrites every value of {t}.{loss.column} in place ({sample}; {loss.after} of "
            f"{loss.before} probe rows, all still there{key}): hashed, encrypted, recomputed "
            "or normalized"
        )
    how = cause.text or (
        "the old values are gone (overwritten, reset to a default, or the column dropped and "
        "added again)"
    )
    return (
        f"changes {t}.{loss.column} in {loss.after} of {loss.before} probe row(s) ({sample}): {how}"
    )


def loss_finding(
    loss: Loss, cause: Cause, rev: RevisionInfo, dialect: str, root: Path | None
) -> Finding:
    """The finding for one change of the probe's rows."""
    declared = rev.gate.get("destructive")
    label = f"{rev.revision} ({rev.doc})" if rev.doc else rev.revision
    severity: Severity = "error"
    if loss.kind == "moved":
        severity = "info"
    elif loss.kind == "rewritten" or declared:
        severity = "warning"
    message = f"upgrade of {label} on {dialect} {_what(loss, cause)}"
    if declared and severity == "warning" and loss.kind != "rewritten":
        message += f" (declared destructive: {declared})"
    details: dict[str, Any] = {
        "table": loss.table,
        "kind": loss.kind,
        "before": loss.before,
        "after": loss.after,
        "hint": _HINTS[loss.kind],
    }
    if cause.kind not in (loss.kind, "unknown"):
        details["cause"] = cause.kind
    if cause.statement:
        details["statement"] = cause.statement
    if loss.column:
        details["column"] = loss.column
        details["examples"] = [list(e) for e in loss.examples]
    if loss.mapping:
        details["mapping"] = dict(loss.mapping)
    if loss.replaced_by:
        details["replaced_by"] = loss.replaced_by
    if loss.found:
        details["moved_to"] = dict(loss.found)
    if loss.key:
        details["matched_by"] = list(loss.key)
    if declared:
        details["declared"] = declared
    return Finding(
        check=DATA_LOSS,
        severity=severity,
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
