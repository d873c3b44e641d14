"""The catalog queries are composed from their description, not cut out of each other."""

from __future__ import annotations

from migration_gate.snapshot.catalog_postgres import PER_RELATION, SNAPSHOT_PARTS, catalog
from migration_gate.snapshot.catalog_sqlite import CATALOG
from migration_gate.snapshot.pg_ddl_log import Changes, classify


def test_full_postgres_query_has_every_snapshot_part_and_no_parameter() -> None:
    sql = catalog((18,)).query()
    for name in SNAPSHOT_PARTS:
        assert f"'{name}', (" in sql
    assert "'relations'" not in sql
    assert "%" not in sql and "scope" not in sql


def test_scoped_postgres_query_binds_one_array_and_scopes_rel() -> None:
    sql = catalog((18,)).scoped_query(PER_RELATION)
    assert sql.count("%s") == 1 and sql.count("%") == 1
    assert "c.oid = ANY(ARRAY(SELECT oid FROM scope))" in sql
    assert "'enums'" not in sql and "'functions'" not in sql
    assert {"relations", "tables", "columns", "indexes", "triggers"} <= set(PER_RELATION)
    assert not {"enums", "functions", "extensions"} & set(PER_RELATION)


def test_function_bodies_follow_the_server_version() -> None:
    assert "prosqlbody" in catalog((14,)).query()
    assert "prosqlbody" not in catalog((13, 4)).query()


def test_sqlite_queries_compose_a_scope_over_the_same_select() -> None:
    for query in (CATALOG.master, CATALOG.columns, CATALOG.foreign_keys, CATALOG.index_columns):
        full, scoped = query.full(), query.scoped()
        assert "?" not in full and scoped.count("?") == 1
        assert scoped.startswith("\nWITH scope0") and full in scoped
        assert scoped.endswith(query.in_scope)


def test_ddl_log_entries_are_classified() -> None:
    log = "C pg_class 10 - ALTER_TABLE;C pg_class 11 - COMMENT;C pg_constraint 50 12 -;D pg_class 99 - -;"
    changes = classify(log, index_owner={99: 13}, known={13}, changes=Changes())
    assert changes.relations == {10, 11, 12, 13}
    assert changes.altered == {10}  # a comment, a constraint, an index leave the rows alone
    assert not changes.full and not changes.dropped
    dropped = classify("D pg_class 13 - -;", index_owner={}, known={13}, changes=Changes())
    assert dropped.dropped == {13}
    assert classify(
        "C pg_proc 7 - CREATE_FUNCTION;", index_owner={}, known=(), changes=Changes()
    ).full
    assert classify("X;", index_owner={}, known=(), changes=Changes()).full
