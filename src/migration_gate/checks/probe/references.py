"""Where the probe's references point (pure): parents first, and rows that resolve.

`fill_order` puts each table after the tables its foreign keys point at (and after the
likely parent of a reference without a foreign key, `loose_references`), so that every
reference can take the values of rows the parent already holds; a cycle of references is
broken where a reference may be NULL, and only a cycle of NOT NULL references cannot be
filled. `resolve` picks, for each
probe row, one row of each parent: a composite key takes all its columns from the same
parent row, foreign keys that share a column take parent rows that agree on it, and two
foreign keys to the same table take different rows of it where it has more than one (a
row whose `parent_id` and `child_id` name the same row is rare in real data, and often
forbidden: `CHECK (parent_id <> child_id)`).
Self-references are not resolved here: they point at the table's own probe rows (see
`generate`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migration_gate.snapshot.model import ForeignKey, SchemaSnapshot, Table
from migration_gate.snapshot.normalize import type_family

__all__ = [
    "Reference",
    "fill_order",
    "loose_references",
    "parent_tables",
    "resolve",
    "strict_parents",
]


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


def strict_parents(table: Table, snapshot: SchemaSnapshot) -> set[str]:
    """The other tables `table` references through a foreign key that may not be NULL: it
    cannot be filled before them (a nullable or guessed reference can be left NULL)."""
    out = set()
    for fk in table.foreign_keys:
        if fk.ref_table == table.name or snapshot.table(fk.ref_table) is None:
            continue
        cols = [table.column(c) for c in fk.columns]
        if not all(c is not None and c.nullable for c in cols):
            out.add(fk.ref_table)
    return out


def fill_order(snapshot: SchemaSnapshot, filled: Collection[str] = ()) -> list[str]:
    """Table names, parents before the tables whose references point at them.

    `filled` names the tables that hold rows already (they wait for nothing). Self-references
    are ignored. A cycle of references is broken at a reference that may be NULL (that table
    comes first and leaves it NULL), so that every table outside the cycle, and every table of
    it, still comes after its parents; only the tables on a cycle of NOT NULL references
    (which no order can fill) come before a parent, in name order, and what depends on them
    comes after them."""
    deps = {t.name: parent_tables(t, snapshot) for t in snapshot.tables}
    strict = {t.name: strict_parents(t, snapshot) for t in snapshot.tables}
    children: dict[str, list[str]] = {}
    for n, d in deps.items():
        for parent in d:
            children.setdefault(parent, []).append(n)
    waiting = {n: len(d) for n, d in deps.items()}
    order: list[str] = []
    placed: set[str] = set()

    def place(names: Sequence[str]) -> list[str]:
        """Append `names`; the tables whose parents are all placed now (Kahn's algorithm)."""
        ready = []
        for n in names:
            order.append(n)
            placed.add(n)
        for n in names:
            for child in children.get(n, ()):
                waiting[child] -= 1
                if waiting[child] == 0 and child not in placed:
                    ready.append(child)
        return ready

    # layer by layer: each layer is every table whose parents are all in earlier layers, in
    # name order; linear in the tables and references (cycles aside)
    layer = sorted(n for n in deps if n in filled) + sorted(
        n for n, count in waiting.items() if count == 0 and n not in filled
    )
    while True:
        while layer:
            layer = sorted(place(layer))
        if len(placed) == len(deps):
            return order
        layer = _break_cycle(deps, strict, placed)


def _break_cycle(
    deps: Mapping[str, set[str]], strict: Mapping[str, set[str]], placed: set[str]
) -> list[str]:
    """Every table not placed waits for another one: the tables to place next. Among the
    cycles that wait for nothing else (a table that only points into a cycle is never
    chosen), the first table, fewest references left NULL and then by name, whose NOT NULL
    references are all placed; else, when every table of that cycle has a NOT NULL reference
    into it, the tables on cycles of NOT NULL references."""
    left = {n: {p for p in d if p not in placed} for n, d in deps.items() if n not in placed}
    components = _cycles(left)
    where = {n: i for i, comp in enumerate(components) for n in comp}
    sources = [
        comp for comp in components if all(where[p] == where[n] for n in comp for p in left[n])
    ]
    cycle = min(sources, key=min)
    loose = [n for n in cycle if not strict[n] & cycle]
    if loose:
        return [min(loose, key=lambda n: (len(left[n]), n))]
    knots = _cycles({n: strict[n] & cycle for n in cycle})
    return sorted(n for comp in knots if len(comp) > 1 for n in comp)


def _cycles(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of `graph` (node → the nodes it points at, all
    keys of `graph`), by Tarjan's algorithm without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.add(member)
                    if member == node:
                        break
                out.append(comp)
    return out


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
