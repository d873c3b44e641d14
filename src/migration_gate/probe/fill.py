"""The data probe's database I/O: count rows, insert planned rows, read rows back.

Everything goes through the step runner's own connection with SQLAlchemy Core `Table`
objects built from the snapshot (no reflection). Columns are typed `NullType`, so values
reach the driver as the generator made them and come back as the driver returns them.
Each table's insert ends a transaction: a failed insert is rolled back alone and leaves the
connection clean (on PostgreSQL a failed statement would otherwise poison the transaction),
and committed rows are visible to an env.py that opens its own connection. Reads share the
transaction they find; the caller ends it with `finish` (one round trip for all of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, StatementError

from migration_gate.probe.generate import Plan
from migration_gate.runner import error_text
from migration_gate.snapshot.model import Table

__all__ = ["READ_LIMIT", "core_table", "finish", "insert", "read_rows", "row_count"]

#: rows read per table when following the probe rows
READ_LIMIT = 1000


def core_table(table: Table, columns: Iterable[str] | None = None) -> sa.Table:
    """A Core `Table` for `table` (all its columns, or only `columns`), untyped."""
    names = list(columns) if columns is not None else [c.name for c in table.columns]
    return sa.Table(table.name, sa.MetaData(), *(sa.Column(n, sa.types.NullType()) for n in names))


def finish(conn: Connection) -> None:
    """End the transaction of the reads (a walk's step must not find one open)."""
    if conn.in_transaction():
        conn.commit()


def row_count(conn: Connection, table: str) -> int:
    """The number of rows of `table`."""
    t = sa.table(table)
    count = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
    return int(count)


def read_rows(
    conn: Connection, table: Table, columns: Sequence[str], limit: int = READ_LIMIT
) -> list[dict[str, Any]]:
    """Up to `limit` rows of `table`, only `columns` (those that exist)."""
    names = [c for c in dict.fromkeys(columns) if table.column(c) is not None]
    if not names:
        return []
    t = core_table(table, names)
    result = conn.execute(sa.select(*t.c).limit(limit)).mappings().all()
    return [dict(row) for row in result]


def insert(conn: Connection, plan: Plan, table: Table) -> str | None:
    """Insert the planned rows in one transaction; the database's error text if it refused."""
    t = core_table(table, plan.columns)
    try:
        conn.execute(sa.insert(t), plan.as_dicts())
        conn.commit()
    except (DBAPIError, StatementError) as exc:
        conn.rollback()
        return error_text(exc)
    return None
