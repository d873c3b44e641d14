"""Where the probe's references point (pure): parents first, and rows that resolve.

`fill_order` puts each table after the tables its foreign keys point at (and after the
likely parent of a reference without a foreign key, `loose_references`), so that every
reference can take the values of rows the parent already holds. `resolve` picks, for each
probe row, one row of each parent: a composite key takes all its columns from the same
parent row, foreign keys that share a column take parent rows that agree on it, and two
foreign keys to the same table take different rows of it where it has more than one (a
row whose `parent_id` and `child_id` name the same row is rare in real data, and often
forbidden: `CHECK (parent_id <> child_id)`).
Self-references are not resolved here: they point at the table's own probe rows (see
`generate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migration_gate.snapshot.model import ForeignKey, SchemaSnapshot, Table
from migration_gate.snapshot.normalize import type_family

__all__ = ["Reference", "fill_order", "loose_references", "parent_tables", "resolve"]


@dataclass(frozen=True)
class Reference:
    """A foreign key (or a likely one) of a table, and the parent rows it may point at.
    `rows` None: the reference is left NULL (its parent comes later in a cycle)."""

    fk: ForeignKey
    rows: tuple[Mapping[str, Any], ...] | None


def loose_references(table: Table, snapshot: SchemaSnapshot) -> tuple[ForeignKey, ...]:
    """Columns named like a reference (`user_id`) without a foreign key, paired with the
    table they most likely point at (`user`, `users`...: one with a one-column primary key
    of the same type family). Their values are taken from that table, so that a later
    migration adding the foreign key finds the rows consistent."""
    bound = {c for fk in table.foreign_keys for c in fk.columns}
    enums = [e.name for e in snapshot.enums]
    out = []
    for col in table.columns:
        if col.name in bound or not col.name.endswith("_id") or len(col.name) <= 3:
            continue
        base = col.name[:-3]
        names = [base, f"{base}s", f"{base}es"] + (
            [f"{base[:-1]}ies"] if base.endswith("y") else []
        )
        for name in names:
            parent = snapshot.table(name)
            if parent is None or name == table.name or len(parent.primary_key) != 1:
                continue
            key = parent.column(parent.primary_key[0])
            if key is not None and type_family(key.type, enums=enums) == type_family(
                col.type, enums=enums
            ):
                out.append(ForeignKey(None, (col.name,), name, parent.primary_key))
                break
    return tuple(out)


def parent_tables(table: Table, snapshot: SchemaSnapshot) -> set[str]:
    """The other tables whose rows `table`'s references take values from."""
    refs = (*table.foreign_keys, *loose_references(table, snapshot))
    return {
        fk.ref_table for fk in refs if fk.ref_table != table.name and snapshot.table(fk.ref_table)
    }


def fill_order(snapshot: SchemaSnapshot) -> list[str]:
    """Table names, parents before the tables whose references point at them.

    Self-references are ignored; tables caught in a cycle come last, in name order."""
    deps = {t.name: parent_tables(t, snapshot) for t in snapshot.tables}
    # layer by layer (Kahn's algorithm): each layer is every table whose parents are all in
    # earlier layers, in name order; linear in the tables and references
    waiting = {n: len(d) for n, d in deps.items()}
    children: dict[str, list[str]] = {}
    for n, d in deps.items():
        for parent in d:
            children.setdefault(parent, []).append(n)
    order: list[str] = []
    layer = sorted(n for n, count in waiting.items() if count == 0)
    while layer:
        order.extend(layer)
        ready = []
        for parent in layer:
            for child in children.get(parent, ()):
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        layer = sorted(ready)
    placed = set(order)
    order.extend(sorted(n for n in deps if n not in placed))
    return order


def resolve(refs: Sequence[Reference], count: int) -> list[dict[str, Any]] | str:
    """For each of `count` rows, the values of every referencing column; or (a str) why
    no parent rows agree with each other."""
    assigned: list[dict[str, Any]] = [{} for _ in range(count)]
    #: references already resolved per parent table: the next one starts a row further on
    earlier: dict[str, int] = {}
    for ref in refs:
        shift = earlier.get(ref.fk.ref_table, 0)
        earlier[ref.fk.ref_table] = shift + 1
        pairs = list(zip(ref.fk.columns, ref.fk.ref_columns, strict=True))
        for i, row in enumerate(assigned):
            if ref.rows is None:
                for c, _ in pairs:
                    row.setdefault(c, None)
                continue
            fixed = {rc: row[c] for c, rc in pairs if row.get(c) is not None}
            fits = [r for r in ref.rows if all(r.get(rc) == v for rc, v in fixed.items())]
            if not fits:
                shared = ", ".join(c for c, _ in pairs if c in row)
                return (
                    f"its foreign keys share ({shared}) and no row of {ref.fk.ref_table} "
                    "agrees with the rows the other keys point at"
                )
            parent = fits[(i + shift) % len(fits)]
            for c, rc in pairs:
                row.setdefault(c, parent[rc])
    return assigned
