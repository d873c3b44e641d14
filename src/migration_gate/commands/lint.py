"""lint: rules on each migration's source, its schemas and the SQL it runs on PostgreSQL."""

from __future__ import annotations

import contextlib

from migration_gate.commands._common import dialects, scratch
from migration_gate.config.settings import Settings
from migration_gate.findings import Report

__all__ = ["lint"]


def lint(settings: Settings, *, dialect: str = "all", base: str | None = None) -> Report:
    """Lint each migration's source, its schemas and the SQL it runs on PostgreSQL.

    Rules: destructive operations, missing downgrades, FK types, enum names, locks (Squawk);
    with `base` (a git ref), only the revisions the branch adds are linted."""
    from migration_gate.lint.run import lint_chain

    with contextlib.ExitStack() as stack:
        databases = {
            d: stack.enter_context(scratch(settings, d, f"lint_{d}")).url for d in dialects(dialect)
        }
        return lint_chain(settings, databases, base=base)
