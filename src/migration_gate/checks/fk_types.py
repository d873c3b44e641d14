"""fk-type-mismatch: a foreign key column whose type differs from the column it references.

PostgreSQL refuses such a foreign key ("Key columns ... are of incompatible types: integer
and uuid", post-mortem 003); SQLite accepts it silently. Comparing the type *families* of
both ends in any snapshot catches it on every dialect, so a SQLite-only run fails too.
`fk_type_mismatches` is the pure function (the static `lint` rule with the same id uses
it); `FkTypeCheck` runs it after each upgrade of the walk and reports only the mismatches
that revision introduced.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from migration_gate.checks.base import RoundtripCheck, StepContext
from migration_gate.findings import Finding
from migration_gate.snapshot.model import ForeignKey, SchemaSnapshot
from migration_gate.snapshot.normalize import type_family

__all__ = ["FkTypeCheck", "FkTypeMismatch", "describe", "fk_type_mismatches"]

CHECK = "fk-type-mismatch"


class FkTypeMismatch(NamedTuple):
    """One foreign key whose column types differ from the referenced columns' types.

    For a composite key, `col_type` and `ref_type` list every column's type, comma-separated.
    """

    table: str
    fk: ForeignKey
    col_type: str
    ref_type: str


def fk_type_mismatches(
    snapshot: SchemaSnapshot, *, tables: Collection[str] | None = None
) -> list[FkTypeMismatch]:
    """Every foreign key of the snapshot whose columns and referenced columns belong to
    different type families (integer vs uuid, string vs uuid...). Keys whose referenced
    table or columns are not in the snapshot are left out."""
    enums = [e.name for e in snapshot.enums]
    out: list[FkTypeMismatch] = []
    for table in snapshot.tables:
        if tables is not None and table.name not in tables:
            continue
        for fk in table.foreign_keys:
            ref = snapshot.table(fk.ref_table)
            if ref is None or len(fk.columns) != len(fk.ref_columns):
                continue
            pairs = [
                (table.column(c), ref.column(r))
                for c, r in zip(fk.columns, fk.ref_columns, strict=True)
            ]
            if any(a is None or b is None for a, b in pairs):
                continue
            types = [(a.type, b.type) for a, b in pairs if a is not None and b is not None]
            if any(_differ(a, b, enums) for a, b in types):
                out.append(
                    FkTypeMismatch(
                        table=table.name,
                        fk=fk,
                        col_type=", ".join(a for a, _ in types),
                        ref_type=", ".join(b for _, b in types),
                    )
                )
    return out


def _differ(a: str, b: str, enums: list[str]) -> bool:
    fa, fb = type_family(a, enums=enums), type_family(b, enums=enums)
    if fa == fb == "other":
        return a != b
    return fa != fb


def describe(m: FkTypeMismatch) -> str:
    """`thought_records.user_id (integer) references users.id (uuid)`."""
    cols = ", ".join(m.fk.columns)
    refs = ", ".join(m.fk.ref_columns)
    return f"{m.table}.{cols} ({m.col_type}) references {m.fk.ref_table}.{refs} ({m.ref_type})"


def _key(m: FkTypeMismatch) -> tuple[str, str, str, str]:
    return (m.table, m.fk.key, m.col_type, m.ref_type)


class FkTypeCheck(RoundtripCheck):
    """After each upgrade, report the mismatches that revision added."""

    def after_upgrade(
        self, step: StepContext, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Finding]:
        scope = _affected(before, after)
        if scope is not None and not scope:
            return []
        known = {_key(m) for m in fk_type_mismatches(before, tables=scope)}
        return [
            _finding(m, step)
            for m in fk_type_mismatches(after, tables=scope)
            if _key(m) not in known
        ]


def _finding(m: FkTypeMismatch, step: StepContext) -> Finding:
    cols = ", ".join(m.fk.columns)
    return step.finding(
        CHECK,
        f"{describe(m)} on {step.dialect}: a foreign key column must have the type of the "
        "column it references; PostgreSQL refuses this key (incompatible types)",
        line=step.rev.upgrade_line,
        table=m.table,
        columns=list(m.fk.columns),
        column_type=m.col_type,
        ref_table=m.fk.ref_table,
        ref_columns=list(m.fk.ref_columns),
        ref_type=m.ref_type,
        hint=f"give {m.table}.{cols} the type of {m.fk.ref_table}."
        f"{', '.join(m.fk.ref_columns)} ({m.ref_type})",
    )


def _affected(before: SchemaSnapshot, after: SchemaSnapshot) -> set[str] | None:
    """The tables whose mismatches can differ between two snapshots (None: any of them).

    A table's mismatches depend on the table, the tables its keys reference and the enum
    types; the others' are the same on both sides, so they are all already known. Keeps
    the check proportional to what a revision changed (a walk's snapshots share objects).
    """
    if before.enums != after.enums:
        return None
    # the very same objects on both sides cannot differ: set arithmetic on their ids (in C)
    # leaves the few that a revision touched
    olds = dict(zip(map(id, before.tables), before.tables, strict=True))
    news = dict(zip(map(id, after.tables), after.tables, strict=True))
    changed = {
        t.name for t in (news[i] for i in news.keys() - olds.keys()) if before.table(t.name) != t
    }
    changed.update(
        t.name for t in (olds[i] for i in olds.keys() - news.keys()) if after.table(t.name) is None
    )
    if not changed:
        return changed
    return changed | {
        t.name
        for snap in (before, after)
        for t in snap.tables
        if any(fk.ref_table in changed for fk in t.foreign_keys)
    }
