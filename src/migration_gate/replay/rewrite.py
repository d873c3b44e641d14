"""table-rewrite: a revision that rewrote a table or held an ACCESS EXCLUSIVE lock on it.

A rewrite is seen by the table's storage (`relfilenode`) changing; a lock by `LockWatch`.
Either way the lock is held until the revision commits, and nothing reads or writes the
table meanwhile. The finding gives the rows replayed, the seconds the lock was held on
them, and the projection to the source database's size from the metadata's row counts
(a sampled snapshot of 10k rows still tells "about 40 s on main's 12M rows"): `info`,
or `warning` / `error` when the projection reaches `[tool.migration-gate.replay]`
`lock_warning` / `lock_error`. Without metadata the replayed size is taken as the
source's, and said so. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from migration_gate.chain.script import Chain
from migration_gate.config.settings import ReplayTable
from migration_gate.findings import Finding, Severity
from migration_gate.replay.meta import SnapshotMeta
from migration_gate.replay.run import StepResult

__all__ = ["CHECK", "Hold", "holds", "longest_hold", "rewrite_findings"]

CHECK = "table-rewrite"


@dataclass(frozen=True)
class Hold:
    """An ACCESS EXCLUSIVE lock a step held on a table that existed before it."""

    table: str
    rows: int
    seconds: float
    rewritten: bool
    #: the hold was not seen, only bounded by the step's duration (a rewrite under the
    #: lock watch's polling interval)
    bounded: bool = False


def holds(step: StepResult) -> list[Hold]:
    """The tables `step` rewrote or held ACCESS EXCLUSIVE, that existed before it."""
    after = {s.info.ident: s for s in step.after}
    out = []
    for old in step.before:
        new = after.get(old.info.ident)
        if new is None:
            continue  # dropped: that is data-loss's business
        rewritten = new.info.storage != old.info.storage
        seen = step.holds.get(old.name)
        if seen is None and not rewritten:
            continue
        out.append(
            Hold(
                old.name, old.rows, step.seconds if seen is None else seen, rewritten, seen is None
            )
        )
    return out


def _projection(hold: Hold, meta: SnapshotMeta | None) -> tuple[float | None, int | None, str]:
    """(projected seconds, source rows, how it was projected)."""
    if meta is None:
        return hold.seconds, hold.rows, "no metadata: the replayed rows are taken as the source's"
    stats = meta.tables.get(hold.table)
    if stats is None:
        return hold.seconds, hold.rows, f"the source had no table {hold.table}: not projected"
    if hold.rows == 0:
        if stats.rows == 0:
            return hold.seconds, 0, "empty at the source too"
        return None, stats.rows, "no rows replayed: cannot project"
    return hold.seconds * stats.rows / hold.rows, stats.rows, "projected linearly in rows"


def _severity(projected: float | None, limits: ReplayTable) -> Severity:
    if projected is None:
        return "warning"
    if projected >= limits.lock_error:
        return "error"
    return "warning" if projected >= limits.lock_warning else "info"


def _finding(
    hold: Hold,
    step: StepResult,
    *,
    snapshot: str,
    dialect: str,
    meta: SnapshotMeta | None,
    chain: Chain,
    limits: ReplayTable,
    root: Path | None,
) -> Finding:
    info = chain.infos[step.revision]
    projected, source_rows, how = _projection(hold, meta)
    verb = "rewrote" if hold.rewritten else "held an ACCESS EXCLUSIVE lock on"
    held = f"{'at most ' if hold.bounded else ''}{hold.seconds:.2f} s"
    message = f"{info.label()} {verb} {hold.table} replayed on {snapshot}: locked {held} on {hold.rows:,} rows"
    if projected is None:
        message += f"; the source has {source_rows:,} rows and no time can be projected from none"
    elif source_rows is not None and source_rows != hold.rows:
        message += f"; about {projected:,.1f} s on the source's {source_rows:,} rows"
    severity = _severity(projected, limits)
    hint = (
        "nothing reads or writes the table while the lock is held: avoid the rewrite (add "
        "columns without a volatile default, change types in steps), or raise lock_warning / "
        f"lock_error (now {limits.lock_warning:g} s / {limits.lock_error:g} s) in "
        "[tool.migration-gate.replay] if it is acceptable"
    )
    return Finding(
        check=CHECK,
        severity=severity,
        revision=step.revision,
        dialect=dialect,
        file=info.rel_path(root),
        line=info.upgrade_line,
        message=message,
        details={
            "snapshot": snapshot,
            "table": hold.table,
            "rewritten": hold.rewritten,
            "rows": hold.rows,
            "seconds": round(hold.seconds, 4),
            "source_rows": source_rows,
            "projected_seconds": None if projected is None else round(projected, 3),
            "projection": how,
            **({"hint": hint} if severity != "info" else {}),
        },
    )


def rewrite_findings(
    step: StepResult,
    *,
    snapshot: str,
    dialect: str,
    meta: SnapshotMeta | None,
    chain: Chain,
    limits: ReplayTable,
    root: Path | None,
) -> list[Finding]:
    """One finding per table `step` rewrote or locked, unless it is empty here and at the source."""
    out = []
    for hold in holds(step):
        source = meta.tables.get(hold.table) if meta is not None else None
        if hold.rows == 0 and (source is None or source.rows == 0):
            continue
        out.append(
            _finding(
                hold,
                step,
                snapshot=snapshot,
                dialect=dialect,
                meta=meta,
                chain=chain,
                limits=limits,
                root=root,
            )
        )
    return out


def longest_hold(step: StepResult) -> float | None:
    """The longest lock of `step` on an existing table, for its timing line."""
    found = [h.seconds for h in holds(step)]
    return max(found) if found else None
