"""An upgrade that failed with the data probe's rows in the tables: tried again without them.

Production tables hold rows, so an upgrade that any row breaks (a NOT NULL column added
without a default) is a real failure even when it passes on empty tables. An upgrade broken
only by the values the probe made up (text that is no label of a new enum) may be fine on real
rows: that is a warning. A value the migration itself builds for each row that the driver
cannot bind (a `uuid.UUID` to sqlite3) fails on any row: an error. Either way the walk goes on from the database without the rows.
"""

from __future__ import annotations

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import StepFailed
from migration_gate.findings import Severity
from migration_gate.snapshot import SchemaSnapshot
from migration_gate.walk.state import WalkState

__all__ = ["retry_on_empty_tables"]

#: errors that any row raises, whatever its values (a NOT NULL column left without one):
#: PostgreSQL's not_null_violation, SQLite's constraint on a copied row (batch mode), and
#: SQLite's refusal to ADD COLUMN ... NOT NULL without a default to a table that has rows
#: (a generic SQLITE_ERROR; SQLite's messages are not translated)
_ANY_ROW = frozenset({"23502", "SQLITE_CONSTRAINT_NOTNULL"})
_ANY_ROW_TEXT = "Cannot add a NOT NULL column"
#: the driver refusing a Python value the migration itself made for each row (a uuid.UUID
#: to sqlite3, an object psycopg cannot adapt): it fails on every row, whatever its values
_BINDING = ("Error binding parameter", "cannot adapt type", "can't adapt type")


def retry_on_empty_tables(
    w: WalkState, rev: RevisionInfo, exc: StepFailed, populated: tuple[str, ...]
) -> SchemaSnapshot | StepFailed:
    """The same upgrade on a fresh database at the same revisions, without the probe's rows.
    The schema before it when it passed (the walk goes on from there, and the failure with
    rows is reported), its failure when it failed on empty tables too."""
    w.rebuild()
    before = w.snapshot()
    try:
        w.timed("upgrade", lambda: w.runner.upgrade(rev.revision))
    except StepFailed as again:
        return again
    _report(w, rev, exc, populated)
    return before


def _report(w: WalkState, rev: RevisionInfo, exc: StepFailed, populated: tuple[str, ...]) -> None:
    tables = ", ".join(populated[:6]) + (", ..." if len(populated) > 6 else "")
    cause = exc.cause or ""
    severity: Severity = "error"
    kind = "only-with-rows"
    if any(text in cause for text in _BINDING):
        what = (
            f"upgrade of {rev.label()} fails when the tables hold rows ({tables}): the "
            "database driver cannot send a value the migration makes for each row"
        )
        hint = (
            "convert the value to a type the driver binds (str(uuid_value), a datetime, a "
            "number) before passing it, or register an adapter for it; a database with rows "
            "will refuse this migration whatever their values"
        )
    elif exc.code in _ANY_ROW or _ANY_ROW_TEXT in cause:
        what = (
            f"upgrade of {rev.label()} fails when the tables hold rows ({tables}) and "
            "passes only on empty ones"
        )
        hint = (
            "a database with rows will refuse it: give the new NOT NULL column a server "
            "default, or add it nullable, fill it, then set NOT NULL"
        )
    else:
        what = (
            f"upgrade of {rev.label()} fails on the data probe's synthetic rows ({tables}) and "
            "passes on empty tables"
        )
        hint = (
            "the probe's made-up values are not ones this migration accepts; make sure every "
            "value a real row can hold converts (map the others in the migration), or run "
            "with --no-data to check the schema alone"
        )
        severity, kind = "warning", "only-with-probe-values"
    w.failed(
        "upgrade-failed",
        rev,
        exc,
        what,
        hint,
        severity=severity,
        populated_tables=list(populated),
        passes_on_empty_tables=True,
        kind=kind,
    )
