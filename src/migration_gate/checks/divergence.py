"""dialect-divergence: the head schemas of SQLite and PostgreSQL, compared on what both express.

A chain that guards schema changes with `if dialect == "postgresql"` walks cleanly on each
dialect and still leaves the application with two different schemas: tests on SQLite no
longer say anything about production. `divergences` compares two snapshots on the portable
part of a schema: tables; columns by type *family* (an enum on PostgreSQL is a string on
SQLite; types only one dialect has are compared by presence) and nullability; primary keys;
foreign keys with their ON DELETE action; unique constraints (or unique indexes) and plain
indexes by their columns. Enum types, sequences, functions, triggers, views, check and
expression or partial indexes, and non-btree PostgreSQL indexes are dialect-specific and
do not count. `divergence_findings` reports each difference at the first revision where it
appears, with both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.checks.base import WalkSnapshots
from migration_gate.findings import Finding
from migration_gate.snapshot.index_details import parse_element
from migration_gate.snapshot.model import SchemaSnapshot, Table
from migration_gate.snapshot.normalize import type_family

__all__ = ["CHECK", "Divergence", "check_walks", "divergence_findings", "divergences", "portable"]

CHECK = "dialect-divergence"
ABSENT = "absent"
PRESENT = "present"
_HINT = (
    "make the migration change the schema the same way on both dialects (no dialect guard "
    "around tables, columns, keys or indexes; a portable type or with_variant() for types)"
)


@dataclass(frozen=True)
class Divergence:
    """One difference between the SQLite and PostgreSQL schemas."""

    #: what differs: "table users", "users.nickname", "users: unique (email)"...
    subject: str
    sqlite: str
    postgresql: str

    def sentence(self) -> str:
        """`users.nickname exists on postgresql (string, NULL) but not on sqlite`."""
        for here, there, what in (
            ("postgresql", "sqlite", self.postgresql),
            ("sqlite", "postgresql", self.sqlite),
        ):
            if ABSENT in (self.sqlite, self.postgresql) and what != ABSENT:
                shown = "" if what == PRESENT else f" ({what})"
                return f"{self.subject} exists on {here}{shown} but not on {there}"
        return f"{self.subject} is {self.sqlite} on sqlite but {self.postgresql} on postgresql"


def _family(type_: str, enums: list[str]) -> str:
    family = type_family(type_, enums=enums)
    return "string" if family == "enum" else family


def _plain(elements: tuple[str, ...], table: Table) -> bool:
    """Every element is a bare column (its order, collation and NULLS order aside)."""
    names = {c.name.lower() for c in table.columns}
    return all(parse_element(e).expression.lower() in names for e in elements)


def portable(snapshot: SchemaSnapshot) -> dict[str, dict[str, str]]:
    """Table → {item: description} for the part of the schema both dialects express.

    Column items are described as "family, NULL|NOT NULL" ("other" for a type only one
    dialect has)."""
    enums = [e.name for e in snapshot.enums]
    out: dict[str, dict[str, str]] = {}
    for t in snapshot.tables:
        items: dict[str, str] = {}
        for c in t.columns:
            items[f"column {c.name}"] = (
                f"{_family(c.type, enums)}, {'NULL' if c.nullable else 'NOT NULL'}"
            )
        if t.primary_key:
            items["primary key"] = f"({', '.join(t.primary_key)})"
        for fk in t.foreign_keys:
            key = f"foreign key ({', '.join(fk.columns)}) -> {fk.ref_table}({', '.join(fk.ref_columns)})"
            items[key] = f"on delete {fk.on_delete.lower()}"
        for u in t.unique_constraints:
            items[f"unique ({', '.join(sorted(u.columns))})"] = PRESENT
        for i in t.indexes:
            if (
                i.predicate is not None
                or i.method not in (None, "btree")
                or not _plain(i.elements, t)
            ):
                continue
            if i.unique:
                items[f"unique ({', '.join(sorted(i.elements))})"] = PRESENT
            else:
                items[f"index ({', '.join(e.lower() for e in i.elements)})"] = PRESENT
        out[t.name] = items
    return out


def _column_differs(a: str, b: str) -> bool:
    (fa, na), (fb, nb) = (x.split(", ", 1) for x in (a, b))
    return na != nb or (fa != fb and "other" not in (fa, fb))


def divergences(sqlite: SchemaSnapshot, postgresql: SchemaSnapshot) -> list[Divergence]:
    """Every difference between the two snapshots on what both dialects can express."""
    left, right = portable(sqlite), portable(postgresql)
    out: list[Divergence] = []
    for table in sorted(set(left) | set(right)):
        if table not in left or table not in right:
            out.append(
                Divergence(
                    f"table {table}",
                    PRESENT if table in left else ABSENT,
                    PRESENT if table in right else ABSENT,
                )
            )
            continue
        a, b = left[table], right[table]
        for item in sorted(set(a) | set(b)):
            x, y = a.get(item, ABSENT), b.get(item, ABSENT)
            if x == y:
                continue
            if item.startswith("column ") and ABSENT not in (x, y) and not _column_differs(x, y):
                continue
            subject = f"{table}.{item[7:]}" if item.startswith("column ") else f"{table}: {item}"
            out.append(Divergence(subject, x, y))
    return out


def divergence_findings(
    sqlite: Mapping[str, SchemaSnapshot],
    postgresql: Mapping[str, SchemaSnapshot],
    infos: Mapping[str, RevisionInfo],
    *,
    root: Path | None = None,
) -> list[Finding]:
    """Findings for the differences between the two head schemas.

    `sqlite` and `postgresql` map each revision (in walk order) to the snapshot after its
    upgrade, for two walks that both reached the end; each difference is reported at the
    first revision after which the two schemas differ that way."""
    order = [r for r in sqlite if r in postgresql]
    if not order or list(sqlite)[-1] != list(postgresql)[-1]:
        return []
    head = order[-1]
    found = divergences(sqlite[head], postgresql[head])
    first: dict[Divergence, str] = {}
    for rev in order:
        if len(first) == len(found):
            break
        here = set(divergences(sqlite[rev], postgresql[rev]))
        for d in found:
            if d in here and d not in first:
                first[d] = rev
    findings = []
    for d in found:
        rev_id = first.get(d, head)
        info = infos.get(rev_id)
        findings.append(
            Finding(
                check=CHECK,
                severity="error",
                revision=rev_id,
                dialect=None,
                file=info.rel_path(root) if info else None,
                line=info.upgrade_line if info else None,
                message=f"the head schemas of sqlite and postgresql differ: {d.sentence()}",
                details={
                    "subject": d.subject,
                    "sqlite": d.sqlite,
                    "postgresql": d.postgresql,
                    "head": head,
                    "hint": _HINT,
                },
            )
        )
    return findings


def check_walks(
    walks: WalkSnapshots, infos: Mapping[str, RevisionInfo], *, root: Path | None = None
) -> list[Finding]:
    """The cross-dialect check of a roundtrip: when both dialects were walked to the end."""
    if "sqlite" not in walks or "postgresql" not in walks:
        return []
    return divergence_findings(walks["sqlite"], walks["postgresql"], infos, root=root)
