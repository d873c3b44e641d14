"""The roundtrip walk of one dialect: every selected revision up, down and up again.

`walk` runs on one workspace (one database it may replace with a fresh one) and returns a
frozen `WalkResult`. Revisions before the selected range are applied without checks
(`fast_forward`); each selected one is checked by `steps.check_revision` with fresh instances
of every registered check (`checks.roundtrip_checks`). A failed upgrade is reported and the walk
goes on when the revision can be reached another way; one that nothing reaches stops it, and
the result says which revisions were left unchecked (an error); env.py failing stops it
before any revision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from migration_gate.chain.failures import env_finding
from migration_gate.chain.runner import EnvFailed, StepFailed, StepRunner
from migration_gate.chain.script import Chain, Invoke
from migration_gate.checks import CheckOptions, RoundtripCheck, roundtrip_checks
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import urls
from migration_gate.db.workspace import Workspace
from migration_gate.findings import Finding
from migration_gate.snapshot import SchemaSnapshot
from migration_gate.walk.recover import reach_together
from migration_gate.walk.select import Selection
from migration_gate.walk.state import WalkState
from migration_gate.walk.steps import check_revision

__all__ = ["Progress", "WalkOptions", "WalkResult", "walk"]

#: called before each revision: (dialect, position from 1, total, revision)
Progress = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class WalkOptions:
    """How to walk (which part of the chain is the `Selection`'s job)."""

    #: checks of the caller's, run after the registered ones
    extra_checks: Sequence[RoundtripCheck] = ()
    progress: Progress | None = None
    root: Path | None = None
    #: fill empty tables before each upgrade and report lost rows (`data-loss`)
    data_probe: bool = True
    #: snapshot after each revision applied without checks too (for dialect-divergence)
    record_skipped: bool = False
    #: the application's own start on every fresh database ("base" is after it)
    setup: Setup | None = None


@dataclass(frozen=True)
class WalkResult:
    """What one walk on one dialect found."""

    dialect: str
    findings: tuple[Finding, ...]
    timings: Mapping[str, float]
    #: the revisions the walk checked (all of its selection, unless it stopped)
    checked: tuple[str, ...]
    #: revision -> the schema after its upgrade
    snapshots: Mapping[str, SchemaSnapshot] = field(default_factory=dict)
    #: the walk reached the end of its selection
    completed: bool = False


def _fast_forward(w: WalkState, selection: Selection, record: bool) -> bool:
    """Apply the revisions before the range without checks (`record`: with a snapshot after
    each, for checks along the whole chain). Checks hear of the schema before the last of
    them (`fast_forwarded`): what they would note up to there is the earlier walk's to note.
    False when one fails: the walk (shard) that checks it reports it."""
    skip = selection.skip

    def apply(revs: Sequence[str]) -> None:
        for rev in revs:
            try:
                w.timed("fast-forward", partial(w.runner.upgrade, rev))
            except EnvFailed:
                raise
            except StepFailed:  # as the walk checking it goes on: reach it together
                reached = reach_together(w, w.infos[rev])
                if isinstance(reached, StepFailed):
                    raise reached from None
                w.applied.append(rev)
                w.last = reached
                if record:
                    w.snapshots[rev] = reached
                continue
            w.applied.append(rev)
            if record:
                w.snapshots[rev] = w.last = w.timed("fast-forward", w.runner.snapshot)

    try:
        apply(skip[:-1])
        start = w.last if w.last is not None else w.timed("fast-forward", w.runner.snapshot)
        for check in w.checks:
            check.fast_forwarded(start)
        w.last = None
        apply(skip[-1:])
    except EnvFailed as exc:
        w.findings.append(env_finding(exc, w.dialect, w.root))
        return False
    except StepFailed as exc:
        w.last = None
        rev = w.infos[exc.revision or skip[0]]
        w.note(
            "upgrade-failed",
            rev,
            f"walk on {w.dialect} did not reach {selection.check[0]}: {exc.revision} failed "
            f"before it ({exc.cause}); the walk checking {exc.revision} reports it",
            severity="info",
            unchecked=list(selection.check),
        )
        return False
    return True


def walk(
    source: ConfigSource,
    workspace: Workspace,
    chain: Chain,
    selection: Selection,
    options: WalkOptions | None = None,
    *,
    invoke: Invoke | None = None,
) -> WalkResult:
    """Walk `selection` of `chain` on the workspace's database (one dialect)."""
    options = options or WalkOptions()
    dialect = urls.dialect_of(workspace.url)
    t0 = time.perf_counter()
    checks = [
        *roundtrip_checks(CheckOptions(root=options.root, data_probe=options.data_probe)),
        *options.extra_checks,
    ]
    runner = StepRunner(
        source, workspace.url, script=chain.script, invoke=invoke, setup=options.setup
    )
    w = WalkState(runner, workspace, dialect, checks, options.root, dict(chain.infos))
    checked: list[str] = []
    completed = False
    try:
        if not selection.skip or _fast_forward(w, selection, options.record_skipped):
            completed = _walk_range(w, selection, options.progress, checked)
    finally:
        runner.close()
    timings = dict(w.timings)
    timings[f"{dialect}.total"] = time.perf_counter() - t0
    return WalkResult(dialect, tuple(w.findings), timings, tuple(checked), w.snapshots, completed)


def _walk_range(
    w: WalkState, selection: Selection, progress: Progress | None, checked: list[str]
) -> bool:
    """Check each revision of the selection; False when an upgrade failed and stopped it."""
    check = selection.check
    for i, rev_id in enumerate(check, 1):
        if progress is not None:
            progress(w.dialect, i, len(check), rev_id)
        checked.append(rev_id)
        if check_revision(w, w.infos[rev_id]):
            continue
        if w.findings and w.findings[-1].check == "chain-load-failed":
            return False  # env.py: nothing ran, nothing to say per revision
        rest = [*check[i:], *selection.later]  # a shard's failure stops the later shards too
        if rest:
            w.note(
                "upgrade-failed",
                w.infos[rev_id],
                f"walk on {w.dialect} stopped at {rev_id}, which no way of applying reaches: "
                f"{len(rest)} later revision(s) not checked "
                f"({', '.join(rest[:5])}{'...' if len(rest) > 5 else ''})",
                severity="error",
                unchecked=rest,
            )
        return False
    return True
