"""Synthetic rows for the data probe, planned from the `SchemaSnapshot` alone (pure).

`plan_rows` gives, for one table, a few rows valid for every column: its type family
(integers, UUIDs, text within its length, booleans, dates and timestamps, JSON, numerics,
enum labels), the values an `IN (...)` check allows, NOT NULL, unique constraints, and
foreign keys (values copied from the rows the parent already holds). Values are in the
storage form the driver takes for the dialect: on SQLite a UUID is the 32 hex digits
`sa.Uuid` stores and a timestamp the text SQLAlchemy writes; on PostgreSQL they are Python
objects psycopg adapts. A table it cannot fill becomes a `Skip` with the reason.

Values are chosen to survive ordinary migrations: distinct per row (a later unique
constraint holds); short digit strings for text (they convert to numbers or JSON, and
normalizing updates change nothing); the first label of an enum or check list (a later
label removal remaps other labels); positive and small for plain numbers, large for integer
keys (a later seed row with id 1 does not collide); a `user_id` without a foreign key takes
the keys of `users` (a later migration may add the key).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from migration_gate.snapshot.model import Column, ForeignKey, SchemaSnapshot, Table
from migration_gate.snapshot.normalize import split_top_level, tokenize, type_family

__all__ = [
    "ROWS",
    "Plan",
    "Skip",
    "fill_order",
    "in_list_values",
    "loose_references",
    "parent_tables",
    "plan_rows",
]

#: rows the probe puts in each empty table
ROWS = 3
_NAMESPACE = uuid.UUID("6f0b3c1e-6a2d-4c55-9a51-6d6967726174")
_KEY_BASE = 900_000
_SMALL_KEY_BASE = 30_000
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
#: PostgreSQL types outside the families that still take a plain text literal
_PG_LITERALS = {
    "interval": "{n} days",
    "inet": "10.0.0.{n}",
    "cidr": "10.0.{n}.0/24",
    "macaddr": "08:00:2b:01:02:0{n}",
    "tsvector": "probe{n}",
    "xml": "<probe n='{n}'/>",
    "money": "{n}.00",
}


@dataclass(frozen=True)
class Plan:
    """Rows to insert into `table`: values for `columns`, one tuple per row."""

    table: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Skip:
    """A table the probe leaves empty, and why."""

    table: str
    reason: str


class _Omit:
    """Marker: leave the column out of the INSERT (generated, identity, or its default)."""


_OMIT = _Omit()


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


def in_list_values(table: Table) -> dict[str, tuple[Any, ...]]:
    """Column → the literals a check constraint `col IN (a, b, ...)` allows."""
    out: dict[str, tuple[Any, ...]] = {}
    for check in table.check_constraints:
        m = re.fullmatch(r"(\w+) in \((.*)\)", check.expression, re.S)
        if not m or table.column(m.group(1)) is None:
            continue
        values = [_literal(part) for part in split_top_level(tokenize(m.group(2)))]
        if values and all(v is not None for v in values):
            out[m.group(1)] = tuple(values)
    return out


def _literal(tokens: Sequence[Any]) -> Any:
    texts = [t.text for t in tokens]
    if len(tokens) == 1 and tokens[0].kind == "str" and texts[0].startswith("'"):
        return texts[0][1:-1].replace("''", "'")
    sign = -1 if texts[:1] == ["-"] else 1
    body = texts[1:] if texts[:1] in (["-"], ["+"]) else texts
    if len(body) == 1 and re.fullmatch(r"\d+", body[0]):
        return sign * int(body[0])
    if len(body) == 1 and re.fullmatch(r"\d*\.\d+|\d+\.\d*", body[0]):
        return sign * float(body[0])
    return None


def _unique_sets(table: Table) -> list[set[str]]:
    sets = [set(u.columns) for u in table.unique_constraints]
    sets += [set(i.elements) for i in table.indexes if i.unique]
    if table.primary_key:
        sets.append(set(table.primary_key))
    return sets


def plan_rows(
    table: Table,
    snapshot: SchemaSnapshot,
    parents: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    rows: int = ROWS,
) -> Plan | Skip:
    """The rows to put into the empty `table`, or why it cannot be filled.

    `parents` holds, per referenced table, the rows it has now (column → stored value)."""
    enums = {e.name: e.labels for e in snapshot.enums}
    checks = in_list_values(table)
    fk_values: dict[str, list[Any]] = {}
    domain: dict[str, int] = {}
    loose = loose_references(table, snapshot)
    for fk in (*table.foreign_keys, *loose):
        cols = [table.column(c) for c in fk.columns]
        nullable = all(c is not None and c.nullable for c in cols)
        usable = (
            []
            if fk.ref_table == table.name
            else [
                r
                for r in parents.get(fk.ref_table, ())
                if all(r.get(c) is not None for c in fk.ref_columns)
            ]
        )
        if not usable and fk in loose:
            if nullable:
                fk_values.setdefault(fk.columns[0], [None] * rows)
            continue  # a guess: without parent rows the column gets ordinary values
        if not usable:
            if not nullable:
                why = (
                    "references itself"
                    if fk.ref_table == table.name
                    else f"references {fk.ref_table}, which has no rows"
                )
                return Skip(table.name, f"NOT NULL foreign key ({', '.join(fk.columns)}) {why}")
            for c in fk.columns:
                fk_values.setdefault(c, [None] * rows)
            continue
        for c, ref in zip(fk.columns, fk.ref_columns, strict=True):
            fk_values.setdefault(c, [usable[i % len(usable)][ref] for i in range(rows)])
            domain[c] = len(usable)
    for name, labels in checks.items():
        domain.setdefault(name, len(set(labels)))
    for col in table.columns:
        family = type_family(col.type, enums=enums)
        if family == "enum" and col.type in enums:
            domain.setdefault(col.name, len(enums[col.type]))
        elif family == "boolean":
            domain.setdefault(col.name, 2)
    # a unique set made only of columns with few possible values caps the row count,
    # and those columns must then take distinct values
    cycle: set[str] = set()
    count = rows
    for uniq in _unique_sets(table):
        if uniq and uniq <= set(domain):
            cap = 1
            for c in uniq:
                cap *= domain[c]
            count = min(count, max(cap, 1))
            cycle |= uniq
    columns: list[str] = []
    values: list[list[Any]] = []
    for col in table.columns:
        got = _column_values(table, col, snapshot.dialect, enums, checks, fk_values, cycle, count)
        if isinstance(got, _Omit):
            continue
        if isinstance(got, str):
            return Skip(table.name, got)
        columns.append(col.name)
        values.append(got)
    if not columns:
        return Skip(table.name, "no column the probe can fill")
    return Plan(
        table.name, tuple(columns), tuple(tuple(v[i] for v in values) for i in range(count))
    )


def _column_values(
    table: Table,
    col: Column,
    dialect: str,
    enums: Mapping[str, tuple[str, ...]],
    checks: Mapping[str, tuple[Any, ...]],
    fk_values: Mapping[str, list[Any]],
    cycle: set[str],
    count: int,
) -> list[Any] | _Omit | str:
    """Values for one column, `_OMIT`, or (a str) why the table cannot be filled."""
    if col.generated is not None or col.identity == "always":
        return _OMIT
    if col.name in fk_values:
        return fk_values[col.name][:count]
    allowed = checks.get(col.name)
    if col.type in enums:
        allowed = enums[col.type]
    if allowed:
        return [
            allowed[i % len(allowed)] if col.name in cycle else allowed[0] for i in range(count)
        ]
    family = type_family(col.type, enums=enums)
    in_key = col.name in table.primary_key
    made = [_value(table.name, col, family, dialect, i + 1, in_key) for i in range(count)]
    if any(v is None for v in made):
        if col.default is not None or col.nullable:
            return _OMIT
        return f"{table.name}.{col.name} has type {col.type}, which the probe cannot fill"
    return made


def _value(table: str, col: Column, family: str, dialect: str, n: int, in_key: bool) -> Any:
    """The n-th (from 1) probe value of a column, in the driver's storage form; None when
    the type is not one the probe knows."""
    sqlite = dialect == "sqlite"
    t = col.type.lower()
    if family == "integer":
        base = (_SMALL_KEY_BASE if "small" in t or "int2" in t else _KEY_BASE) if in_key else 0
        return base + n
    if family == "uuid":
        u = uuid.uuid5(_NAMESPACE, f"{table}.{col.name}.{n}")
        return u if t == "uuid" and not sqlite else u.hex  # char(32): sa.Uuid's text form
    if family in ("string", "enum"):
        return _text(table, col.name, _length(t), n)
    if family == "boolean":
        flag = n % 2 == 1
        return int(flag) if sqlite else flag
    if family == "datetime":
        stamp = dt.datetime(2001, 2, 3, 4, 5, 6) + dt.timedelta(days=n)
        if sqlite:
            return stamp.strftime(_SQLITE_DATETIME)
        return stamp.replace(tzinfo=dt.UTC) if t.startswith("timestamptz") else stamp
    if family == "date":
        day = dt.date(2001, 2, 3) + dt.timedelta(days=n)
        return day.isoformat() if sqlite else day
    if family == "time":
        clock = dt.time(4, 5, n % 60)
        return clock.strftime("%H:%M:%S.%f") if sqlite else clock
    if family == "numeric":
        return n if sqlite else Decimal(n)
    if family == "float":
        return n + 0.5
    if family == "json":
        return json.dumps({"probe": n})
    if family == "binary":
        return f"probe{n}".encode()
    if sqlite:
        return _text(table, col.name, _length(t), n)
    if t.endswith("[]"):
        return "{}"
    literal = _PG_LITERALS.get(re.sub(r"\(.*\)$", "", t).strip())
    return literal.format(n=n) if literal else None


def _length(type_: str) -> int | None:
    m = re.search(r"\((\d+)\)", type_)
    return int(m.group(1)) if m else None


def _text(table: str, column: str, length: int | None, n: int) -> str:
    """Distinct text within `length`: UUID text where the column looks like it holds UUIDs
    (32 or 36 characters, or an id-like name), an address for email-like columns, else
    digits, which survive the usual later conversions (to an integer, numeric or JSON type,
    lower() or trim())."""
    name = column.lower()
    idlike = name == "id" or name.endswith(("_id", "uuid", "guid"))
    if length in (32, 36) or (idlike and (length is None or length >= 32)):
        u = uuid.uuid5(_NAMESPACE, f"{table}.{column}.{n}")
        return str(u) if length is None or length >= 36 else u.hex
    if "email" in name:
        address = f"p{n}@example.com"
        if length is None or len(address) <= length:
            return address
    text = str(1000 + n)
    if length is not None and len(text) > length:
        text = str(n)[-length:]
    return text
