"""missing-downgrade: a revision that changes the schema but whose downgrade() does nothing.

One predicate, `is_missing`, shared by the roundtrip walk and the lint rule of the same id, so
both agree: a merge or no-op revision (empty upgrade) needs no downgrade, and a revision that
declares ``gate = {"irreversible": "why"}`` with a reason is exempt; an empty reason declares
nothing. The walk does not run an empty downgrade (there is nothing to compare after it).
"""

from __future__ import annotations

import dataclasses

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.checks.base import RoundtripCheck, StepContext
from migration_gate.findings import Finding
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["ID", "MissingDowngrade", "finding", "is_missing"]

ID = "missing-downgrade"


def is_missing(info: RevisionInfo) -> bool:
    """The revision lacks a downgrade and does not declare itself irreversible (with a reason)."""
    return info.lacks_downgrade and info.irreversible is None


def finding(info: RevisionInfo, *, file: str, dialect: str | None = None) -> Finding:
    """The finding for a revision of which `is_missing` is true."""
    what = "has no downgrade()" if info.downgrade_line is None else "has an empty downgrade()"
    return Finding(
        check=ID,
        severity="error",
        revision=info.revision,
        dialect=dialect,
        file=file,
        line=info.downgrade_line or info.upgrade_line or 1,
        message=f"{info.label()} {what} and does not declare itself irreversible",
        details={
            "hint": "write downgrade() so that it undoes upgrade(), or declare "
            'gate = {"irreversible": "why it cannot be undone"} in the module'
        },
    )


class MissingDowngrade(RoundtripCheck):
    """Reports each revision of the walk that `is_missing` names: an error where its upgrade
    changed the schema; an info where it changed none on this dialect (an upgrade under
    ``if op.get_bind().dialect.name == "mysql":``, an ALTER that is a no-op here, a data
    migration), since an empty downgrade undoes that schema exactly. The lint rule of the same
    id still judges the file once, whatever the dialect."""

    def after_upgrade(
        self, step: StepContext, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Finding]:
        if not is_missing(step.rev):
            return []
        found = finding(step.rev, file=step.rev.rel_path(step.root), dialect=step.dialect)
        if before != after:
            return [found]
        return [
            dataclasses.replace(
                found,
                severity="info",
                message=f"{step.rev.label()} has no downgrade but changed no schema on "
                f"{step.dialect}: there is nothing here for a downgrade to undo (the lint "
                "rule missing-downgrade still judges the file, and any data it changed)",
            )
        ]
