"""Deploy migrations so that they can never fail silently: locked, pre-flighted, ledgered.

The stages, one module each, in the order a deploy runs them: `lock` (serialize deployers),
`live` (read the database), `files` and `plan` (what is pending), `preflight` with
`expected` (ledger and schema against the files), `dryrun` (the SQL, on a scratch
database), `backup`, `apply` with `hooks` (one transaction and one `ledger` row per
revision), and `run` (with `runstate`, the state a run shares and its pre-flight), which
strings them together for `deploy` and `drift`. For
applications: `upgrade_or_raise(config, url)` here and `migration_gate.readiness(config,
url)` (both in `readiness.py`). Imports are lazy: report renderers import `section` without
loading the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migration_gate.deploy.readiness import DeployFailed, upgrade_or_raise

__all__ = ["DeployFailed", "upgrade_or_raise"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("migration_gate.deploy.readiness"), name)
    raise AttributeError(f"module 'migration_gate.deploy' has no attribute {name!r}")
