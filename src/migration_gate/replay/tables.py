"""The tables of a live database, their storage identity, row counts and sizes.

What `snapshot` records of the source and what `replay` watches around each revision: a
table's name (bare in the current schema, `schema.name` elsewhere, as in `SchemaSnapshot`),
its identity (the pg_class oid: a renamed table is the same table, a dropped and recreated
one is not), its storage (`relfilenode`: it changes when PostgreSQL rewrites the table) and
its exact row count. Alembic's version table and tables of extensions are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["TableInfo", "count_rows", "list_tables", "quote_table", "table_sizes"]

_PG_TABLES = r"""
SELECT c.oid::bigint,
       CASE WHEN n.nspname = current_schema() THEN '' ELSE n.nspname || '.' END || c.relname,
       c.relfilenode::bigint, c.relkind::text, c.relispartition
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
"""
_SQLITE_TABLES = (
    "SELECT rowid, name, rootpage FROM sqlite_master WHERE type = 'table' "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
)


@dataclass(frozen=True)
class TableInfo:
    """One table: identity, name, storage."""

    #: pg_class oid (PostgreSQL), sqlite_master rowid (SQLite)
    ident: int
    name: str
    #: relfilenode (PostgreSQL), rootpage (SQLite)
    storage: int
    #: "r" a table, "p" a partitioned table (PostgreSQL)
    kind: str = "r"
    partition: bool = False


def quote_table(conn: Connection, name: str) -> str:
    """`schema.table` or `table`, each part quoted by the dialect."""
    prep = conn.dialect.identifier_preparer
    schema, dot, table = name.partition(".")
    if conn.dialect.name == "postgresql" and dot:
        return f"{prep.quote_identifier(schema)}.{prep.quote_identifier(table)}"
    return prep.quote_identifier(name)


def list_tables(conn: Connection, *, version_table: str = "alembic_version") -> list[TableInfo]:
    """Every table of the database but the version table, sorted by name."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(sa.text(_PG_TABLES)).all()
        out = [TableInfo(int(r[0]), r[1], int(r[2]), r[3], bool(r[4])) for r in rows]
    else:
        rows = conn.execute(sa.text(_SQLITE_TABLES)).all()
        out = [TableInfo(int(r[0]), r[1], int(r[2] or 0)) for r in rows]
    return sorted((t for t in out if t.name != version_table), key=lambda t: t.name)


def count_rows(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Exact row counts (`count(*)`, partitions included in their parent's)."""
    return {
        name: int(
            conn.execute(sa.text(f"SELECT count(*) FROM {quote_table(conn, name)}")).scalar_one()
        )
        for name in names
    }


def table_sizes(conn: Connection, tables: Iterable[TableInfo]) -> Mapping[str, int | None]:
    """Bytes on disk per table, with indexes and TOAST (None where SQLite cannot tell)."""
    tables = list(tables)
    if conn.dialect.name == "postgresql":
        sizes: dict[str, int | None] = {}
        for t in tables:
            size = conn.execute(
                sa.text("SELECT pg_total_relation_size(CAST(:oid AS oid))"), {"oid": t.ident}
            ).scalar_one()
            sizes[t.name] = int(size) if size is not None else None
        return sizes
    try:
        rows = conn.execute(sa.text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")).all()
    except sa.exc.OperationalError:  # SQLite built without the dbstat table
        return dict.fromkeys((t.name for t in tables), None)
    found = {r[0]: int(r[1]) for r in rows}
    return {t.name: found.get(t.name) for t in tables}
