"""The data probe's database I/O: count rows, insert planned rows, read rows back.

Everything goes through the step runner's own connection as driver SQL: identifiers quoted
by the dialect's own preparer, values as parameters in the driver's paramstyle. No Core
statement is compiled: every table is a new name, so SQLAlchemy's statement cache would
miss every time, and compiling costs about five times the round trip (1.2 to 1.6 ms against
0.2 to 0.25 ms for a read on PostgreSQL, `benchmarks/README.md`). Values reach the driver as
the generator made them and come back as the driver returns them (no type processing).
Each table's insert ends a transaction: a failed insert is rolled back alone and leaves the
connection clean (on PostgreSQL a failed statement would otherwise poison the transaction),
and committed rows are visible to an env.py that opens its own connection. Reads share the
transaction they find; the caller ends it with `finish` (one round trip for all of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, StatementError

from migration_gate.checks.probe.generate import Plan
from migration_gate.db.failure import error_text
from migration_gate.snapshot.model import Table

__all__ = ["READ_LIMIT", "finish", "insert", "marks", "read_rows", "row_count"]

#: rows read per table when following the probe rows
READ_LIMIT = 1000


def finish(conn: Connection) -> None:
    """End the transaction of the reads (a walk's step must not find one open)."""
    if conn.in_transaction():
        conn.commit()


def row_count(conn: Connection, table: str) -> int:
    """The number of rows of `table`."""
    quoted = conn.dialect.identifier_preparer.quote(table)
    count = conn.exec_driver_sql(f"SELECT count(*) FROM {quoted}").scalar_one()
    return int(count)


def read_rows(
    conn: Connection, table: Table, columns: Sequence[str], limit: int = READ_LIMIT
) -> list[dict[str, Any]]:
    """Up to `limit` rows of `table`, only `columns` (those that exist)."""
    names = [c for c in dict.fromkeys(columns) if table.column(c) is not None]
    if not names:
        return []
    quote = conn.dialect.identifier_preparer.quote
    sql = f"SELECT {', '.join(map(quote, names))} FROM {quote(table.name)} LIMIT {int(limit)}"
    return [dict(zip(names, row, strict=True)) for row in conn.exec_driver_sql(sql)]


def insert(conn: Connection, plan: Plan, table: Table) -> str | None:
    """Insert the planned rows in one statement and one transaction; the database's error
    text if it refused."""
    quote = conn.dialect.identifier_preparer.quote
    width = len(plan.columns)
    places = marks(conn.dialect.paramstyle, width * len(plan.rows))
    rows = ", ".join(f"({', '.join(places[i : i + width])})" for i in range(0, len(places), width))
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, plan.columns))}) VALUES {rows}"
    values = tuple(v for r in plan.rows for v in r)
    try:
        conn.exec_driver_sql(sql, values)
        conn.commit()
    except (DBAPIError, StatementError) as exc:
        conn.rollback()
        return error_text(exc)
    return None


def marks(style: str, count: int) -> list[str]:
    """`count` positional placeholders in the paramstyle `style` (PEP 249)."""
    if style == "qmark":
        return ["?"] * count
    if style in ("numeric", "numeric_dollar"):
        lead = ":" if style == "numeric" else "$"
        return [f"{lead}{i}" for i in range(1, count + 1)]
    return ["%s"] * count  # format, pyformat: psycopg, psycopg2, pg8000
