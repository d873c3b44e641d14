"""Index details survive the capture on both dialects: order (DESC, NULLS), the effective
collation of each key, the WHERE of a partial index and expressions, spelled one way."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from migration_gate.snapshot import capture


def _run(engine: Engine, *statements: str) -> dict[str, tuple[tuple[str, ...], str | None]]:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        table = capture(conn).table("t")
    assert table is not None
    return {i.name: (i.elements, i.predicate) for i in table.indexes}


def test_sqlite_index_details(sqlite_engine: Engine) -> None:
    assert _run(
        sqlite_engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, email TEXT COLLATE NOCASE, score INT)",
        "CREATE INDEX ix_desc ON t (score DESC, id ASC)",
        'CREATE UNIQUE INDEX ux_nocase ON t ("Name" collate "NoCase")',
        "CREATE INDEX ix_column_collation ON t (email)",
        "CREATE INDEX ix_binary ON t (email COLLATE BINARY)",
        "CREATE INDEX ix_expr ON t (lower(name) COLLATE RTRIM DESC) WHERE score > 0",
    ) == {
        "ix_desc": (("score DESC", "id"), None),
        "ux_nocase": (("name COLLATE nocase",), None),
        "ix_column_collation": (("email COLLATE nocase",), None),  # the column's collation
        "ix_binary": (("email",), None),  # BINARY is the default
        "ix_expr": (("lower(name) COLLATE rtrim DESC",), "score > 0"),
    }


@pytest.mark.postgres
def test_postgres_index_details(pg_engine: Engine) -> None:
    assert _run(
        pg_engine,
        'CREATE TABLE t (id int PRIMARY KEY, name text, code varchar(10) COLLATE "C")',
        "CREATE INDEX ix_nulls ON t (name DESC NULLS LAST, id NULLS FIRST, code DESC)",
        'CREATE UNIQUE INDEX ux_c ON t (name COLLATE "C", lower(name) COLLATE "POSIX")',
        "CREATE INDEX ix_column_collation ON t (code) WHERE id > 0",
        'CREATE INDEX ix_default ON t (code COLLATE "default", name ASC NULLS LAST)',
    ) == {
        "ix_nulls": (("name DESC NULLS LAST", "id NULLS FIRST", "code COLLATE c DESC"), None),
        "ux_c": (("name COLLATE c", "lower(name) COLLATE c"), None),
        "ix_column_collation": (("code COLLATE c",), "id > 0"),
        "ix_default": (("code", "name"), None),
    }


@pytest.mark.postgres
def test_a_collation_is_spelled_alike_on_both_dialects(
    pg_engine: Engine, sqlite_engine: Engine
) -> None:
    table = "CREATE TABLE t (id integer PRIMARY KEY, name text)"
    index = "CREATE UNIQUE INDEX ux_name ON t (name COLLATE NoCase DESC)"
    pg = _run(pg_engine, 'CREATE COLLATION nocase FROM "C"', table, index)
    assert (
        pg
        == _run(sqlite_engine, table, index)
        == {"ux_name": (("name COLLATE nocase DESC",), None)}
    )
