"""Upgrade a chain one revision at a time, recording what each revision did.

Lint and the lock file both need, per revision, the schema before and after it (and, for lint,
the SQL it sent) without the roundtrip's downgrades. `walk_up` applies every revision in walk
order on one database with a `StepRunner`, each as its own step; for the revisions it is told
to observe it keeps the snapshots around the step and, when asked, the statements captured
during it. A failed upgrade ends the walk: later revisions depend on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory

from migration_gate.chain.failures import step_finding
from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import StepFailed, StepRunner
from migration_gate.chain.script import Invoke
from migration_gate.chain.sql_capture import CapturedStatement, SqlCapture
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import urls
from migration_gate.findings import Finding
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["Step", "UpWalk", "walk_up"]


@dataclass(frozen=True)
class Step:
    """What one observed revision did on one dialect."""

    revision: str
    before: SchemaSnapshot
    after: SchemaSnapshot
    statements: tuple[CapturedStatement, ...] = ()


@dataclass
class UpWalk:
    """The outcome of one walk on one dialect."""

    dialect: str
    steps: dict[str, Step] = field(default_factory=dict)
    #: the failed step, if any (the walk stopped there)
    failure: StepFailed | None = None
    #: revisions not applied because an earlier one failed
    not_run: list[str] = field(default_factory=list)
    #: env.py's target_metadata (the models), when it sets one
    target_metadata: Any = None
    #: e.g. "18.0" on PostgreSQL
    server_version: str | None = None

    def failure_finding(
        self, infos: Mapping[str, RevisionInfo], root: Path | None, hint: str
    ) -> Finding | None:
        """The `upgrade-failed` error of the step that stopped the walk, if one did."""
        exc = self.failure
        info = infos.get(exc.revision or "") if exc is not None else None
        if exc is None or info is None:
            return None
        rest = f" ({len(self.not_run)} later revision(s) not run)" if self.not_run else ""
        return step_finding(
            exc,
            info,
            check="upgrade-failed",
            dialect=self.dialect,
            root=root,
            what=f"upgrade of {info.label()} failed{rest}",
            hint=hint,
            unchecked=list(self.not_run),
        )


def walk_up(
    config: Config | ConfigSource,
    url: str,
    order: Sequence[str],
    infos: Mapping[str, RevisionInfo],
    *,
    observe: Collection[str] | None = None,
    capture_sql: bool = False,
    script: ScriptDirectory | None = None,
    invoke: Invoke | None = None,
    setup: Setup | None = None,
) -> UpWalk:
    """Apply `order` on the empty database at `url`; observe `observe` (default: all)."""
    watched = set(order if observe is None else observe)
    result = UpWalk(dialect=urls.dialect_of(url))
    runner = StepRunner(config, url, script=script, invoke=invoke, setup=setup)
    last: SchemaSnapshot | None = None
    try:
        info = runner.conn.dialect.server_version_info
        result.server_version = ".".join(str(p) for p in info[:2]) if info else None
        capture = SqlCapture() if capture_sql else None
        with capture if capture is not None else contextlib.nullcontext():
            for i, rev in enumerate(order):
                rest = order[i + 1 :]
                if rev not in watched:
                    last = None
                    if not _apply(runner, rev, result, rest):
                        break
                    continue
                before = last if last is not None else runner.snapshot()
                statements: tuple[CapturedStatement, ...] = ()
                if capture is not None:
                    with capture.window(infos[rev].path):
                        ok = _apply(runner, rev, result, rest)
                    statements = tuple(capture.take())
                else:
                    ok = _apply(runner, rev, result, rest)
                if not ok:
                    break
                last = runner.snapshot()
                result.steps[rev] = Step(rev, before, last, statements)
        result.target_metadata = runner.target_metadata
    finally:
        runner.close()
    return result


def _apply(runner: StepRunner, rev: str, result: UpWalk, rest: Sequence[str]) -> bool:
    try:
        runner.upgrade(rev)
    except StepFailed as exc:
        result.failure = exc
        result.not_run = list(rest)
        return False
    return True
