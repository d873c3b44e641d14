"""Whether changing a column from one normalized type to another can lose data.

Types are compared as the snapshot stores them (normalized by `snapshot.normalize`), by
family (`type_family`) and size. Widening is safe: a longer or unbounded string, a larger
integer, more numeric precision, a date to a timestamp, JSON to JSONB, anything to unbounded
text, an enum to a string. Turning a string into an enum is not data loss either: values outside the enum make
the migration fail loudly instead. Every other change can lose or alter values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migration_gate.snapshot.normalize import type_family

__all__ = ["can_lose_data", "family"]

_INT_SIZES = {
    "smallint": 2,
    "int2": 2,
    "smallserial": 2,
    "integer": 4,
    "int": 4,
    "int4": 4,
    "serial": 4,
    "mediumint": 4,
    "tinyint": 1,
    "bigint": 8,
    "int8": 8,
    "bigserial": 8,
}
_SIZE = re.compile(r"\(([^()]*)\)")
#: family changes that keep every value (enum labels as text: a label too long fails loudly)
_SAFE_ACROSS = frozenset({("integer", "numeric"), ("date", "datetime"), ("enum", "string")})


def family(type_: str, enums: Iterable[str] = ()) -> str:
    """The coarse family of a normalized type (see `snapshot.normalize.type_family`)."""
    return type_family(type_, enums=enums)


def _args(type_: str) -> tuple[int, ...] | None:
    m = _SIZE.search(type_)
    if not m:
        return None
    try:
        return tuple(int(p) for p in m.group(1).split(","))
    except ValueError:
        return None


def _base(type_: str) -> str:
    return _SIZE.sub("", type_).strip().lower()


def _string_widens(old: str, new: str) -> bool:
    new_size, old_size = _args(new), _args(old)
    if new_size is None:  # text, varchar without a length
        return _base(new) != "char" and _base(new) != "character"
    return old_size is not None and old_size[0] <= new_size[0] and _base(old) != "text"


def _numeric_widens(old: str, new: str) -> bool:
    o, n = _args(old), _args(new)
    if n is None:
        return True
    if o is None:
        return False
    o_scale = o[1] if len(o) > 1 else 0
    n_scale = n[1] if len(n) > 1 else 0
    return n_scale >= o_scale and n[0] - n_scale >= o[0] - o_scale


def can_lose_data(
    old: str,
    new: str,
    *,
    old_enums: Iterable[str] = (),
    new_enums: Iterable[str] = (),
    sized: bool = True,
) -> bool:
    """True when converting values of type `old` to type `new` can lose or alter some.

    `sized=False` (SQLite, which does not enforce lengths or sizes) compares families only.
    """
    old_l, new_l = old.strip().lower(), new.strip().lower()
    if old_l == new_l:
        return False
    of, nf = family(old_l, old_enums), family(new_l, new_enums)
    if not sized and of == nf:
        return False
    if nf == "string" and _args(new_l) is None and _base(new_l) not in ("char", "character"):
        return False  # unbounded text holds the text form of anything
    if of == "string" and nf == "enum":
        return False  # unknown values fail the migration instead of being lost
    if of != nf:
        return not (
            (of, nf) in _SAFE_ACROSS
            or (
                of == "integer"
                and _base(new_l) in ("double precision", "float8", "double")
                and _INT_SIZES.get(_base(old_l), 8) <= 4
            )
        )
    if of == "string":
        return not _string_widens(old_l, new_l)
    if of == "integer":
        return _INT_SIZES.get(_base(new_l), 0) < _INT_SIZES.get(_base(old_l), 8)
    if of == "numeric":
        return not _numeric_widens(old_l, new_l)
    if of == "float":
        return _base(new_l) in ("real", "float4") and _base(old_l) not in ("real", "float4")
    if of == "datetime":
        return False  # with / without time zone keeps the instant or the wall time
    # json / uuid / boolean keep their values; enum label changes are judged on the types
    return of not in ("json", "uuid", "boolean", "enum")
