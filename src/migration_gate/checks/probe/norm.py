"""The probe's view of a value read back from the database: normalized, hashable (pure).

`normalize` makes values of equal meaning equal whatever form the driver returns
(`char(n)` padding, `Decimal('1.00')`, a JSON dict from `json` or `jsonb`, aware timestamps
in UTC), and tags each with its representation, so that a conversion (`timestamp` to
`timestamptz`) is told apart from a change of value. `show` is its short human form.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Norm", "Row", "normalize", "show"]

#: a normalized value: (representation tag, hashable value)
Norm = tuple[str, Any]
Row = Mapping[str, Norm | None]


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
