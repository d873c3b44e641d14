"""SQL type names: one compact spelling per type (`sql_type`) and coarse families that
compare across dialects (`type_family`). Pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from migration_gate.snapshot.sqltokens import collapse_whitespace

__all__ = ["sql_type", "type_family"]


_PG_TYPE_NAMES = {
    "character varying": "varchar",
    "character": "char",
    "bpchar": "char",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "bit varying": "varbit",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "bool": "boolean",
    "float8": "double precision",
    "float4": "real",
    "decimal": "numeric",
}
_PG_TIME_RE = re.compile(r"^(timestamp|time)(\(\d+\))? (with|without) time zone$")
_MOD_RE = re.compile(r"^(?P<base>.*?)\s*(?P<mod>\([^()]*\))?$")


@lru_cache(maxsize=8192)
def sql_type(dialect: str, text: str) -> str:
    """Compact type name.

    PostgreSQL (`format_type` output): `character varying(200)` → `varchar(200)`, `timestamp
    with time zone` → `timestamptz`, `timestamp(3) without time zone` → `timestamp(3)`,
    `character varying(20)[]` → `varchar(20)[]`, `"MyEnum"` → `MyEnum`. SQLite (declared
    type): only case and spacing change, `VARCHAR( 200 )` → `varchar(200)`, since SQLite
    keeps whatever name was declared (and `INT` is not `INTEGER` for a primary key).
    """
    t = collapse_whitespace(text)
    if dialect != "postgresql":
        return re.sub(r"\s*([(),])\s*", r"\1", t.lower()).replace('"', "")
    arrays = ""
    while t.endswith("]") and "[" in t:
        t, arrays = t[: t.rindex("[")].rstrip(), arrays + "[]"
    m = _PG_TIME_RE.match(t)
    if m:
        return m.group(1) + ("tz" if m.group(3) == "with" else "") + (m.group(2) or "") + arrays
    parts = _MOD_RE.match(t)
    assert parts is not None  # the pattern matches any text
    base = parts.group("base").replace('"', "")
    mod = re.sub(r"\s+", "", parts.group("mod") or "")
    return _PG_TYPE_NAMES.get(base, base) + mod + arrays


_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("uuid", ("uuid", "char(32)")),
    (
        "integer",
        (
            "integer",
            "int",
            "bigint",
            "smallint",
            "int2",
            "int4",
            "int8",
            "tinyint",
            "mediumint",
            "serial",
            "bigserial",
            "smallserial",
        ),
    ),
    ("boolean", ("boolean", "bool")),
    ("datetime", ("timestamp", "timestamptz", "datetime")),
    ("date", ("date",)),
    ("time", ("time", "timetz")),
    ("numeric", ("numeric", "decimal")),
    ("float", ("real", "double precision", "double", "float", "float4", "float8")),
    ("json", ("json", "jsonb")),
    ("binary", ("bytea", "blob", "binary", "varbinary")),
    (
        "string",
        (
            "varchar",
            "char",
            "character",
            "character varying",
            "text",
            "nvarchar",
            "nchar",
            "clob",
            "citext",
            "string",
        ),
    ),
)


def type_family(type_: str, *, enums: Iterable[str] = ()) -> str:
    """Coarse family of a normalized type on either dialect, for cross-dialect comparison:
    integer, uuid, string, boolean, datetime, date, time, numeric, float, json, binary, enum,
    other. `enums` names the enum types of the snapshot; arrays are "other"."""
    t = type_.strip().lower()
    if t in set(enums):
        return "enum"
    if t.endswith("]"):
        return "other"
    base = re.sub(r"\s*\(.*\)$", "", t)
    for family, names in _FAMILIES:
        if t in names or base in names:
            return family
    return "other"
