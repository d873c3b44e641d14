"""The roundtrip checks, one small module each, registered once here.

The walk (`walk.run`) calls `roundtrip_checks` for fresh instances when a walk starts (checks
keep state along one walk) and runs their hooks (`checks.base.RoundtripCheck`); after the
walks of every dialect, `cross_dialect_findings` runs the checks that compare them. The walk
imports no check by name.

Adding a roundtrip check: write ``checks/<name>.py`` with a `RoundtripCheck` subclass, add one
line to `ROUNDTRIP` below, give it a broken and a clean fixture chain under
tests/fixtures/chains/, and break it once on purpose to watch a test go red.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.checks import (
    divergence,
    fk_types,
    index_details,
    missing_downgrade,
    reupgrade,
    trace,
)
from migration_gate.checks.base import CheckOptions, RoundtripCheck, WalkSnapshots
from migration_gate.checks.probe.hook import DATA_LOSS, DataProbe
from migration_gate.findings import Finding

__all__ = [
    "CROSS_DIALECT",
    "ROUNDTRIP",
    "CheckOptions",
    "CrossDialect",
    "Registered",
    "RoundtripCheck",
    "cross_dialect_findings",
    "roundtrip_checks",
]


@dataclass(frozen=True)
class Registered:
    """A roundtrip check: its id, what it finds, and how to make one for a walk (or None
    when the options turn it off)."""

    id: str
    summary: str
    make: Callable[[CheckOptions], RoundtripCheck | None]


@dataclass(frozen=True)
class CrossDialect:
    """A check over the walks of several dialects (each walked to its end)."""

    id: str
    summary: str
    run: Callable[[WalkSnapshots, Mapping[str, RevisionInfo], Path | None], list[Finding]]


ROUNDTRIP: tuple[Registered, ...] = (
    Registered(
        missing_downgrade.ID,
        "empty downgrade() without an irreversible declaration",
        lambda o: missing_downgrade.MissingDowngrade(),
    ),
    Registered(
        trace.ID, "schema after downgrade differs from before upgrade", lambda o: trace.Trace()
    ),
    Registered(
        reupgrade.ID, "upgrading again gives another schema", lambda o: reupgrade.Reupgrade()
    ),
    Registered(
        index_details.ID,
        "an index detail (DESC, COLLATE, WHERE, an expression) lost by a SQLite batch rebuild",
        lambda o: index_details.IndexDetails(),
    ),
    Registered(
        fk_types.CHECK,
        "foreign key column of another type family than the key it references",
        lambda o: fk_types.FkTypeCheck(),
    ),
    Registered(
        DATA_LOSS,
        "rows or values the upgrade lost (synthetic probe rows)",
        lambda o: DataProbe(root=o.root) if o.data_probe else None,
    ),
)

CROSS_DIALECT: tuple[CrossDialect, ...] = (
    CrossDialect(
        divergence.CHECK,
        "the head schemas of SQLite and PostgreSQL differ",
        lambda walks, infos, root: divergence.check_walks(walks, infos, root=root),
    ),
)


def roundtrip_checks(options: CheckOptions) -> list[RoundtripCheck]:
    """Fresh instances of every registered check the options leave on."""
    return [c for r in ROUNDTRIP if (c := r.make(options)) is not None]


def cross_dialect_findings(
    walks: WalkSnapshots, infos: Mapping[str, RevisionInfo], root: Path | None
) -> list[Finding]:
    return [f for check in CROSS_DIALECT for f in check.run(walks, infos, root)]
