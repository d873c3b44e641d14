"""The one finding for a step that raised: which revision, where, and the database's error.

Every command that runs revisions (roundtrip, lint, lock, check-models, deploy) reports a
failed step through `step_finding`, so the shape, the line and the wording agree. A failure
of env.py itself, before any revision ran (`EnvFailed`), is not blamed on a revision: it is a
`chain-load-failed` error naming env.py and its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import EnvFailed, StepFailed
from migration_gate.chain.script import CHAIN_LOAD_FAILED
from migration_gate.findings import Finding, Severity

__all__ = ["env_finding", "step_finding"]


def _rel(path: Path, root: Path | None) -> str:
    try:
        return path.resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def env_finding(exc: EnvFailed, dialect: str, root: Path | None) -> Finding:
    """env.py raised before Alembic ran a revision: nothing of the chain could be checked."""
    return Finding(
        check=CHAIN_LOAD_FAILED,
        severity="error",
        dialect=dialect,
        file=_rel(exc.path, root),
        line=exc.line,
        message=f"env.py raised on {dialect} before any revision ran: {exc.cause}",
        details={
            "error": exc.cause,
            "hint": "fix env.py (it runs with the database URL in sqlalchemy.url and the "
            "connection in config.attributes['connection'])",
        },
    )


def step_finding(
    exc: StepFailed,
    info: RevisionInfo,
    *,
    check: str,
    dialect: str,
    root: Path | None,
    what: str,
    hint: str,
    severity: Severity = "error",
    **details: Any,
) -> Finding:
    """`what` ("upgrade of 0004 failed") on `dialect`, with the database's own error."""
    if isinstance(exc, EnvFailed):
        return env_finding(exc, dialect, root)
    line = exc.line or (info.downgrade_line if exc.direction == "downgrade" else info.upgrade_line)
    return Finding(
        check=check,
        severity=severity,
        revision=info.revision,
        dialect=dialect,
        file=info.rel_path(root),
        line=line,
        message=f"{what} on {dialect}: {exc.cause}",
        details={"error": exc.cause, "error_code": exc.code, "hint": hint, **details},
    )
