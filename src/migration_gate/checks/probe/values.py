"""One probe value for one column (pure): its logical value, then its storage form.

`natural` makes the n-th value of a column from its type family alone (integers, UUIDs,
text within its length, booleans, dates and timestamps, JSON, numerics, binary); the
generator may bend it to the column's check constraints (`constraints`) before `stored`
turns it into the form the driver takes for the dialect: on SQLite a UUID is the 32 hex
digits `sa.Uuid` stores and a timestamp the text SQLAlchemy writes; on PostgreSQL they are
Python objects psycopg adapts.

Values are chosen to survive ordinary migrations and to be told apart afterwards: distinct
per row (a later unique constraint holds); text is digits (they convert to numbers or JSON,
and lower() or trim() change nothing) that carry a tag of the table and column, so that
values found in another column or table after an upgrade say where they came from (columns
shifted by an `INSERT … SELECT *`, rows moved to another table); so do JSON documents
(`{"probe": "table.column.n"}`), bytes, and the text literals of other PostgreSQL types;
integer keys are large and tagged per table (a later seed row with id 1 does not collide,
nor do rows copied from one table into another); every timestamp column of a row holds the
same moment (a later rule `ends_at >= starts_at` holds), so moments are no evidence of where
a row came from (`relocate.strong`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
import zlib
from decimal import Decimal
from typing import Any

from migration_gate.snapshot.model import Column

__all__ = ["NAMESPACE", "binary", "digits", "length_of", "natural", "stored", "tag"]

NAMESPACE = uuid.UUID("6f0b3c1e-6a2d-4c55-9a51-6d6967726174")
_KEY_BASE = 900_000
_SMALL_KEY_BASE = 30_000
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
_MOMENT = dt.datetime(2001, 2, 3, 4, 5, 6)
#: PostgreSQL types outside the families that still take a plain text literal; {d} is the
#: tagged digits of the text family, {hi}:{lo} the column's tag in two bytes
_PG_LITERALS = {
    "interval": "{n} days",
    "inet": "10.0.0.{n}",
    "cidr": "10.0.{n}.0/24",
    "macaddr": "08:00:2b:{hi:02x}:{lo:02x}:{m:02x}",
    "tsvector": "probe{d}",
    "xml": "<probe n='{d}'/>",
    "money": "{d}.00",
}


def tag(*names: str) -> int:
    """A stable number from 0 to 899 for a table or a table's column."""
    return zlib.crc32(".".join(names).encode()) % 900


def length_of(type_: str) -> int | None:
    """The length of `varchar(n)`, `char(n)`..., None when the type has none."""
    m = re.search(r"\((\d+)\)", type_)
    return int(m.group(1)) if m else None


def natural(table: str, col: Column, family: str, n: int, in_key: bool) -> Any:
    """The n-th (from 1) probe value of a column as a Python value (before `stored`); None
    when the family is not one the probe knows (the caller decides by dialect)."""
    t = col.type.lower()
    if family == "integer":
        if not in_key:
            return n
        if "small" in t or "int2" in t:
            return _SMALL_KEY_BASE + tag(table) % 27 * 100 + n
        return _KEY_BASE + tag(table) * 100 + n
    if family == "uuid":
        return uuid.uuid5(NAMESPACE, f"{table}.{col.name}.{n}")
    if family in ("string", "enum"):
        return text(table, col.name, length_of(t), n)
    if family == "boolean":
        return n % 2 == 1
    if family == "datetime":
        return _MOMENT + dt.timedelta(days=n)
    if family == "date":
        return _MOMENT.date() + dt.timedelta(days=n)
    if family == "time":
        return dt.time(4, 5, n % 60)
    if family == "numeric":
        return n
    if family == "float":
        return n + 0.5
    if family == "json":
        return {"probe": f"{table}.{col.name}.{n}"}
    if family == "binary":
        return binary(table, col.name, length_of(t), n)
    return None


def stored(value: Any, col: Column, family: str, dialect: str, n: int, table: str) -> Any:
    """`value` (from `natural`, maybe bent to a constraint) in the driver's storage form;
    for the families `natural` does not know, the dialect's literal or None."""
    sqlite = dialect == "sqlite"
    t = col.type.lower()
    if value is None:
        if sqlite:
            return text(table, col.name, length_of(t), n)
        if t.endswith("[]"):
            return "{}"
        literal = _PG_LITERALS.get(re.sub(r"\(.*\)$", "", t).strip())
        if literal is None:
            return None
        mark = tag(table, col.name)
        d = digits(table, col.name, n)
        return literal.format(n=n, d=d, hi=mark // 256, lo=mark % 256, m=n % 256)
    if isinstance(value, uuid.UUID):
        return value if t == "uuid" and not sqlite else value.hex  # char(32): sa.Uuid's form
    if isinstance(value, bool):
        return int(value) if sqlite else value
    if isinstance(value, dt.datetime):
        if sqlite:
            return value.strftime(_SQLITE_DATETIME)
        return value.replace(tzinfo=dt.UTC) if t.startswith("timestamptz") else value
    if isinstance(value, dt.date):
        return value.isoformat() if sqlite else value
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.%f") if sqlite else value
    if family == "numeric" and not sqlite and isinstance(value, int | float):
        return Decimal(str(value))
    if family == "json" and not isinstance(value, str):
        return json.dumps(value)
    return value


def text(table: str, column: str, length: int | None, n: int) -> str:
    """Distinct text within `length`: UUID text where the column looks like it holds UUIDs
    (32 or 36 characters, or an id-like name), an address for email-like columns, else
    digits tagged with the table and column."""
    name = column.lower()
    idlike = name == "id" or name.endswith(("_id", "uuid", "guid"))
    if length in (32, 36) or (idlike and (length is None or length >= 32)):
        u = uuid.uuid5(NAMESPACE, f"{table}.{column}.{n}")
        return str(u) if length is None or length >= 36 else u.hex
    tagged = digits(table, column, n)
    if "email" in name:
        address = f"p{tagged}@example.com"
        if length is None or len(address) <= length:
            return address
    for candidate in (tagged, str(1000 + n)):
        if length is None or len(candidate) <= length:
            return candidate
    return str(n)[-length:] if length else str(n)


def digits(table: str, column: str, n: int) -> str:
    """The n-th value of a column as digits tagged with its table and column (six or more)."""
    return f"{100 + tag(table, column)}{n:03d}"


def binary(table: str, column: str, length: int | None, n: int) -> bytes:
    """Distinct bytes within `length` that name the table and column: the text
    `probe:table.column.n`, or a digest of it where the column is shorter."""
    raw = f"probe:{table}.{column}.{n}".encode()
    if length is None or len(raw) <= length:
        return raw
    return hashlib.blake2b(raw, digest_size=min(max(length, 1), 64)).digest()
