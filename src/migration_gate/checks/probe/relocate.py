"""Where probe values went when they left their place (pure): another column, another table.

Two mechanisms move values without losing them from the database, and only one of them is
harmless:

- `shifted_columns`: the values of column A now sit in column B of the same rows, the mark
  of an `INSERT INTO new SELECT * FROM old` into a table whose columns are in another order
  (every value lands in the wrong column: an error, shown as the mapping);
- `destinations`: rows gone from one table are found among the rows another table gained
  in the same revision, as values or inside JSON documents (moved before the old table was
  dropped, archived, or turned into documents; `gained` leaves out the rows the table held
  before, such as the probe's own): not a loss.

Values are compared by `token`, a representation-free text of a normalized value, because a
value copied into a column of another type is stored in that type's form (`5` in a text
column is `'5'`). Probe values carry a tag of their table and column (`values`), so a token
found elsewhere says where it came from; values without one (a flag, a small number, the
moment every probe row holds, an empty array) say nothing (`strong`), nor do the values a
row takes from elsewhere (its references, enum labels: the caller leaves those columns out).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from migration_gate.checks.probe.norm import Norm, Row, normalize

__all__ = ["destinations", "gained", "shifted_by_values", "shifted_columns", "strong", "token"]

_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
#: a date, a time or a timestamp written as text (SQLite stores them so)
_MOMENT = re.compile(
    r"(\d{4}-\d{2}-\d{2})?([ T]?\d{2}:\d{2}(:\d{2}(\.\d*)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?"
)


def token(value: Norm | None) -> str | None:
    """The text of a normalized value, the same whatever type stores it."""
    if value is None:
        return None
    tag, raw = value
    text = str(raw)
    if tag == "bool":
        return "1" if raw else "0"
    if tag == "str":
        if _UUID.fullmatch(text.lower()):
            return text.lower().replace("-", "")
        try:  # a timestamp SQLite stores as text
            return dt.datetime.fromisoformat(text).isoformat()
        except ValueError:
            return text
    return text


def strong(value: Norm | None) -> bool:
    """Whether a value is distinctive enough to say a row came from a table: text of six
    characters or more (the probe's tagged digits; shorter probe text carries no tag) that is
    no date or time, UUIDs, bytes, JSON but an empty array or object, integers of five digits
    or more (probe keys)."""
    if value is None:
        return False
    tag, raw = value
    if tag in ("uuid", "bytes"):
        return True
    if tag == "json":
        return raw not in ("[]", "{}")
    if tag == "str":
        text = str(raw)
        return len(text) >= 6 and _MOMENT.fullmatch(text) is None and text not in ("[]", "{}")
    if tag == "num":
        return isinstance(raw, Decimal) and raw.is_finite() and abs(raw) >= 10_000
    return False


def shifted_columns(
    pairs: Sequence[tuple[Row, Row]], changed: Sequence[str]
) -> list[tuple[str, str]]:
    """(A, B) for each changed column A whose values now sit in another column B of the
    same rows (B changed too, or is not a column the rows had). `pairs` holds the rows
    before and after, matched by a key."""
    if not pairs:
        return []
    had, columns = pairs[0][0], list(pairs[0][1])
    mapping = []
    for a in changed:
        was = [token(before.get(a)) for before, _ in pairs]
        if all(w is None for w in was):
            continue
        for b in columns:
            if b == a or (b in had and b not in changed):
                continue
            now = [token(after.get(b)) for _, after in pairs]
            if all(w is None or w == n for w, n in zip(was, now, strict=True)):
                mapping.append((a, b))
                break
    return mapping


def shifted_by_values(
    known: Sequence[Row], current: Sequence[Row], changed: Sequence[str]
) -> list[tuple[str, str]]:
    """`shifted_columns` without matched rows (no key kept its place): A → B when every
    value column A had is now somewhere in column B, and not in A."""
    if not current:
        return []
    columns = list(current[0])
    mapping = []
    for a in changed:
        was = {t for row in known if (t := token(row.get(a))) is not None}
        if not was:
            continue
        for b in columns:
            if b == a:
                continue
            if was <= {t for row in current if (t := token(row.get(b))) is not None}:
                mapping.append((a, b))
                break
    return mapping


def destinations(
    lost: Sequence[Row], candidates: Mapping[str, Sequence[Row]]
) -> dict[str, int] | None:
    """Where each lost row is found: table → rows found there; None when a row is found
    nowhere. A row is found in a table when one of its rows holds a distinctive value
    (`strong`) of it, as a value or inside a JSON document (a row turned into a document of
    another table); the candidates are the rows tables gained in the revision."""
    if not lost:
        return None
    indexed = {
        name: {t for row in rows for v in row.values() for t in _held(v)}
        for name, rows in candidates.items()
    }
    found: dict[str, int] = {}
    for row in lost:
        marks = {token(v) for v in row.values() if strong(v)}
        where = next((name for name, seen in sorted(indexed.items()) if marks & seen), None)
        if where is None:
            return None
        found[where] = found.get(where, 0) + 1
    return found


def _held(value: Norm | None) -> set[str]:
    """The tokens of the distinctive values a value holds: itself, and the scalars inside it
    when it is a JSON document (SQLite stores one as text)."""
    out = {t for t in (token(value),) if t is not None and strong(value)}
    if value is None or value[0] not in ("json", "str") or str(value[1])[:1] not in ("[", "{"):
        return out
    try:
        doc = json.loads(str(value[1]))
    except ValueError:
        return out
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif strong(leaf := normalize(item)) and (t := token(leaf)) is not None:
            out.add(t)
    return out


def gained(rows: Sequence[Row], had: Iterable[Row]) -> list[Row]:
    """The rows of a table that are none of the rows it `had` (the probe's own rows, as
    recorded before the upgrade and as followed after it): a row it had matches on every
    column recorded for it."""
    marks = [m for row in had if (m := {c: v for c, v in row.items() if v is not None})]
    return [r for r in rows if not any(all(r.get(c) == v for c, v in m.items()) for m in marks)]
