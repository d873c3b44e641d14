"""What a roundtrip check is: hooks the walk calls around each revision, and what they see.

The walk (`walk.run`) knows schemas and steps; everything it reports about a revision beyond
"this step failed" comes from a check. A check subclasses `RoundtripCheck` and overrides the
hooks it needs; each hook returns findings (values) and never decides what the walk does
next. A check that raises is a bug of migration-gate: the exception ends the run as an
internal error (exit 3), it never turns into a finding that reads like a skip.

Hooks, per revision of one walk: `before_upgrade` (the schema before), `after_upgrade` (before
and after), `after_roundtrip` (the four snapshots of up / down / up and their diffs, when the
revision has a downgrade). `fast_forwarded` tells a check that keeps state along the chain
that the walk started mid-chain (a shard, `--from`); `populated_tables` lets the walk ask
whether a check put rows in the database (the data probe) when an upgrade fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_gate.findings import Finding, Severity
from migration_gate.snapshot import SchemaDiff, SchemaSnapshot

if TYPE_CHECKING:
    from migration_gate.chain.revisions import RevisionInfo
    from migration_gate.chain.runner import StepRunner

__all__ = ["CheckOptions", "Roundtrip", "RoundtripCheck", "StepContext", "WalkSnapshots"]

#: dialect -> revision -> the schema after that revision's upgrade, for walks that ended
WalkSnapshots = Mapping[str, Mapping[str, SchemaSnapshot]]


@dataclass(frozen=True)
class CheckOptions:
    """What the registry's factories are told when a walk starts."""

    root: Path | None = None
    #: fill empty tables before each upgrade and report lost rows (`data-loss`)
    data_probe: bool = True


@dataclass(frozen=True)
class StepContext:
    """One revision of one walk, as a check sees it."""

    runner: StepRunner
    rev: RevisionInfo
    dialect: str
    root: Path | None = None
    #: the upgrade ran on a database made fresh after `before_upgrade` (the first attempt
    #: failed): what a check put in the database or noted before is not there any more
    rebuilt: bool = False

    def finding(
        self,
        check: str,
        message: str,
        *,
        line: int | None = None,
        severity: Severity = "error",
        **details: Any,
    ) -> Finding:
        """A finding about this revision on this dialect, in its file."""
        return Finding(
            check=check,
            severity=severity,
            message=message,
            revision=self.rev.revision,
            dialect=self.dialect,
            file=self.rev.rel_path(self.root),
            line=line,
            details=details,
        )


@dataclass(frozen=True)
class Roundtrip:
    """Up, down and up again of one revision: the four schemas and what differs."""

    before: SchemaSnapshot
    after: SchemaSnapshot
    #: after the downgrade
    down: SchemaSnapshot
    #: after the upgrade that followed the downgrade (None: that upgrade failed)
    again: SchemaSnapshot | None
    #: `before` → `down`: what the downgrade left behind or took away
    trace: SchemaDiff
    #: `after` → `again`: what the second upgrade did differently (empty without `again`)
    differs: SchemaDiff


class RoundtripCheck:
    """Base of the roundtrip checks: every hook does nothing until a check overrides it."""

    def before_upgrade(self, step: StepContext, before: SchemaSnapshot) -> list[Finding]:
        return []

    def after_upgrade(
        self, step: StepContext, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Finding]:
        return []

    def after_roundtrip(self, step: StepContext, states: Roundtrip) -> list[Finding]:
        return []

    def fast_forwarded(self, snapshot: SchemaSnapshot) -> None:
        """The walk applied the revisions before its range without checks; `snapshot` is the
        schema before the last of them."""

    def populated_tables(self) -> tuple[str, ...]:
        """Tables this check filled with rows of its own (they may make an upgrade fail)."""
        return ()
