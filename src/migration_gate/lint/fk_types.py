"""fk-type-mismatch: a foreign key whose column is not of the type family of the key it references.

Post-mortem 003: an INTEGER column referencing a UUID primary key passed on SQLite, which
does not enforce types, and failed on PostgreSQL. The mismatches are those of
`checks.fk_types.fk_type_mismatches` (the roundtrip's hook uses the same function), read from
the schema after the revision on each dialect walked, so a SQLite-only run catches it too;
only foreign keys that this revision introduced (or turned into a mismatch) are reported,
once, with the dialects that showed them. Only the tables whose mismatches can differ are
read (`_scope`): those the revision changed and those with a key to them.
"""

from __future__ import annotations

from migration_gate.checks.fk_types import FkTypeMismatch, describe, fk_type_mismatches
from migration_gate.findings import Finding, Severity
from migration_gate.lint.changes import SchemaChanges
from migration_gate.lint.context import RevisionContext
from migration_gate.snapshot import SchemaSnapshot, Table

__all__ = ["ID", "SEVERITY", "check"]

ID = "fk-type-mismatch"
SEVERITY: Severity = "error"


def _key(m: FkTypeMismatch) -> tuple[str, str]:
    return (m.table, m.fk.key)


def _column_types(table: Table) -> dict[str, str]:
    return {c.name: c.type for c in table.columns}


def _scope(changes: SchemaChanges, after: SchemaSnapshot) -> set[str] | None:
    """The tables whose mismatches can differ before and after the revision (None: all).

    A table's mismatches depend on its own columns and keys, on the columns of the tables
    its keys reference, and on which types are enums. So: the tables the revision changed,
    and, when it added a table (a key that referenced nothing may now) or changed a column's
    type or name, the tables with a key to one of those. A removed table only takes
    mismatches away.
    """
    if changes.enums_changed:
        return None
    scope = set(changes.names)
    if changes.added or any(_column_types(b) != _column_types(a) for b, a in changes.modified):
        targets = {t.name for t in changes.touched}
        scope.update(
            t.name for t in after.tables if any(fk.ref_table in targets for fk in t.foreign_keys)
        )
    return scope


def check(ctx: RevisionContext) -> list[Finding]:
    found: dict[tuple[str, str], list[tuple[str, FkTypeMismatch]]] = {}
    for dialect, (before, after) in sorted(ctx.snapshots.items()):
        scope = _scope(ctx.changes[dialect], after)
        if scope is not None and not scope:
            continue
        known = {
            (_key(m), m.col_type, m.ref_type) for m in fk_type_mismatches(before, tables=scope)
        }
        for m in fk_type_mismatches(after, tables=scope):
            if (_key(m), m.col_type, m.ref_type) not in known:
                found.setdefault(_key(m), []).append((dialect, m))
    out: list[Finding] = []
    for seen in found.values():
        dialects = [d for d, _ in seen]
        m = seen[0][1]
        cols, refs = ", ".join(m.fk.columns), ", ".join(m.fk.ref_columns)
        line = (
            (ctx.source.find_line(m.fk.columns[0]) if m.fk.columns else None)
            or ctx.source.find_line(f"{m.fk.ref_table}.{m.fk.ref_columns[0]}")
            or ctx.upgrade_line
        )
        out.append(
            Finding(
                check=ID,
                severity=SEVERITY,
                revision=ctx.revision,
                file=ctx.file,
                line=line,
                dialect=dialects[0] if len(dialects) == 1 else None,
                message=f"{describe(m)} on {', '.join(dialects)}: a foreign key column must have the "
                "type of the column it references; PostgreSQL refuses this key "
                "(incompatible types) even where SQLite accepts it",
                details={
                    "table": m.table,
                    "columns": list(m.fk.columns),
                    "column_type": m.col_type,
                    "ref_table": m.fk.ref_table,
                    "ref_columns": list(m.fk.ref_columns),
                    "ref_type": m.ref_type,
                    "dialects": dialects,
                    "hint": f"give {m.table}.{cols} the type of {m.fk.ref_table}.{refs} ({m.ref_type})",
                },
            )
        )
    return out
