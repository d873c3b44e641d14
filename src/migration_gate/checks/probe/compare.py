"""What the data probe concludes from the rows before and after an upgrade (pure).

A table's state is its row count, the type family of each column, and the probe rows as
read back (values normalized by `norm.normalize`). `compare_table` tells kinds of change
apart (`Loss.kind`):

- `dropped`: the table is gone while it had rows (the caller looks for where they went);
- `rows`: fewer rows than before (`Outcome.lost` holds the probe rows no longer found);
- `shifted`: the values of column A now sit in column B of the same rows (`relocate`);
- `rewritten`: every probe value of a kept column changed, one to one, and every row is
  still there (hashed, encrypted, recomputed, normalized in place);
- `values`: some values of a kept column changed, or all became one value or NULL
  (dropped and re-added, reset to a default, overwritten).

Rows are matched by the primary key when it kept its values, else by any other probe
column whose values were distinct (an INTEGER key converted to UUID changes every key but
keeps the rows), else by value containment per column. A column whose type changed family,
or whose values changed representation (`timestamp` to `timestamptz`), is not compared.
The matched rows are returned too, so the probe follows its rows from revision to revision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from migration_gate.checks.probe.norm import Norm, Row, normalize, show
from migration_gate.checks.probe.relocate import shifted_by_values, shifted_columns, token

__all__ = [
    "Kind",
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

Kind = Literal["dropped", "rows", "moved", "values", "rewritten", "shifted"]
_COMPATIBLE = ({"enum", "string"},)


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
    """One change an upgrade made to the data of a table."""

    table: str
    kind: Kind
    #: rows before (dropped, rows, moved) or probe rows compared (values, rewritten, shifted)
    before: int
    #: rows after (rows) or probe rows whose value changed (values, rewritten, shifted)
    after: int = 0
    column: str | None = None
    #: (value before, value after) samples, shown in messages
    examples: tuple[tuple[str, str], ...] = ()
    #: shifted: (column the values were in, column they are in now)
    mapping: tuple[tuple[str, str], ...] = ()
    #: the columns rows were matched by (values, rewritten, shifted)
    key: tuple[str, ...] = ()
    #: moved: table → probe rows found there
    found: tuple[tuple[str, int], ...] = ()
    #: values, rewritten: the column (gone now) whose values the column holds now, row for
    #: row: it was dropped and that column renamed into its place
    replaced_by: str | None = None
    #: values: the one value every changed row holds now (`show` form), if they hold one
    uniform: str | None = None


@dataclass(frozen=True)
class Outcome:
    losses: tuple[Loss, ...] = ()
    #: the probe rows as they are now (tracked columns only), to follow them on
    rows: tuple[Row, ...] = ()
    families: Mapping[str, str] = field(default_factory=dict)
    #: the probe rows before that were not found again
    lost: tuple[Row, ...] = ()


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
    table: str,
    column: str,
    pairs: Sequence[tuple[Norm | None, Norm | None]],
    key: tuple[str, ...],
    all_kept: bool,
) -> Loss | None:
    known = [(b, a) for b, a in pairs if b is not None]
    if not known or any(a is not None and a[0] != b[0] for b, a in known):
        return None  # nothing to compare, or the representation changed (a conversion)
    changed = [(b, a) for b, a in known if a != b]
    if not changed:
        return None
    now = {a for _, a in changed}
    return Loss(
        table,
        _rewritten_or_lost(known, changed, all_kept),
        before=len(known),
        after=len(changed),
        column=column,
        examples=tuple((show(b), show(a)) for b, a in changed[:3]),
        key=key,
        uniform=show(next(iter(now))) if len(now) == 1 else None,
    )


def _rewritten_or_lost(
    known: Sequence[tuple[Norm | None, Norm | None]],
    changed: Sequence[tuple[Norm | None, Norm | None]],
    all_kept: bool,
) -> Kind:
    """`rewritten` when every row is there and every value changed one to one (distinct
    values stay distinct: a function of the old value), else `values` (some values
    overwritten, or many values made one: a default, NULL, a constant)."""
    before = {b for b, _ in known}
    after = [a for _, a in known]
    one_to_one = len(before) >= 2 and len(set(after)) == len(before)
    if all_kept and len(changed) == len(known) and None not in after and one_to_one:
        return "rewritten"
    return "values"


def _by_containment(
    table: str, columns: Sequence[str], known: Sequence[Row], current: Sequence[Row]
) -> list[Loss]:
    def tokens(rows: Sequence[Row], c: str) -> set[str]:
        return {t for row in rows if (t := token(row.get(c))) is not None}

    mapping = shifted_by_values(
        known, current, [c for c in columns if not tokens(known, c) <= tokens(current, c)]
    )
    losses = [_shifted(table, mapping, len(known), ())] if mapping else []
    moved = {a for a, _ in mapping}
    for c in columns:
        now = {v for row in current if (v := row.get(c)) is not None}
        was = [v for row in known if (v := row.get(c)) is not None]
        if c in moved or not was or (now and {v[0] for v in now} != {v[0] for v in was}):
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
                    uniform=sample if len(now) <= 1 else None,
                )
            )
    return losses


def _shifted(table: str, mapping: list[tuple[str, str]], rows: int, key: tuple[str, ...]) -> Loss:
    return Loss(table, "shifted", before=rows, after=rows, mapping=tuple(mapping), key=key)


def compare_table(name: str, before: TableState, after: TableState | None) -> Outcome:
    """What an upgrade did to the data of table `name` (`after` None: the table is gone)."""
    if after is None:
        gone = (Loss(name, "dropped", before=before.row_count),) if before.row_count else ()
        return Outcome(gone, lost=before.rows)
    losses: list[Loss] = []
    if after.row_count < before.row_count:
        losses.append(Loss(name, "rows", before=before.row_count, after=after.row_count))
    columns = _comparable(before, after)
    known = before.rows
    if not known or not after.rows:
        return Outcome(tuple(losses), families=after.families, lost=known)
    key, matched = _match(known, after.rows, _candidate_keys(known, columns, before.primary_key))
    if key is None:
        losses.extend(_by_containment(name, columns, known, after.rows))
        return Outcome(tuple(losses), families=after.families)
    pairs = [(row, after.rows[j]) for row, j in zip(known, matched, strict=True) if j is not None]
    lost = tuple(row for row, j in zip(known, matched, strict=True) if j is None)
    all_kept = not lost and after.row_count >= before.row_count
    others = [c for c in columns if c not in key]
    changed = [c for c in others if any(token(b.get(c)) != token(a.get(c)) for b, a in pairs)]
    mapping = shifted_columns(pairs, changed)
    if mapping:
        losses.append(_shifted(name, mapping, len(pairs), key))
    moved = {a for a, _ in mapping}
    for c in others:
        if c not in moved:
            loss = _changed_values(name, c, [(b.get(c), a.get(c)) for b, a in pairs], key, all_kept)
            if loss is not None:
                losses.append(loss)
    losses = _replaced(losses, before, after, pairs)
    followed = tuple({c: a.get(c) for c in b if c in after.families} for b, a in pairs)
    return Outcome(tuple(losses), followed, after.families, lost)


def _replaced(
    losses: list[Loss], before: TableState, after: TableState, pairs: Sequence[tuple[Row, Row]]
) -> list[Loss]:
    """A changed column whose values are now, row for row, those of a column that is gone:
    the column was dropped and the other renamed into its place (not a rewrite in place)."""
    gone = [c for c in before.families if c not in after.families]
    if not gone:
        return losses
    out = []
    for loss in losses:
        col = loss.column
        if col is not None and loss.kind in ("values", "rewritten"):
            now = [token(a.get(col)) for _, a in pairs]
            if any(t is not None for t in now):
                for g in gone:
                    if now == [token(b.get(g)) for b, _ in pairs]:
                        loss = dataclasses.replace(loss, replaced_by=g)
                        break
        out.append(loss)
    return out


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
