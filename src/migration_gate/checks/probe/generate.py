"""Synthetic rows for the data probe, planned from the `SchemaSnapshot` alone (pure).

`plan_rows` gives, for one table, a few rows valid for the schema: every column gets a value
of its type (`values`) within its length, an enum's labels, what the table's check
constraints ask as far as they can be read (`constraints`), distinct values where a unique
constraint needs them, and every foreign key resolves to a row of its parent (`references`):
NOT NULL or not, composite keys from one parent row. A self-reference points at the table's
own probe rows: the first row is a root (NULL) when the key may be NULL, else it points at
itself; every later row points at the row before it. A table it cannot fill validly becomes a
`Skip` with the reason, and so does a table whose parent the probe could not fill: its rows
would reference nothing, and a later migration that removes such rows is no loss.

Labels are the first of an enum or check list (a later label removal remaps other labels),
except in a unique set made only of columns with few values, which then cycle and cap the
number of rows. A `user_id` without a foreign key takes the keys of `users` (a later
migration may add the key).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migration_gate.checks.probe.constraints import Rule, Rules, as_moment, read_rules
from migration_gate.checks.probe.references import (
    Reference,
    fill_order,
    loose_references,
    parent_tables,
    resolve,
)
from migration_gate.checks.probe.values import natural, stored
from migration_gate.snapshot.index_details import parse_element
from migration_gate.snapshot.model import Column, ForeignKey, SchemaSnapshot, Table
from migration_gate.snapshot.normalize import type_family

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
_NUMBERS = ("integer", "numeric", "float")


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


@dataclass
class _Context:
    table: Table
    dialect: str
    enums: Mapping[str, tuple[str, ...]]
    rules: Rules
    cycle: set[str] = field(default_factory=set)


def in_list_values(table: Table) -> dict[str, tuple[Any, ...]]:
    """Column → the literals a check constraint `col IN (a, b, ...)` allows."""
    return {c: r.allowed for c, r in read_rules(table).columns.items() if r.allowed}


def _unique_sets(table: Table) -> list[set[str]]:
    sets = [set(u.columns) for u in table.unique_constraints]
    sets += [{parse_element(e).expression for e in i.elements} for i in table.indexes if i.unique]
    if table.primary_key:
        sets.append(set(table.primary_key))
    return sets


def plan_rows(
    table: Table,
    snapshot: SchemaSnapshot,
    parents: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    rows: int = ROWS,
    unfilled: Collection[str] = (),
    later: Collection[str] = (),
) -> Plan | Skip:
    """The rows to put into the empty `table`, or why it cannot be filled validly.

    `parents` holds, per referenced table, the rows it has now (column → stored value);
    `unfilled` names the parents the probe could not fill; `later` the parents
    that are filled after this table (a cycle of references: a reference that may be NULL
    is left NULL, one that may not makes the table unfillable)."""
    refs = _references(table, snapshot, parents, unfilled, later)
    if isinstance(refs, str):
        return Skip(table.name, refs)
    rules = read_rules(table)
    ctx = _Context(table, snapshot.dialect, {e.name: e.labels for e in snapshot.enums}, rules)
    count = _row_count(ctx, refs, rows)
    linked = resolve(sorted(refs, key=lambda r: r.rows is None), count)
    if isinstance(linked, str):
        return Skip(table.name, linked)
    selfs = [fk for fk in table.foreign_keys if fk.ref_table == table.name]
    own = {c for fk in selfs for c in fk.columns if c not in linked[0]} if linked else set()
    values: dict[str, list[Any]] = {}
    made: dict[str, Column] = {}  # columns whose values are made here (stored below)
    for col in table.columns:
        if col.name in own:
            values[col.name] = [None] * count
        elif linked and col.name in linked[0]:
            values[col.name] = [row[col.name] for row in linked]
        else:
            got = _logical(ctx, col, count)
            if isinstance(got, str):
                return Skip(table.name, got)
            if not isinstance(got, _Omit):
                values[col.name], made[col.name] = got, col
    _order(rules.less, values, made)
    for name, col in made.items():
        got = _stored(ctx, col, values[name])
        if isinstance(got, str):
            return Skip(table.name, got)
        if isinstance(got, _Omit):
            del values[name]
        else:
            values[name] = got
    if not values:
        return Skip(table.name, "no column the probe can fill")
    for fk in selfs:
        why = _point_at_own_rows(table, fk, values, count)
        if why:
            return Skip(table.name, why)
    columns = [c.name for c in table.columns if c.name in values]
    return Plan(
        table.name,
        tuple(columns),
        tuple(tuple(values[c][i] for c in columns) for i in range(count)),
    )


def _references(
    table: Table,
    snapshot: SchemaSnapshot,
    parents: Mapping[str, Sequence[Mapping[str, Any]]],
    unfilled: Collection[str],
    later: Collection[str],
) -> list[Reference] | str:
    """The parent rows each reference to another table may take, or why none can."""
    refs: list[Reference] = []
    loose = loose_references(table, snapshot)
    for fk in (*table.foreign_keys, *loose):
        if fk.ref_table == table.name:
            continue
        cols = [table.column(c) for c in fk.columns]
        nullable = all(c is not None and c.nullable for c in cols)
        usable = tuple(
            r
            for r in parents.get(fk.ref_table, ())
            if all(r.get(c) is not None for c in fk.ref_columns)
        )
        if usable:
            refs.append(Reference(fk, usable))
        elif fk in loose:  # a guess: without parent rows the column gets ordinary values,
            if nullable:  # or none
                refs.append(Reference(fk, None))
        elif fk.ref_table in later and nullable:
            refs.append(Reference(fk, None))
        else:
            return _why_not(fk, nullable, unfilled, later)
    return refs


def _why_not(
    fk: ForeignKey, nullable: bool, unfilled: Collection[str], later: Collection[str]
) -> str:
    cols = ", ".join(fk.columns)
    if fk.ref_table in unfilled:
        return (
            f"its foreign key ({cols}) references {fk.ref_table}, which the probe could not "
            "fill (see its own probe-skipped finding): rows pointing nowhere would not be valid"
        )
    if fk.ref_table in later:
        return f"NOT NULL foreign key ({cols}) in a cycle of references through {fk.ref_table}"
    kind = "foreign key" if nullable else "NOT NULL foreign key"
    return f"{kind} ({cols}) references {fk.ref_table}, which has no rows"


def _row_count(ctx: _Context, refs: Sequence[Reference], rows: int) -> int:
    """`rows`, or fewer when a unique set is made only of columns with few possible values
    (those columns then take distinct values: `ctx.cycle`)."""
    domain: dict[str, int] = {}
    for ref in refs:
        if ref.rows is not None:
            for c in ref.fk.columns:
                domain.setdefault(c, len(ref.rows))
    for name, rule in ctx.rules.columns.items():
        if rule.allowed:
            domain.setdefault(name, len(set(rule.allowed)))
        elif rule.equal:
            domain.setdefault(name, 1)
    for col in ctx.table.columns:
        family = type_family(col.type, enums=ctx.enums)
        if family == "enum" and col.type in ctx.enums:
            domain.setdefault(col.name, len(ctx.enums[col.type]))
        elif family == "boolean":
            domain.setdefault(col.name, 2)
    count = rows
    for uniq in _unique_sets(ctx.table):
        if uniq and uniq <= set(domain):
            count = min(count, max(math.prod(domain[c] for c in uniq), 1))
            ctx.cycle |= uniq
    return count


def _logical(ctx: _Context, col: Column, count: int) -> list[Any] | _Omit | str:
    """Values for one column before their storage form, `_OMIT`, or (a str) why the table
    cannot be filled."""
    if col.generated is not None or col.identity == "always":
        return _OMIT
    rule = ctx.rules.columns.get(col.name)
    allowed = ctx.enums.get(col.type) or (rule.allowed if rule else ())
    if allowed:
        cycle = col.name in ctx.cycle
        return [allowed[i % len(allowed)] if cycle else allowed[0] for i in range(count)]
    if rule is not None and rule.equal:
        return [rule.equal[0]] * count
    family = type_family(col.type, enums=ctx.enums)
    made = [
        natural(ctx.table.name, col, family, i + 1, col.name in ctx.table.primary_key)
        for i in range(count)
    ]
    return _bend(made, family, rule) if rule is not None else made


def _stored(ctx: _Context, col: Column, logical: list[Any]) -> list[Any] | _Omit | str:
    family = type_family(col.type, enums=ctx.enums)
    name = ctx.table.name
    out = [stored(v, col, family, ctx.dialect, i + 1, name) for i, v in enumerate(logical)]
    if any(v is None for v in out):
        if col.default is not None or col.nullable:
            return _OMIT
        return f"{name}.{col.name} has type {col.type}, which the probe cannot fill"
    return out


def _bend(made: list[Any], family: str, rule: Rule) -> list[Any]:
    """The values moved into what the column's checks ask (bounds, lengths); the database
    judges what is left."""
    if family in _NUMBERS and all(isinstance(v, int | float) for v in made):
        return _numbers(made, rule, family == "integer")
    if family in ("date", "datetime") and all(isinstance(v, dt.date) for v in made):
        return _moments(made, rule)
    if family in ("string", "enum") and all(isinstance(v, str) for v in made):
        out = []
        for v in made:
            v = v.zfill(rule.min_length)
            out.append(v[-rule.max_length :] if rule.max_length else v)
        return out
    return made


def _order(
    less: Sequence[tuple[str, str, bool]], values: dict[str, list[Any]], made: Mapping[str, Any]
) -> None:
    """Raise the values of each column that a check keeps above another (`a < b`) until
    every row obeys, in as many passes as there are such pairs (chains `a < b < c`)."""
    for _ in range(len(less)):
        for a, b, strict in less:
            if a not in values or b not in made:
                continue
            for i, (low, high) in enumerate(zip(values[a], values[b], strict=True)):
                step = _step(low, high)
                if step is not None and not (high > low if strict else high >= low):
                    values[b][i] = low + step


def _step(low: Any, high: Any) -> Any:
    """The smallest step the probe takes between two values of one kind (None: no kind)."""
    if isinstance(low, bool) or isinstance(high, bool):
        return None
    if isinstance(low, int) and isinstance(high, int):
        return 1
    if isinstance(low, int | float) and isinstance(high, int | float):
        return 0.5
    if isinstance(low, dt.date) and type(low) is type(high):
        return dt.timedelta(days=1)
    return None


def _numbers(made: list[Any], rule: Rule, integral: bool) -> list[Any]:
    lower = [(b, s) for b, s in rule.lower if isinstance(b, int | float)]
    upper = [(b, s) for b, s in rule.upper if isinstance(b, int | float)]

    def fits(v: float) -> bool:
        return (
            all(v > b if s else v >= b for b, s in lower)
            and all(v < b if s else v <= b for b, s in upper)
            and v not in rule.not_equal
        )

    if all(fits(v) for v in made):
        return made
    step = 1 if integral else 0.5
    if lower:
        start = max(b + (step if s else 0) for b, s in lower)
    else:
        start = min(b - (step if s else 0) for b, s in upper) - step * (len(made) - 1)
    start = math.ceil(start) if integral else start
    found = [v for k in range(len(made) + len(rule.not_equal)) if fits(v := start + k * step)]
    return [found[i % len(found)] for i in range(len(made))] if found else made


def _moments(made: list[Any], rule: Rule) -> list[Any]:
    """Dates or timestamps moved past the literal bounds of the column's checks."""
    day = dt.timedelta(days=1)
    for bound, strict in rule.lower:
        b = as_moment(bound)
        if b is not None and not _above(min(made), _like(b, made[0]), strict):
            made = [v + (_like(b, v) - min(made)) + day for v in made]
    for bound, strict in rule.upper:
        b = as_moment(bound)
        if b is not None and not _above(_like(b, made[0]), max(made), strict):
            made = [v - (max(made) - _like(b, v)) - day for v in made]
    return made


def _like(moment: dt.datetime, value: Any) -> Any:
    """A literal's moment in the type of `value` (a date or a datetime)."""
    return moment if isinstance(value, dt.datetime) else moment.date()


def _above(a: Any, b: Any, strict: bool) -> bool:
    return bool(a > b if strict else a >= b)


def _point_at_own_rows(
    table: Table, fk: ForeignKey, values: dict[str, list[Any]], count: int
) -> str | None:
    """Fill a self-reference: row 0 is a root (NULL) or points at itself, row i at row i-1.
    Why it cannot be filled, if so."""
    pairs = list(zip(fk.columns, fk.ref_columns, strict=True))
    if any(rc not in values or any(v is None for v in values[rc]) for _, rc in pairs):
        if _nullable(table, fk.columns):
            return None  # left NULL: the key it would point at is the database's to choose
        return (
            f"NOT NULL foreign key ({', '.join(fk.columns)}) references the table itself "
            "through a key the database generates"
        )
    for i in range(count):
        for target in (i - 1, i) if i else (None, 0):
            if target is None:
                free = [c for c, _ in pairs if values[c][i] is None]
                if free and _nullable(table, free):
                    break
                continue
            if all(values[c][i] in (None, values[rc][target]) for c, rc in pairs):
                for c, rc in pairs:
                    values[c][i] = values[rc][target]
                break
    return None


def _nullable(table: Table, names: Sequence[str]) -> bool:
    return all((col := table.column(n)) is not None and col.nullable for n in names)
