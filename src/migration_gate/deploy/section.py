"""What a deploy (or a drift check) reports besides its findings: typed, serializable values.

`DeploySection` is the `Report.deploy` field: the environment, the database (masked), the
revisions before and after, the plan (`PlannedRevision`: what was pending), what each
revision did and how long it took (`AppliedRevision`), the rows written to the ledger
(`LedgerRow`, also what `ledger.py` reads back), and where the backup went. Every report
format renders it; `to_dict` / `from_dict` round-trip it through the JSON report. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["AppliedRevision", "DeploySection", "LedgerRow", "PlannedRevision", "Status"]

#: what became of a planned revision
Status = Literal["applied", "failed", "not-run", "planned"]


@dataclass(frozen=True)
class PlannedRevision:
    """A pending revision: what will run, from which file, declared how."""

    revision: str
    file: str
    checksum: str
    doc: str = ""
    #: the reason of its ``gate = {"destructive": ...}``, when it declares one
    destructive: str | None = None
    #: it runs statements outside its transaction (``autocommit_block``)
    autocommit: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedRevision:
        return cls(
            revision=str(data["revision"]),
            file=str(data["file"]),
            checksum=str(data["checksum"]),
            doc=str(data.get("doc") or ""),
            destructive=data.get("destructive"),
            autocommit=bool(data.get("autocommit", False)),
        )


@dataclass(frozen=True)
class AppliedRevision:
    """What became of one planned revision in this run."""

    revision: str
    status: Status
    #: wall time of its last attempt (0 when it did not run)
    seconds: float = 0.0
    attempts: int = 0
    #: the database's error of the last attempt (masked), when it failed
    error: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppliedRevision:
        return cls(
            revision=str(data["revision"]),
            status=data["status"],
            seconds=float(data.get("seconds", 0.0)),
            attempts=int(data.get("attempts", 0)),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class LedgerRow:
    """One row of ``migration_gate_ledger``: a revision applied (or failed) on a database."""

    revision: str
    checksum: str | None
    #: "upgrade"
    direction: str
    #: "applied" or "failed"
    status: str
    #: ISO 8601, UTC
    started_at: str
    #: seconds
    duration: float
    deployed_by: str
    tool_version: str
    environment: str | None = None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerRow:
        return cls(
            revision=str(data["revision"]),
            checksum=data.get("checksum"),
            direction=str(data["direction"]),
            status=str(data["status"]),
            started_at=str(data["started_at"]),
            duration=float(data.get("duration") or 0.0),
            deployed_by=str(data.get("deployed_by") or ""),
            tool_version=str(data.get("tool_version") or ""),
            environment=data.get("environment"),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class DeploySection:
    """The deploy part of a report: where, from which revision to which, and how."""

    environment: str
    #: the database URL, password masked
    database: str
    #: the revision(s) the database was at when the run started ([] = none)
    before: tuple[str, ...] = ()
    #: ... and when it ended
    after: tuple[str, ...] = ()
    #: the chain's head(s)
    head: tuple[str, ...] = ()
    dry_run: bool = False
    #: pending revisions, in the order they run
    plan: tuple[PlannedRevision, ...] = ()
    applied: tuple[AppliedRevision, ...] = ()
    #: rows this run wrote to the ledger
    ledger: tuple[LedgerRow, ...] = ()
    #: where the backup taken before applying is (None: no backup)
    backup: str | None = None
    #: how the expected schema was known: "lock file", "scratch database", or "" (not needed)
    expected_from: str = ""
    #: the drift check was overridden (--allow-drift)
    allow_drift: bool = False
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("before", "after", "head", "notes"):
            out[key] = list(out[key])
        out["plan"] = [asdict(p) for p in self.plan]
        out["applied"] = [asdict(a) for a in self.applied]
        out["ledger"] = [asdict(r) for r in self.ledger]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeploySection:
        return cls(
            environment=str(data["environment"]),
            database=str(data["database"]),
            before=tuple(str(r) for r in data.get("before", ())),
            after=tuple(str(r) for r in data.get("after", ())),
            head=tuple(str(r) for r in data.get("head", ())),
            dry_run=bool(data.get("dry_run", False)),
            plan=tuple(PlannedRevision.from_dict(p) for p in data.get("plan", ())),
            applied=tuple(AppliedRevision.from_dict(a) for a in data.get("applied", ())),
            ledger=tuple(LedgerRow.from_dict(r) for r in data.get("ledger", ())),
            backup=data.get("backup"),
            expected_from=str(data.get("expected_from") or ""),
            allow_drift=bool(data.get("allow_drift", False)),
            notes=tuple(str(n) for n in data.get("notes", ())),
        )
