"""The roundtrip walk: every revision up, down and up again, compared snapshot by snapshot.

For each revision in topological order, on one dialect: snapshot, upgrade, snapshot,
downgrade, snapshot (must equal the first: `downgrade-leaves-trace`), upgrade again,
snapshot (must equal the second: `reupgrade-differs`). A failed downgrade or re-upgrade, or
a trace, does not end the walk: the database is rebuilt at that revision and the walk goes
on, so one run reports every defect. Only a failed upgrade stops the walk of that dialect;
one that failed with the data probe's rows in the tables is tried again on a fresh database
without them, and when it passes there the walk goes on from that database.

Checks that look at one revision's before/after state plug in as `RevisionHook`s; the walk
itself only knows about schemas. Two are built in: `fk-type-mismatch` (always) and the data
probe (unless `WalkOptions.data_probe` is false). The snapshot after each upgrade is kept in
`report.extras[f"{dialect}.snapshots"]` (and the last one, when the walk reached the end, in
`f"{dialect}.head_snapshot"`) for checks across dialects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from alembic.config import Config
from alembic.script import ScriptDirectory

from migration_gate.chain.graph import graph_findings, walk_order
from migration_gate.chain.revisions import RevisionInfo, load_chain
from migration_gate.chain.runner import (
    Invoke,
    StepFailed,
    StepRunner,
    load_script,
    revision_map_error,
)
from migration_gate.db import urls
from migration_gate.db.workspace import Workspace, workspace_for_url
from migration_gate.findings import Finding, Report
from migration_gate.snapshot import SchemaSnapshot, diff

__all__ = ["Progress", "RevisionHook", "WalkOptions", "roundtrip", "walk"]

T = TypeVar("T")

#: called before each revision: (dialect, position from 1, total, revision)
Progress = Callable[[str, int, int, str], None]


class RevisionHook(Protocol):
    """A check that runs around each upgrade of the walk (e.g. the data probe)."""

    def before_upgrade(
        self, runner: StepRunner, rev: RevisionInfo, before: SchemaSnapshot
    ) -> list[Finding]: ...

    def after_upgrade(
        self, runner: StepRunner, rev: RevisionInfo, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Finding]: ...


@runtime_checkable
class FastForwardListener(Protocol):
    """A hook that keeps state along the chain and must hear when a walk starts mid-chain
    (a shard, `--from`): `snapshot` is the schema before the last revision applied
    without checks."""

    def fast_forwarded(self, snapshot: SchemaSnapshot) -> None: ...


@dataclass(frozen=True)
class WalkOptions:
    """Which part of the chain to check, and how."""

    #: check from this revision on (earlier ones are applied without checks)
    start: str | None = None
    #: check up to and including this revision
    end: str | None = None
    #: (index from 1, count): check only this contiguous share of the revisions
    shard: tuple[int, int] | None = None
    hooks: Sequence[RevisionHook] = ()
    progress: Progress | None = None
    root: Path | None = None
    #: fill empty tables before each upgrade and report lost rows (`data-loss`)
    data_probe: bool = True
    #: snapshot after each revision applied without checks too (for dialect-divergence)
    record_skipped: bool = False


@dataclass
class _Walk:
    runner: StepRunner
    workspace: Workspace
    dialect: str
    infos: dict[str, RevisionInfo]
    root: Path | None
    applied: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    snapshots: dict[str, SchemaSnapshot] = field(default_factory=dict)
    #: the last snapshot, while the database is still in that state (saves one per revision)
    last: SchemaSnapshot | None = None

    def timed(self, key: str, fn: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            k = f"{self.dialect}.{key}"
            self.timings[k] = self.timings.get(k, 0.0) + time.perf_counter() - t0

    def snapshot(self) -> SchemaSnapshot:
        return self.timed("snapshot", self.runner.snapshot)

    def finding(
        self,
        check: str,
        rev: RevisionInfo,
        message: str,
        *,
        line: int | None = None,
        severity: str = "error",
        **details: Any,
    ) -> None:
        self.findings.append(
            Finding(
                check=check,
                severity=severity,  # type: ignore[arg-type]
                revision=rev.revision,
                dialect=self.dialect,
                file=rev.rel_path(self.root),
                line=line,
                message=message,
                details=details,
            )
        )

    def step_failed(
        self, check: str, rev: RevisionInfo, exc: StepFailed, what: str, hint: str
    ) -> None:
        """A step that raised: `what` failed on this dialect, with the database's error."""
        line = exc.line or (
            rev.downgrade_line if exc.direction == "downgrade" else rev.upgrade_line
        )
        self.finding(
            check,
            rev,
            f"{what} on {self.dialect}: {exc.cause}",
            line=line,
            error=exc.cause,
            hint=hint,
        )

    def rebuild(self) -> None:
        """A fresh database at exactly the revisions applied so far."""
        self.last = None
        url = self.timed("rebuild", self.workspace.fresh)
        self.runner.reconnect(url)
        self.timed("rebuild", lambda: self.runner.upgrade_many(self.applied))


def _label(rev: RevisionInfo) -> str:
    return f"{rev.revision} ({rev.doc})" if rev.doc else rev.revision


def _check_revision(w: _Walk, rev: RevisionInfo, hooks: Sequence[RevisionHook]) -> bool:
    """Up, down, up one revision. False when the upgrade failed (the walk must stop)."""
    before = w.last if w.last is not None else w.snapshot()
    w.last = None
    for hook in hooks:
        w.findings.extend(w.timed("hooks", partial(hook.before_upgrade, w.runner, rev, before)))
    try:
        w.timed("upgrade", lambda: w.runner.upgrade(rev.revision))
    except StepFailed as exc:
        populated = _populated(hooks)
        outcome = _upgrade_on_empty_tables(w, rev) if populated else exc
        if isinstance(outcome, StepFailed):
            hint = "fix the migration; the database refused it (earlier revisions are fine)"
            if populated:
                hint = "fix the migration; the database refuses it on empty tables too"
            w.step_failed("upgrade-failed", rev, outcome, f"upgrade of {_label(rev)} failed", hint)
            return False
        _failed_on_rows(w, rev, exc, populated)
        before = outcome
    w.applied.append(rev.revision)
    after = w.snapshot()
    w.snapshots[rev.revision] = after
    for hook in hooks:
        w.findings.extend(
            w.timed("hooks", partial(hook.after_upgrade, w.runner, rev, before, after))
        )

    if rev.downgrade_empty and not rev.upgrade_empty:
        if "irreversible" not in rev.gate:
            w.finding(
                "missing-downgrade",
                rev,
                f"{_label(rev)} has an empty downgrade() and does not declare it irreversible",
                line=rev.downgrade_line,
                hint='write downgrade(), or declare gate = {"irreversible": "why"} in the module',
            )
        w.last = after
        return True

    try:
        w.timed("downgrade", lambda: w.runner.downgrade(rev.revision))
    except StepFailed as exc:
        w.step_failed(
            "downgrade-failed",
            rev,
            exc,
            f"downgrade of {_label(rev)} failed",
            "fix downgrade() so that it undoes exactly what upgrade() did",
        )
        w.rebuild()
        return True
    down = w.snapshot()
    trace = diff(before, down)
    if trace:
        sentences = trace.sentences(
            added="left behind by the downgrade", removed="missing after the downgrade"
        )
        w.finding(
            "downgrade-leaves-trace",
            rev,
            f"downgrade of {_label(rev)} does not restore the schema on {w.dialect}: "
            + "; ".join(sentences),
            line=rev.downgrade_line,
            diff=sentences,
            changes=trace.to_list(),
            hint="make downgrade() undo every object upgrade() created or changed",
        )
    try:
        w.timed("upgrade", lambda: w.runner.upgrade(rev.revision))
    except StepFailed as exc:
        w.step_failed(
            "reupgrade-failed",
            rev,
            exc,
            f"upgrade of {_label(rev)} fails after its own downgrade",
            "the downgrade left something the upgrade trips over; see downgrade-leaves-trace",
        )
        w.rebuild()
        return True
    again = w.snapshot()
    differs = diff(after, again)
    if differs:
        sentences = differs.sentences(
            added="extra after re-upgrade", removed="missing after re-upgrade"
        )
        w.finding(
            "reupgrade-differs",
            rev,
            f"upgrade of {_label(rev)} after its downgrade gives a different schema on "
            f"{w.dialect}: " + "; ".join(sentences),
            line=rev.upgrade_line,
            diff=sentences,
            changes=differs.to_list(),
            hint="upgrade() must not depend on leftovers; make downgrade() complete",
        )
    if trace or differs:
        w.rebuild()
    else:
        w.last = again
    return True


#: errors that any row raises, whatever its values (a NOT NULL column left without one):
#: PostgreSQL's not_null_violation, SQLite's constraint on a copied row (batch mode), and
#: SQLite's refusal to ADD COLUMN ... NOT NULL without a default to a table that has rows
#: (a generic SQLITE_ERROR; SQLite's messages are not translated)
_ANY_ROW = frozenset({"23502", "SQLITE_CONSTRAINT_NOTNULL"})
_ANY_ROW_TEXT = "Cannot add a NOT NULL column"


def _upgrade_on_empty_tables(w: _Walk, rev: RevisionInfo) -> SchemaSnapshot | StepFailed:
    """After an upgrade failed with the probe's rows in the tables: the same upgrade on a
    fresh database at the same revisions, without them. The snapshot before it when it
    passed (the walk goes on from there), its failure when it failed on empty tables too."""
    w.rebuild()
    before = w.snapshot()
    try:
        w.timed("upgrade", lambda: w.runner.upgrade(rev.revision))
    except StepFailed as exc:
        return exc
    return before


def _failed_on_rows(
    w: _Walk, rev: RevisionInfo, exc: StepFailed, populated: tuple[str, ...]
) -> None:
    """The upgrade failed with rows in the tables and passed without them. An error when
    any row fails it (production has rows); a warning when it failed on the values the
    probe made up, which real rows may not hold (text that is not an enum label, say)."""
    tables = ", ".join(populated[:6]) + (", ..." if len(populated) > 6 else "")
    if exc.code in _ANY_ROW or _ANY_ROW_TEXT in (exc.cause or ""):
        severity = "error"
        how = f"when the tables hold rows ({tables}) and passes only on empty ones"
        hint = (
            "a database with rows will refuse it: give the new NOT NULL column a server "
            "default, or add it nullable, fill it, then set NOT NULL"
        )
    else:
        severity = "warning"
        how = f"on the data probe's synthetic rows ({tables}) and passes on empty tables"
        hint = (
            "the probe's made-up values are not ones this migration accepts; make sure every "
            "value a real row can hold converts (map the others in the migration), or run "
            "with --no-data to check the schema alone"
        )
    w.finding(
        "upgrade-failed",
        rev,
        f"upgrade of {_label(rev)} fails on {w.dialect} {how}: {exc.cause}",
        line=exc.line or rev.upgrade_line,
        severity=severity,
        hint=hint,
        error=exc.cause,
        error_code=exc.code,
        populated_tables=list(populated),
        passes_on_empty_tables=True,
    )


def _fast_forward(
    w: _Walk,
    skip: list[str],
    check: list[str],
    hooks: Sequence[RevisionHook],
    *,
    record: bool = False,
) -> bool:
    """Apply the revisions before the range to check, without checks (`record`: with a
    snapshot after each, for checks that compare along the whole chain). Hooks that keep
    state along the chain hear of the state before the last of them (`fast_forwarded`):
    what they would have noted up to there belongs to the walk that checks those revisions.
    False when one of them fails: the walk (shard) that checks it reports it."""
    listeners = [h for h in hooks if isinstance(h, FastForwardListener)]

    def apply(revs: list[str]) -> None:
        for rev in revs:
            w.timed("fast-forward", partial(w.runner.upgrade_many, [rev]))
            if record:
                w.snapshots[rev] = w.last = w.timed("fast-forward", w.runner.snapshot)

    try:
        apply(skip[:-1])
        if listeners:
            start = w.last if w.last is not None else w.timed("fast-forward", w.runner.snapshot)
            for hook in listeners:
                hook.fast_forwarded(start)
        w.last = None
        apply(skip[-1:])
    except StepFailed as exc:
        w.last = None
        rev = w.infos[exc.revision or skip[0]]
        w.finding(
            "upgrade-failed",
            rev,
            f"walk on {w.dialect} did not reach {check[0] if check else 'its range'}: "
            f"{exc.revision} failed before it ({exc.cause}); the walk checking {exc.revision} "
            "reports it",
            severity="info",
            line=rev.upgrade_line,
            unchecked=check,
        )
        return False
    w.applied.extend(skip)
    return True


def _populated(hooks: Sequence[RevisionHook]) -> tuple[str, ...]:
    from migration_gate.checks.probe import DataProbe

    return tuple(t for h in hooks if isinstance(h, DataProbe) for t in h.populated_tables)


def _hooks(options: WalkOptions) -> list[RevisionHook]:
    """Fresh built-in hooks for one walk (they keep state per walk), then the caller's."""
    from migration_gate.checks.fk_types import FkTypeCheck
    from migration_gate.checks.probe import DataProbe

    hooks: list[RevisionHook] = [FkTypeCheck(root=options.root)]
    if options.data_probe:
        hooks.append(DataProbe(root=options.root))
    return [*hooks, *options.hooks]


def _select(order: list[str], options: WalkOptions) -> tuple[list[str], list[str], list[str]]:
    """(revisions applied without checks first, revisions to check, revisions of the
    requested range after those: the later shards')."""
    lo, hi = 0, len(order)
    if options.start is not None:
        lo = order.index(options.start)
    if options.end is not None:
        hi = order.index(options.end) + 1
    end = hi
    if options.shard is not None:
        index, count = options.shard
        n = hi - lo
        lo, hi = lo + (n * (index - 1)) // count, lo + (n * index) // count
    return order[:lo], order[lo:hi], order[hi:end]


def walk(
    config: Config,
    workspace: Workspace,
    options: WalkOptions | None = None,
    *,
    invoke: Invoke | None = None,
    chain: tuple[ScriptDirectory, list[RevisionInfo]] | None = None,
) -> Report:
    """Walk the chain on the workspace's database (one dialect). No graph checks.

    `chain`: the script directory of `config` and its revisions, when the caller already
    loaded them (reading a long chain twice costs more than its first revisions' checks)."""
    options = options or WalkOptions()
    report = Report("roundtrip")
    dialect = urls.dialect_of(workspace.url)
    script = chain[0] if chain is not None else load_script(config)
    broken = revision_map_error(script)
    if broken:
        report.add(
            Finding(
                check="broken-down-revision",
                severity="info",
                dialect=dialect,
                message=f"roundtrip skipped on {dialect}: Alembic cannot load the chain ({broken}); "
                "fix the revision graph first",
            )
        )
        return report
    revs = chain[1] if chain is not None else load_chain(script)
    infos = {r.revision: r for r in revs}
    order = walk_order(revs)
    skip, check, later = _select(order, options)
    t0 = time.perf_counter()
    runner = StepRunner(config, workspace.url, script=script, invoke=invoke)
    w = _Walk(runner=runner, workspace=workspace, dialect=dialect, infos=infos, root=options.root)
    hooks = _hooks(options)
    completed = False
    try:
        if skip and not _fast_forward(w, skip, check, hooks, record=options.record_skipped):
            check = []
        for i, rev_id in enumerate(check, 1):
            if options.progress:
                options.progress(dialect, i, len(check), rev_id)
            if not _check_revision(w, infos[rev_id], hooks):
                rest = check[i:] + later  # a shard's failure stops the later shards too
                if rest:
                    w.finding(
                        "upgrade-failed",
                        infos[rev_id],
                        f"walk on {dialect} stopped at {rev_id}: {len(rest)} later revision(s) "
                        f"not checked ({', '.join(rest[:5])}{'...' if len(rest) > 5 else ''})",
                        severity="info",
                        line=infos[rev_id].upgrade_line,
                        unchecked=rest,
                    )
                break
        else:
            completed = True
    finally:
        runner.close()
    report.extend(w.findings)
    report.timings.update(w.timings)
    report.timings[f"{dialect}.total"] = time.perf_counter() - t0
    report.extras[f"{dialect}.checked"] = check
    report.extras[f"{dialect}.snapshots"] = w.snapshots
    if completed and check and check[-1] in w.snapshots:
        report.extras[f"{dialect}.head_snapshot"] = w.snapshots[check[-1]]
    return report


def roundtrip(
    config: Config, url: str, invoke: Invoke | None = None, *, options: WalkOptions | None = None
) -> Report:
    """Graph checks, then the up/down/up walk of every revision on the database at `url`.

    `url` names an empty database to work in (SQLite file or PostgreSQL, sync or async
    driver); it decides the dialect. The database is reset when a rebuild is needed.
    `invoke`, when given, wraps each Alembic command the tool runs.
    """
    options = options or WalkOptions()
    script = load_script(config)
    revs = load_chain(script)
    report = Report("roundtrip")
    if options.shard is None or options.shard[0] == 1:  # chain-level: the first shard's
        report.extend(graph_findings(revs, options.root))
    with workspace_for_url(url) as ws:
        ws.ensure_empty()
        walked = walk(config, ws, options, invoke=invoke, chain=(script, revs))
    report.extend(walked.findings)
    report.timings.update(walked.timings)
    report.extras.update(walked.extras)
    return report
