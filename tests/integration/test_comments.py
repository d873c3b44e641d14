"""Comments are schema: PostgreSQL's `COMMENT ON` (SQLAlchemy's `comment=`) is captured, in
full and incremental snapshots, and a changed comment reads as a sentence naming it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from migration_gate.snapshot import capture, diff
from migration_gate.snapshot.incremental import IncrementalCapture


def _metadata() -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "users",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(200), comment="Login e-mail"),
        sa.Column("name", sa.Text),
        comment="People who can log in",
    )
    return md


@pytest.mark.postgres
def test_postgres_captures_table_and_column_comments(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        _metadata().create_all(conn)
    with pg_engine.connect() as conn:
        users = capture(conn).table("users")
    assert users is not None
    assert users.comment == "People who can log in"
    assert {c.name: c.comment for c in users.columns} == {
        "id": None,
        "email": "Login e-mail",
        "name": None,
    }


def test_sqlite_has_no_comments(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        _metadata().create_all(conn)
    with sqlite_engine.connect() as conn:
        users = capture(conn).table("users")
    assert users is not None
    assert users.comment is None
    assert all(c.comment is None for c in users.columns)


@pytest.mark.postgres
def test_comment_on_is_seen_by_the_incremental_capture_and_named_by_the_diff(
    pg_engine: Engine,
) -> None:
    with pg_engine.begin() as conn:
        _metadata().create_all(conn)
    with pg_engine.connect() as conn:
        snaps = IncrementalCapture(conn, verify=True)
        try:
            before = snaps.snapshot()
            conn.exec_driver_sql("COMMENT ON COLUMN users.name IS 'Shown to others'")
            conn.exec_driver_sql("COMMENT ON COLUMN users.email IS NULL")
            conn.exec_driver_sql("COMMENT ON TABLE users IS 'Accounts'")
            conn.commit()
            after = snaps.snapshot()
            if conn.dialect.driver == "psycopg":  # the DDL log needs psycopg 3
                assert snaps.stats.last_scope == ("users", "users_id_seq")  # and its serial
                assert snaps.stats.full_reads == 1
            else:  # psycopg2 (SQLAlchemy 1.4): every snapshot is a full read
                assert snaps.stats.full_reads == 2
        finally:
            snaps.close()
    assert diff(before, after).sentences(added="left behind", removed="missing") == [
        "users.email: comment 'Login e-mail' missing",
        "users.name: comment 'Shown to others' left behind",
        "table users: comment 'People who can log in' → 'Accounts'",
    ]
