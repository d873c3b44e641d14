"""lock: write the lock file of released migrations, or check the migrations against it."""

from __future__ import annotations

from migration_gate.commands._common import dialects, providers
from migration_gate.config.settings import Settings
from migration_gate.findings import Report

__all__ = ["lock"]


def lock(
    settings: Settings,
    *,
    check: bool = False,
    base_ref: str | None = None,
    schemas: bool = False,
    dialect: str = "all",
) -> Report:
    """Write the lock file of released migrations, or check the migrations against it.

    The lock holds each revision's checksum and schema hashes; `check` fails on edited or
    unlocked revisions (and on revisions changed since they were released on `base_ref`)."""
    from migration_gate.lock import locking

    if not check:
        with providers(settings, dialects(dialect)) as made:
            return locking.write_lock(settings, made)
    if not schemas:
        return locking.check_lock(settings, base_ref=base_ref)
    with providers(settings, dialects(dialect)) as made:
        return locking.check_lock(settings, base_ref=base_ref, providers=made)
