"""Findings and reports: the values every check produces and every output format renders.

A `Finding` is one thing a check found, in the shape DESIGN.md fixes for JSON. A `Report`
gathers the findings and timings of one command; `ok` is false when any finding is an error.
Findings are values: checks return them, they never raise them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from migration_gate.deploy.section import DeploySection

__all__ = ["SEVERITIES", "Finding", "Report", "Severity", "StepTiming"]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One thing a check found: which check, how bad, where, and what to do about it."""

    check: str
    severity: Severity
    message: str
    revision: str | None = None
    dialect: str | None = None
    file: str | None = None
    line: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "revision": self.revision,
            "dialect": self.dialect,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            check=data["check"],
            severity=data["severity"],
            message=data["message"],
            revision=data.get("revision"),
            dialect=data.get("dialect"),
            file=data.get("file"),
            line=data.get("line"),
            details=data.get("details") or {},
        )

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


@dataclass(frozen=True)
class StepTiming:
    """One revision a command applied to one database (a replayed snapshot), and how long
    it took; `lock_seconds` is the longest ACCESS EXCLUSIVE lock it held on a table that
    existed before it, when that was watched."""

    #: what it ran on: a snapshot file name (replay)
    target: str
    revision: str
    seconds: float
    #: "ok", "failed", or "not-run" (an earlier revision failed)
    status: str = "ok"
    lock_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "revision": self.revision,
            "seconds": self.seconds,
            "status": self.status,
            "lock_seconds": self.lock_seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepTiming:
        lock = data.get("lock_seconds")
        return cls(
            target=str(data["target"]),
            revision=str(data["revision"]),
            seconds=float(data["seconds"]),
            status=str(data.get("status", "ok")),
            lock_seconds=None if lock is None else float(lock),
        )


@dataclass
class Report:
    """The outcome of one command: findings, timings (seconds), and what it covered.

    Every field that a report format renders is typed here and survives `to_dict` /
    `from_dict`, so a report rebuilt from its JSON renders exactly as the original."""

    command: str
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: dialect -> the revisions a walk checked, in walk order (one passing JUnit case each)
    checked: dict[str, list[str]] = field(default_factory=dict)
    #: revision -> the SQL it runs on PostgreSQL (lint), in walk order
    sql: dict[str, str] = field(default_factory=dict)
    #: findings a migration silenced with a reason (lint's ``gate["allow"]``)
    silenced: list[dict[str, Any]] = field(default_factory=list)
    #: files the command wrote (the lock file), relative to the project root
    written: list[str] = field(default_factory=list)
    #: per-revision timings of the databases a command migrated (replay), in order
    steps: list[StepTiming] = field(default_factory=list)
    #: deploy / drift: the environment, the plan, per-revision timings, the ledger rows written
    deploy: DeploySection | None = None

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.is_error for f in self.findings)

    def add(self, *findings: Finding) -> None:
        self.findings.extend(findings)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def merge(self, other: Report) -> None:
        """Take the findings, timings and coverage of a part of this command (a dialect)."""
        self.findings.extend(other.findings)
        self.timings.update(other.timings)
        self.checked.update(other.checked)
        self.sql.update(other.sql)
        self.silenced.extend(other.silenced)
        self.written.extend(other.written)
        self.steps.extend(other.steps)
        if other.deploy is not None:
            self.deploy = other.deploy

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def to_dict(self) -> dict[str, Any]:
        """The JSON report shape of DESIGN.md, plus the sections a command filled."""
        out: dict[str, Any] = {
            "command": self.command,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            # exact: a report rebuilt from its JSON renders to the same digits
            "timings": dict(self.timings),
        }
        for name in ("checked", "sql", "silenced", "written"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.steps:
            out["steps"] = [s.to_dict() for s in self.steps]
        if self.deploy is not None:
            out["deploy"] = self.deploy.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        from migration_gate.deploy.section import DeploySection

        deploy = data.get("deploy")
        return cls(
            command=data["command"],
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            timings=dict(data.get("timings", {})),
            checked={str(k): [str(r) for r in v] for k, v in data.get("checked", {}).items()},
            sql={str(k): str(v) for k, v in data.get("sql", {}).items()},
            silenced=[dict(s) for s in data.get("silenced", [])],
            written=[str(w) for w in data.get("written", [])],
            steps=[StepTiming.from_dict(s) for s in data.get("steps", [])],
            deploy=DeploySection.from_dict(deploy) if deploy else None,
        )
