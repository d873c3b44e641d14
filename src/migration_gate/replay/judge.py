"""What one snapshot's replay amounts to: its findings and its per-revision timings.

`replay-failed` for the revision that could not run on the snapshot's data (with the
database's error and the rows it names), `data-loss` and `table-rewrite` per revision that
ran, `replay-drift` for a replayed head unlike a fresh head; a `StepTiming` per pending
revision (ok, failed, or not run). Pure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migration_gate.chain.failures import step_finding
from migration_gate.chain.script import Chain
from migration_gate.config.settings import ReplayTable
from migration_gate.findings import Finding, StepTiming
from migration_gate.replay.drift import drift_finding
from migration_gate.replay.loss import loss_finding
from migration_gate.replay.rewrite import longest_hold, rewrite_findings
from migration_gate.replay.run import SnapshotReplay
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["FAILED", "failed_finding", "judge", "timings"]

FAILED = "replay-failed"


def failed_finding(result: SnapshotReplay, chain: Chain, root: Path | None) -> Finding | None:
    """The revision that failed on the snapshot's data, with the rows that broke it."""
    exc = result.failure
    if exc is None:
        return None
    info = chain.infos[exc.revision or ""]
    name = result.snapshot.name
    rest = f" ({len(result.not_run)} later revision(s) not replayed)" if result.not_run else ""
    extra: dict[str, Any] = {"snapshot": name, "unchecked": list(result.not_run)}
    if result.offending is not None:
        extra["offending"] = result.offending.what
        extra["rows"] = result.offending.rows
    return step_finding(
        exc,
        info,
        check=FAILED,
        dialect=result.dialect,
        root=root,
        what=f"upgrade of {info.label()} failed on snapshot {name}{rest}",
        hint="the revision cannot run on this data: make it handle the rows (backfill, "
        "deduplicate, map old values) before the change that needs them",
        **extra,
    )


def timings(result: SnapshotReplay) -> list[StepTiming]:
    """A timing per pending revision of the snapshot, in order."""
    name = result.snapshot.name
    out = [
        StepTiming(name, s.revision, s.seconds, "failed" if s.failed else "ok", longest_hold(s))
        for s in result.steps
    ]
    out += [StepTiming(name, rev, 0.0, "not-run") for rev in result.not_run]
    return out


def judge(
    result: SnapshotReplay,
    *,
    fresh: SchemaSnapshot | None,
    chain: Chain,
    limits: ReplayTable,
    root: Path | None,
) -> list[Finding]:
    """Every finding of one snapshot's replay."""
    name = result.snapshot.name
    found: list[Finding] = []
    for step in result.steps:
        if step.failed:
            continue
        loss = loss_finding(step, snapshot=name, dialect=result.dialect, chain=chain, root=root)
        if loss is not None:
            found.append(loss)
        if result.dialect == "postgresql":
            found += rewrite_findings(
                step,
                snapshot=name,
                dialect=result.dialect,
                meta=result.snapshot.meta,
                chain=chain,
                limits=limits,
                root=root,
            )
    failed = failed_finding(result, chain, root)
    if failed is not None:
        found.append(failed)
    if result.head is not None and fresh is not None:
        drift = drift_finding(
            result.head,
            fresh,
            snapshot=name,
            chain=chain,
            heads=tuple(chain.script.get_heads()),
            root=root,
        )
        if drift is not None:
            found.append(drift)
    return found
