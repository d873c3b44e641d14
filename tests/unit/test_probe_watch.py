"""`may_change_rows`: which statements make the data probe read tables again.

A wrong "no" here would hide lost rows (the probe would trust rows it read before), so
the cases that matter most are the writes that hide behind other first words."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate.checks.probe.watch import DataWatch, may_change_rows
from migration_gate.db import engines


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM users",
        "  delete from users where id > 3",
        "UPDATE users SET plan = NULL",
        "INSERT INTO users (id) VALUES (1)",
        "TRUNCATE users",
        "WITH gone AS (DELETE FROM users RETURNING id) SELECT count(*) FROM gone",
        "SELECT purge_old_users()",  # a function of the user's may write
        "ALTER TABLE users ALTER COLUMN plan TYPE integer USING length(plan)",
        "-- clean up\nDELETE FROM users",
        "/* note */ UPDATE users SET plan = 'x'",
        "COPY users FROM STDIN",
        "DO $$ BEGIN DELETE FROM users; END $$",
        "CALL archive_users()",
        "SELECT 1; DELETE FROM users",
        "MERGE INTO users u USING src s ON u.id = s.id WHEN MATCHED THEN DELETE",
        "UPDATE alembic_version_other SET x = 1",  # only the version table itself is quiet
    ],
)
def test_writes_count(sql: str) -> None:
    assert may_change_rows(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN",
        "COMMIT",
        "SET LOCAL lock_timeout = '5s'",
        "CREATE TABLE t (id integer)",
        "CREATE INDEX ix ON users (email)",
        "ALTER TABLE users ADD COLUMN x integer",
        "DROP TABLE users",
        "SELECT 1",
        "SELECT count(*) FROM pg_catalog.pg_class",
        "SELECT name FROM sqlite_master WHERE type = 'table'",
        "UPDATE alembic_version SET version_num='a2' WHERE alembic_version.version_num = 'a1'",
        "INSERT INTO alembic_version (version_num) VALUES ('a1')",
        "DELETE FROM alembic_version WHERE alembic_version.version_num = 'a1'",
        "PRAGMA foreign_keys = ON",
    ],
)
def test_bookkeeping_and_ddl_do_not(sql: str) -> None:
    assert not may_change_rows(sql)


def test_a_custom_version_table_is_bookkeeping_too() -> None:
    assert not may_change_rows("UPDATE my_versions SET version_num='b'", "my_versions")
    assert may_change_rows("UPDATE alembic_version SET version_num='b'", "my_versions")


def test_the_watch_keeps_what_deletes_or_rewrites_with_its_row_count(tmp_path: Path) -> None:
    """On a real SQLite connection: the statements a finding can name, with the rows the
    database says they touched; never the probe's own; forgotten once taken."""
    engine = engines.engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        with engine.connect() as conn:
            watch = DataWatch(conn)
            conn.exec_driver_sql("CREATE TABLE t (id integer primary key, a text)")
            with watch.quiet():
                conn.exec_driver_sql("INSERT INTO t (id, a) VALUES (1, 'x'), (2, 'y'), (3, 'z')")
            conn.exec_driver_sql("SELECT * FROM t").all()
            conn.exec_driver_sql("DELETE FROM t WHERE id > ?", (1,))
            kept = watch.take()
            assert [(s.sql.split()[0], s.rowcount) for s in kept] == [("CREATE", -1), ("DELETE", 2)]
            assert kept[1].parameters == (1,)
            assert watch.take() == []
            watch.close()
            conn.exec_driver_sql("DELETE FROM t")
            assert watch.take() == []  # closed: nothing listens any more
    finally:
        engine.dispose()
