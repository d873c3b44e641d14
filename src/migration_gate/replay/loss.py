"""data-loss in a replay: a table whose row count fell, or that was dropped with its rows.

Post-mortem 001 changed two key types by dropping and recreating the tables; every row
went. Rows are counted exactly before and after each replayed revision; a table is
followed by its identity (a renamed table is the same table) and else by its name (a
table dropped and created again under the same name lost what it held). A revision that
declares `gate = {"destructive": "why"}` gets a warning instead of an error. Pure.
"""

from __future__ import annotations

from pathlib import Path

from migration_gate.chain.script import Chain
from migration_gate.findings import Finding
from migration_gate.replay.run import StepResult

__all__ = ["CHECK", "loss_finding", "lost_rows"]

CHECK = "data-loss"


def lost_rows(step: StepResult) -> dict[str, dict[str, object]]:
    """table -> {before, after, how} for every table that lost rows in `step`."""
    by_ident = {s.info.ident: s for s in step.after}
    by_name = {s.name: s for s in step.after}
    out: dict[str, dict[str, object]] = {}
    for old in step.before:
        if old.rows == 0:
            continue
        new = by_ident.get(old.info.ident)
        how = "fewer rows"
        if new is None:
            new = by_name.get(old.name)
            how = "dropped and created again" if new is not None else "dropped"
        elif new.name != old.name:
            how = f"renamed to {new.name}"
        after = new.rows if new is not None else 0
        if after < old.rows:
            out[old.name] = {"before": old.rows, "after": after, "how": how}
    return out


def _phrase(table: str, entry: dict[str, object]) -> str:
    how = entry["how"]
    tail = "" if how == "fewer rows" else f" ({how})"
    return f"{table} {entry['before']:,} → {entry['after']:,} rows{tail}"


def loss_finding(
    step: StepResult, *, snapshot: str, dialect: str, chain: Chain, root: Path | None
) -> Finding | None:
    """The rows `step` lost on the snapshot's data, or None."""
    lost = lost_rows(step)
    if not lost:
        return None
    info = chain.infos[step.revision]
    declared = (info.gate.get("destructive") or "").strip()
    tables = ", ".join(_phrase(t, e) for t, e in lost.items())
    message = f"{info.label()} lost rows replayed on {snapshot}: {tables}"
    if declared:
        message += f" (declared destructive: {declared})"
    return Finding(
        check=CHECK,
        severity="warning" if declared else "error",
        revision=step.revision,
        dialect=dialect,
        file=info.rel_path(root),
        line=info.upgrade_line,
        message=message,
        details={
            "snapshot": snapshot,
            "tables": lost,
            "hint": "keep the rows (copy them into the new shape before dropping the old "
            "one), or declare gate = {'destructive': 'why it is safe'} in the migration",
        },
    )
