"""Masking rules: `--mask table.column[=kind]` as a PostgreSQL expression over the column.

Every fake is derived from a keyed SHA-256 of the original value (`sha256(key || value)`,
the key held in the session setting `migration_gate.mask_key`, never in a statement), so
the same input gives the same output (joins on masked columns still match: a foreign key
column is masked like the column it references) and distinct inputs give distinct outputs
in practice (64 bits and more of the hash; a unique column keeps at least 16 hex digits).
NULL stays NULL. The fake has the column's type and fits its length; text keeps its length,
so a masked table is about as big as the original. Pure: builds SQL text, runs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migration_gate.errors import ConfigError

__all__ = ["KEY_SETTING", "KINDS", "MaskSpec", "default_kind", "mask_expression", "parse_mask"]

KEY_SETTING = "migration_gate.mask_key"
KINDS = ("hash", "email", "name", "phone", "uuid", "number", "date", "json", "bool", "null")

_FIRST = ("Alex", "Sam", "Robin", "Kim", "Jo", "Lee", "Max", "Noa", "Ari", "Eli")
_LAST = (
    "Smith",
    "Garcia",
    "Novak",
    "Tanaka",
    "Okafor",
    "Silva",
    "Berg",
    "Rossi",
    "Khan",
    "Ivanova",
)
_SPEC = re.compile(r"^(?P<table>[^=\s]+)\.(?P<column>[^.=\s]+)(?:=(?P<kind>[a-z]+))?$")
_STRING = re.compile(r"^(varchar|char|text|citext|bpchar)(\((?P<n>\d+)\))?$")
_INTEGER = {"smallint": 32767, "integer": 2147483647, "bigint": None}
_NUMERIC = re.compile(r"^numeric(\((?P<p>\d+)(,(?P<s>\d+))?\))?$")
_TIME = re.compile(r"^(date|timestamp|timestamptz)(\(\d+\))?$")


@dataclass(frozen=True)
class MaskSpec:
    """One `--mask`: a table (`schema.table` outside the current schema), a column, a kind
    (None: chosen from the column's type and name)."""

    table: str
    column: str
    kind: str | None = None

    def text(self, kind: str | None = None) -> str:
        chosen = kind or self.kind
        return f"{self.table}.{self.column}" + (f"={chosen}" if chosen else "")


def parse_mask(text: str) -> MaskSpec:
    """`users.email`, `users.email=email`, `audit.log.ip=hash`; a ConfigError otherwise."""
    m = _SPEC.match(text.strip())
    if m is None:
        raise ConfigError(
            f"--mask {text!r} is not table.column[=kind]",
            hint=f"e.g. --mask users.email=email; kinds: {', '.join(KINDS)}",
        )
    kind = m.group("kind")
    if kind is not None and kind not in KINDS:
        raise ConfigError(
            f"--mask {text!r}: unknown kind {kind!r}", hint=f"use one of {', '.join(KINDS)}"
        )
    return MaskSpec(m.group("table"), m.group("column"), kind)


def default_kind(column: str, type_: str) -> str | None:
    """The kind a column gets when none is given, from its (normalized) type and name."""
    if _STRING.match(type_):
        lowered = column.lower()
        for word, kind in (("email", "email"), ("phone", "phone"), ("name", "name")):
            if word in lowered:
                return kind
        return "hash"
    if type_ == "uuid":
        return "uuid"
    if type_ in _INTEGER or _NUMERIC.match(type_) or type_ in ("real", "double precision"):
        return "number"
    if _TIME.match(type_):
        return "date"
    if type_ in ("json", "jsonb"):
        return "json"
    if type_ == "boolean":
        return "bool"
    return None


def _hash(col: str) -> str:
    """64 hex digits of the keyed SHA-256 of the value (NULL for NULL)."""
    return (
        f"encode(sha256(convert_to(current_setting('{KEY_SETTING}') || CAST({col} AS text), "
        "'UTF8')), 'hex')"
    )


def _bigint(col: str) -> str:
    """A number 0 .. 2^60 - 1 from the hash."""
    return f"CAST(CAST('x' || substr({_hash(col)}, 1, 15) AS bit(60)) AS bigint)"


def _fit(expr: str, max_len: int | None) -> str:
    return f"left({expr}, {max_len})" if max_len else expr


def _string(kind: str, col: str, max_len: int | None, unique: bool) -> str:
    h = _hash(col)
    if kind == "hash":
        least = 16 if unique else 8
        length = f"GREATEST(length(CAST({col} AS text)), {least})"
        return _fit(f"left(repeat({h}, CAST(ceil({length} / 64.0) AS int)), {length})", max_len)
    if kind == "email":
        return _fit(f"'user_' || left({h}, 16) || '@example.com'", max_len)
    if kind == "name":
        first = "ARRAY[" + ", ".join(f"'{n}'" for n in _FIRST) + "]"
        last = "ARRAY[" + ", ".join(f"'{n}'" for n in _LAST) + "]"
        b = _bigint(col)
        expr = (
            f"({first})[1 + {b} % {len(_FIRST)}] || ' ' || ({last})[1 + ({b} / 16) % {len(_LAST)}]"
        )
        if unique:
            expr += f" || ' ' || left({h}, 16)"
        return _fit(expr, max_len)
    if kind == "phone":
        if unique:
            return _fit(f"'+' || lpad(CAST({_bigint(col)} AS text), 19, '0')", max_len)
        return _fit(f"'+1-555-' || lpad(CAST({_bigint(col)} % 10000000 AS text), 7, '0')", max_len)
    if kind == "uuid":
        return _fit(f"CAST(CAST(left({h}, 32) AS uuid) AS text)", max_len)
    raise ValueError(kind)


def _number(col: str, type_: str) -> str | None:
    b = _bigint(col)
    if type_ in _INTEGER:
        top = _INTEGER[type_]
        return f"{b} % {top}" if top else b
    m = _NUMERIC.match(type_)
    if m is not None:
        if m.group("p") is None:
            return b
        precision, scale = int(m.group("p")), int(m.group("s") or 0)
        digits = precision - scale
        whole = f"{b} % {10**digits}" if digits > 0 else "0"
        return f"round(CAST({whole} AS numeric) + ({b} % 1000) / 1000.0, {scale})"
    if type_ in ("real", "double precision"):
        return f"({b} % 100000000) / 100.0"
    return None


def mask_expression(
    col: str, column: str, type_: str, kind: str, *, nullable: bool, unique: bool
) -> str:
    """The fake for the column `col` (quoted SQL) of `type_` (normalized, as in snapshots),
    or a ConfigError saying why this kind cannot mask this column."""

    def refuse(why: str) -> ConfigError:
        usable = default_kind(column, type_)
        return ConfigError(
            f"--mask {column}={kind}: {why} (the column is {type_})",
            hint=f"use ={usable}"
            if usable
            else "use =null on a nullable column, or do not mask it",
        )

    expr: str | None
    if kind == "null":
        if not nullable:
            raise refuse("the column is NOT NULL")
        return "NULL"
    s = _STRING.match(type_)
    if s is not None and kind in ("hash", "email", "name", "phone", "uuid"):
        max_len = int(s.group("n")) if s.group("n") else None
        expr = _string(kind, col, max_len, unique)
    elif kind == "uuid" and type_ == "uuid":
        expr = f"CAST(left({_hash(col)}, 32) AS uuid)"
    elif kind == "number":
        expr = _number(col, type_)
    elif kind == "date" and _TIME.match(type_):
        days = f"({_bigint(col)} % 731 - 365)"
        expr = (
            f"{col} + CAST({days} AS int)"
            if type_ == "date"
            else f"{col} + {days} * interval '1 day'"
        )
    elif kind == "json" and type_ in ("json", "jsonb"):
        expr = f"CAST(json_build_object('masked', left({_hash(col)}, 16)) AS {type_})"
    elif kind == "bool" and type_ == "boolean":
        expr = f"{_bigint(col)} % 2 = 0"
    else:
        expr = None
    if expr is None:
        raise refuse(f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} fake does not fit")
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE {expr} END"
