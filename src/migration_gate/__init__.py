"""migration-gate: a CI migration pipeline for Alembic + SQLAlchemy services.

The stable Python API (DESIGN.md): `roundtrip(config, url, invoke=None)` and
`check_models(config, url, ...)` return a `Report` of `Finding`s; `SchemaSnapshot` is the
core value they compare; `readiness(config, url)` says whether a database is at the head with
the head's schema (`migration_gate.deploy.upgrade_or_raise` migrates it, or raises). Imports are lazy so that `migration-gate --help` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migration_gate.deploy.readiness import readiness
    from migration_gate.errors import ConfigError, GateError, InfrastructureError
    from migration_gate.findings import Finding, Report
    from migration_gate.modelcheck.check import check_models
    from migration_gate.snapshot import SchemaSnapshot
    from migration_gate.walk.roundtrip import roundtrip

__all__ = [
    "ConfigError",
    "Finding",
    "GateError",
    "InfrastructureError",
    "Report",
    "SchemaSnapshot",
    "check_models",
    "readiness",
    "roundtrip",
]
__version__ = "0.1.0"

_LAZY = {
    "roundtrip": "migration_gate.walk.roundtrip",
    "check_models": "migration_gate.modelcheck.check",
    "Finding": "migration_gate.findings",
    "Report": "migration_gate.findings",
    "SchemaSnapshot": "migration_gate.snapshot",
    "ConfigError": "migration_gate.errors",
    "GateError": "migration_gate.errors",
    "InfrastructureError": "migration_gate.errors",
    "readiness": "migration_gate.deploy.readiness",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'migration_gate' has no attribute {name!r}")
