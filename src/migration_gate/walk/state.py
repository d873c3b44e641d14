"""The state of one walk on one dialect: its runner, its database, what it found so far.

`WalkState` keeps the revisions applied so far (so that a fresh database can be brought to the
same point: `rebuild`), the findings, the time spent per kind of work, and the snapshot after
each upgrade. The last snapshot is kept while the database is still in that state, so the next
revision starts from it instead of reading the schema again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from migration_gate.chain.failures import step_finding
from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import StepFailed, StepRunner
from migration_gate.checks.base import RoundtripCheck, StepContext
from migration_gate.db.workspace import Workspace
from migration_gate.findings import Finding, Severity
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["WalkState"]

T = TypeVar("T")


@dataclass
class WalkState:
    runner: StepRunner
    workspace: Workspace
    dialect: str
    checks: Sequence[RoundtripCheck]
    root: Path | None
    infos: Mapping[str, RevisionInfo]
    applied: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    snapshots: dict[str, SchemaSnapshot] = field(default_factory=dict)
    #: the last snapshot, while the database is still in that state (saves one per revision)
    last: SchemaSnapshot | None = None
    #: revisions that only apply in one command with their predecessors (see `recover`)
    together: set[str] = field(default_factory=set)

    def timed(self, key: str, fn: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            k = f"{self.dialect}.{key}"
            self.timings[k] = self.timings.get(k, 0.0) + time.perf_counter() - t0

    def snapshot(self) -> SchemaSnapshot:
        return self.timed("snapshot", self.runner.snapshot)

    def step(self, rev: RevisionInfo, *, rebuilt: bool = False) -> StepContext:
        return StepContext(self.runner, rev, self.dialect, self.root, rebuilt=rebuilt)

    def run_hook(self, call: Callable[[RoundtripCheck], list[Finding]]) -> None:
        """Call one hook of every check; their findings join the walk's."""
        for check in self.checks:
            self.findings.extend(self.timed("hooks", partial(call, check)))

    def populated_tables(self) -> tuple[str, ...]:
        return tuple(t for check in self.checks for t in check.populated_tables())

    def failed(
        self,
        check: str,
        rev: RevisionInfo,
        exc: StepFailed,
        what: str,
        hint: str,
        *,
        severity: Severity = "error",
        **details: Any,
    ) -> None:
        """A step that raised: `what` failed on this dialect, with the database's error."""
        self.findings.append(
            step_finding(
                exc,
                rev,
                check=check,
                dialect=self.dialect,
                root=self.root,
                what=what,
                hint=hint,
                severity=severity,
                **details,
            )
        )

    def note(
        self, check: str, rev: RevisionInfo, message: str, *, severity: Severity, **details: Any
    ) -> None:
        """A finding of the walk itself about `rev` (where it stopped, what it skipped)."""
        self.findings.append(
            self.step(rev).finding(
                check, message, line=rev.upgrade_line, severity=severity, **details
            )
        )

    def rebuild(self, revisions: Sequence[str] | None = None) -> None:
        """A fresh database at exactly `revisions` (default: those applied so far), brought
        there as a deploy that succeeded would: each revision as its own step, except that
        those which only apply together with their predecessors are applied in one command
        with all of them."""
        revisions = list(self.applied if revisions is None else revisions)
        self.last = None
        url = self.timed("rebuild", self.workspace.fresh)
        self.runner.reconnect(url)
        cut = max((i + 1 for i, r in enumerate(revisions) if r in self.together), default=0)
        self.timed("rebuild", lambda: self.runner.upgrade_together(revisions[:cut]))
        self.timed("rebuild", lambda: self.runner.upgrade_many(revisions[cut:]))
