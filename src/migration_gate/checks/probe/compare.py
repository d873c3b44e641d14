"""What the data probe concludes from the rows before and after an upgrade (pure).

A table's state is its row count, the type family of each column, and the probe rows as
read back (values normalized by `normalize`, so that `char(n)` padding, `Decimal('1.00')`
and a JSON dict read from `json` or `jsonb` compare equal). `compare_table` finds:

- `dropped`: the table is gone while it had rows;
- `rows`: fewer rows than before;
- `values`: a column that kept its name and a compatible type family, whose probe values
  changed (dropped and re-added, reset to its default).

Rows are matched by the primary key when it kept its values, else by any other probe
column whose values were distinct (an INTEGER key converted to UUID changes every key but
keeps the rows), else by value containment per column. A column whose type changed family,
or whose values changed representation (`timestamp` to `timestamptz`), is not compared.
The matched rows are returned too, so the probe follows its rows from revision to revision.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = [
    "Loss",
    "Norm",
    "Outcome",
    "Row",
    "TableState",
    "compare_table",
    "compatible",
    "find_rename",
    "normalize",
    "show",
]

#: a normalized value: (representation tag, hashable value)
Norm = tuple[str, Any]
Row = Mapping[str, Norm | None]
_COMPATIBLE = ({"enum", "string"},)


def normalize(value: Any) -> Norm | None:
    """A hashable form of a value read from the database; None for NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float | Decimal):
        try:
            return ("num", Decimal(str(value)).normalize())
        except InvalidOperation:
            return ("num", str(value))
    if isinstance(value, str):
        return ("str", value.rstrip(" "))
    if isinstance(value, bytes | bytearray | memoryview):
        return ("bytes", bytes(value).hex())
    if isinstance(value, uuid.UUID):
        return ("uuid", value.hex)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return ("datetimetz", value.astimezone(dt.UTC).replace(tzinfo=None).isoformat())
        return ("datetime", value.isoformat())
    if isinstance(value, dt.date | dt.time):
        return (type(value).__name__, value.isoformat())
    if isinstance(value, dt.timedelta):
        return ("interval", value.total_seconds())
    if isinstance(value, dict | list):
        return ("json", json.dumps(value, sort_keys=True, default=str))
    return ("other", repr(value))


def show(value: Norm | None) -> str:
    """A short human form of a normalized value."""
    if value is None:
        return "NULL"
    text = repr(value[1]) if value[0] in ("str", "json") else str(value[1])
    return text if len(text) <= 40 else text[:37] + "..."


def compatible(before: str, after: str) -> bool:
    """Whether values of the two type families can be compared."""
    return before == after or any({before, after} <= group for group in _COMPATIBLE)


@dataclass(frozen=True)
class TableState:
    """A table at one moment: row count, column families, and rows read."""

    row_count: int
    families: Mapping[str, str]
    rows: tuple[Row, ...] = ()
    primary_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loss:
    """One way an upgrade lost data of a table."""

    table: str
    kind: Literal["dropped", "rows", "values"]
    #: rows before (dropped, rows) or probe rows compared (values)
    before: int
    #: rows after (rows) or probe rows whose value changed (values)
    after: int = 0
    column: str | None = None
    #: (value before, value after) samples, shown in messages
    examples: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    losses: tuple[Loss, ...] = ()
    #: the probe rows as they are now (tracked columns only), to follow them on
    rows: tuple[Row, ...] = ()
    families: Mapping[str, str] = field(default_factory=dict)


def _comparable(before: TableState, after: TableState) -> list[str]:
    tracked = {c for row in before.rows for c in row}
    return [
        c
        for c, fam in before.families.items()
        if c in tracked and c in after.families and compatible(fam, after.families[c])
    ]


def _candidate_keys(
    known: Sequence[Row], columns: Sequence[str], primary_key: tuple[str, ...]
) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    if primary_key and set(primary_key) <= set(columns):
        keys.append(primary_key)
    for c in columns:
        values = [row.get(c) for row in known]
        if (c,) != primary_key and None not in values and len(set(values)) == len(values):
            keys.append((c,))
    return keys


def _match(
    known: Sequence[Row], current: Sequence[Row], keys: Sequence[tuple[str, ...]]
) -> tuple[tuple[str, ...] | None, list[int | None]]:
    """The key matching the most known rows to current rows, and the match."""
    best: tuple[tuple[str, ...] | None, list[int | None]] = (None, [None] * len(known))
    best_score = 0
    for key in keys:
        index: dict[tuple[Any, ...], int] = {}
        for j, row in enumerate(current):
            k = tuple(row.get(c) for c in key)
            if None not in k:
                index.setdefault(k, j)
        matched = [index.get(tuple(row.get(c) for c in key)) for row in known]
        score = sum(m is not None for m in matched)
        if score > best_score:
            best, best_score = (key, matched), score
            if score == len(known):
                break
    return best


def _changed_values(
    table: str, column: str, pairs: Sequence[tuple[Norm | None, Norm | None]]
) -> Loss | None:
    known = [(b, a) for b, a in pairs if b is not None]
    if not known or any(a is not None and a[0] != b[0] for b, a in known):
        return None  # nothing to compare, or the representation changed (a conversion)
    changed = [(b, a) for b, a in known if a != b]
    if not changed:
        return None
    return Loss(
        table,
        "values",
        before=len(known),
        after=len(changed),
        column=column,
        examples=tuple((show(b), show(a)) for b, a in changed[:3]),
    )


def _by_containment(
    table: str, columns: Sequence[str], known: Sequence[Row], current: Sequence[Row]
) -> list[Loss]:
    losses = []
    for c in columns:
        now = {v for row in current if (v := row.get(c)) is not None}
        was = [v for row in known if (v := row.get(c)) is not None]
        if not was or (now and {v[0] for v in now} != {v[0] for v in was}):
            continue
        missing = [v for v in was if v not in now]
        if missing:
            sample = show(next(iter(now))) if now else "NULL"
            losses.append(
                Loss(
                    table,
                    "values",
                    before=len(was),
                    after=len(missing),
                    column=c,
                    examples=tuple((show(v), sample) for v in missing[:3]),
                )
            )
    return losses


def compare_table(name: str, before: TableState, after: TableState | None) -> Outcome:
    """What an upgrade did to the data of table `name` (`after` None: the table is gone)."""
    if after is None:
        gone = (Loss(name, "dropped", before=before.row_count),) if before.row_count else ()
        return Outcome(gone)
    losses: list[Loss] = []
    if after.row_count < before.row_count:
        losses.append(Loss(name, "rows", before=before.row_count, after=after.row_count))
    columns = _comparable(before, after)
    known = before.rows
    if not known or not after.rows:
        return Outcome(tuple(losses), families=after.families)
    key, matched = _match(known, after.rows, _candidate_keys(known, columns, before.primary_key))
    if key is None:
        losses.extend(_by_containment(name, columns, known, after.rows))
        return Outcome(tuple(losses), families=after.families)
    for c in columns:
        if c in key:
            continue
        pairs = [
            (row.get(c), after.rows[j].get(c))
            for row, j in zip(known, matched, strict=True)
            if j is not None
        ]
        loss = _changed_values(name, c, pairs)
        if loss is not None:
            losses.append(loss)
    followed = tuple(
        {c: after.rows[j].get(c) for c in row if c in after.families}
        for row, j in zip(known, matched, strict=True)
        if j is not None
    )
    return Outcome(tuple(losses), followed, after.families)


def find_rename(before: TableState, candidates: Mapping[str, TableState]) -> str | None:
    """The new table that holds every row of a vanished table (a rename), if any."""
    for name, state in sorted(candidates.items()):
        if state.row_count < before.row_count:
            continue
        if not before.rows:
            if set(state.families) == set(before.families):
                return name
            continue
        columns = _comparable(before, state)
        _, matched = _match(
            before.rows, state.rows, _candidate_keys(before.rows, columns, before.primary_key)
        )
        if all(m is not None for m in matched):
            return name
    return None
