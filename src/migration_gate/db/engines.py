"""The tool's own engines: one place that knows how to open a database the way the tool needs.

Synchronous, without a pool (NullPool: a connection is the tool's for as long as it holds it),
in SQLAlchemy 2.0 style on both SQLAlchemy 2 and 1.4 (`future=True` there), through the driver
`urls.sync_url` picks.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from migration_gate.db import urls

__all__ = ["engine"]


def engine(url: str | URL, *, autocommit: bool = False, **kwargs: Any) -> Engine:
    """An engine on `url` (any driver is mapped to its synchronous one)."""
    options: dict[str, Any] = {"poolclass": NullPool, **kwargs}
    if not urls.SQLALCHEMY_2:
        options["future"] = True
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
    return sa.create_engine(urls.sync_url(url), **options)
