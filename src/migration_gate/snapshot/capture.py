"""Capture a `SchemaSnapshot` from a live SQLAlchemy connection, whatever its dialect."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from migration_gate.errors import ConfigError
from migration_gate.snapshot.model import SchemaSnapshot

__all__ = ["capture"]

#: tables that are bookkeeping, not schema
IGNORED_TABLES = ("alembic_version",)


def capture(
    connection: Connection, *, ignore_tables: tuple[str, ...] = IGNORED_TABLES
) -> SchemaSnapshot:
    """Snapshot the schema the connection sees. Leaves no transaction open."""
    name = connection.dialect.name
    if name == "postgresql":
        from migration_gate.snapshot.capture_postgres import capture_postgres

        snap = capture_postgres(connection)
    elif name == "sqlite":
        from migration_gate.snapshot.capture_sqlite import capture_sqlite

        snap = capture_sqlite(connection)
    else:
        raise ConfigError(
            f"dialect {name!r} is not supported", hint="use a postgresql:// or sqlite:// URL"
        )
    if connection.in_transaction():
        connection.commit()
    return snap.without_tables(*ignore_tables)
