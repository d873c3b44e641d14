"""The incremental capture's fast path is on, and re-reads only what a step touched.

Comparing each incremental snapshot with a full read (`verify=True`, on in every
integration test) proves the snapshots right, but not that they were cheap: a tracker that
quietly read everything every time would pass it. These tests read the capture's `stats`
after single DDL steps on real SQLite and PostgreSQL databases, so they fail when the fast
path is off; and on a server that refuses the event triggers, `reason` says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Connection, Engine, make_url

from migration_gate.db import engines
from migration_gate.db.provision import PostgresProvider
from migration_gate.snapshot.incremental import IncrementalCapture

DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    engine: Engine = request.getfixturevalue(name)
    if engine.dialect.name == "postgresql" and engine.dialect.driver != "psycopg":
        pytest.skip("the DDL log needs psycopg 3 (SQLAlchemy 1.4 uses psycopg2: full reads)")
    return engine


def _ten_tables(conn: Connection) -> None:
    """t0 … t9; t1 references t0."""
    for i in range(10):
        ref = ", parent integer REFERENCES t0 (id)" if i == 1 else ""
        conn.exec_driver_sql(f"CREATE TABLE t{i} (id integer PRIMARY KEY, name text{ref})")
    conn.commit()


def _step(conn: Connection, sql: str) -> None:
    conn.exec_driver_sql(sql)
    conn.commit()


@pytest.mark.parametrize("engine", DIALECTS, indirect=True)
def test_one_step_rereads_only_the_relations_it_touched(engine: Engine) -> None:
    with engine.connect() as conn:
        _ten_tables(conn)
        snaps = IncrementalCapture(conn, verify=True)
        try:
            assert snaps.incremental, snaps.reason
            assert snaps.reason is None
            first = snaps.snapshot()
            assert len(first.tables) == 10
            assert (snaps.stats.full_reads, snaps.stats.scoped_reads) == (1, 0)

            _step(conn, "ALTER TABLE t5 ADD COLUMN extra integer")
            after = snaps.snapshot()
            assert snaps.stats.last_scope == ("t5",)
            assert (snaps.stats.full_reads, snaps.stats.scoped_reads) == (1, 1)
            # every table the step did not touch is the very object of the first snapshot
            for name in ("t0", "t1", "t9"):
                assert after.table(name) is first.table(name)
            assert after.table("t5") != first.table("t5")

            snaps.snapshot()  # nothing happened: nothing is read but the log
            assert snaps.stats.unchanged == 1
            assert (snaps.stats.full_reads, snaps.stats.scoped_reads) == (1, 1)

            # an index on t1: t1 again (SQLite also reads t0, which its foreign key names)
            _step(conn, "CREATE INDEX ix_t1_name ON t1 (name)")
            snaps.snapshot()
            assert "t1" in snaps.stats.last_scope
            assert set(snaps.stats.last_scope) <= {"t0", "t1"}, snaps.stats

            _step(conn, "DROP TABLE t9")
            final = snaps.snapshot()
            assert final.table("t9") is None
            assert snaps.stats.full_reads == 1, snaps.stats
            assert snaps.stats.scoped_reads == 3, snaps.stats
        finally:
            snaps.close()


@pytest.mark.parametrize("engine", DIALECTS, indirect=True)
def test_invalidate_makes_the_next_snapshot_a_full_read(engine: Engine) -> None:
    with engine.connect() as conn:
        _ten_tables(conn)
        snaps = IncrementalCapture(conn, verify=True)
        try:
            snaps.snapshot()
            snaps.invalidate()
            snaps.snapshot()
            assert snaps.stats.full_reads == 2
        finally:
            snaps.close()


@pytest.fixture
def unprivileged_url(pg_provider: PostgresProvider, pg_url: str) -> Iterator[str]:
    """`pg_url`'s database, reached as a role that is not a superuser."""
    admin = engines.engine(pg_url)
    role = "mg_not_superuser"
    database = make_url(pg_url).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
        conn.exec_driver_sql(f'GRANT ALL ON DATABASE "{database}" TO {role}')
        conn.exec_driver_sql(f"GRANT ALL ON SCHEMA public TO {role}")
        conn.commit()
    url = make_url(pg_url).set(username=role)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {role}")
        conn.commit()
    admin.dispose()


@pytest.mark.postgres
def test_a_server_that_refuses_the_event_triggers_says_so(
    unprivileged_url: str, pg_provider: PostgresProvider
) -> None:
    engine = engines.engine(unprivileged_url)
    try:
        with engine.connect() as conn:
            _ten_tables(conn)
            snaps = IncrementalCapture(conn, verify=True)
            assert not snaps.incremental
            # psycopg2 (SQLAlchemy 1.4) is refused first: the DDL log needs psycopg 3
            said = "superuser" if conn.dialect.driver == "psycopg" else "is not psycopg 3"
            assert snaps.reason is not None and said in snaps.reason, snaps.reason
            snaps.snapshot()
            _step(conn, "ALTER TABLE t5 ADD COLUMN extra integer")
            assert snaps.snapshot().table("t5") is not None
            assert (snaps.stats.full_reads, snaps.stats.scoped_reads) == (2, 0)
            snaps.close()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_catalog_reader_prepares_its_query_on_a_connection_that_prepares_nothing(
    pg_url: str,
) -> None:
    """The tool's own connections prepare nothing (`prepare_threshold=None`: DDL must never
    meet a cached plan); the catalog reader must still prepare its scoped query, or each
    snapshot parses and plans the whole catalog query again (3.5 ms instead of 1 ms a read
    on a 200-table chain)."""
    engine = engines.engine(pg_url, connect_args={"prepare_threshold": None})
    if engine.dialect.driver != "psycopg":
        pytest.skip("psycopg 3 only (SQLAlchemy 1.4 reads the catalog in full)")
    try:
        with engine.connect() as conn:
            _ten_tables(conn)
            snaps = IncrementalCapture(conn)
            try:
                snaps.snapshot()
                for i in range(3):
                    _step(conn, f"ALTER TABLE t{i} ADD COLUMN extra integer")
                    snaps.snapshot()
                assert snaps.stats.scoped_reads == 3, snaps.stats
                tracker: Any = snaps._tracker
                reader = tracker._reader.dbapi_connection
                prepared = reader.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
                assert prepared[0] >= 1, "the catalog reader prepared nothing"
            finally:
                snaps.close()
    finally:
        engine.dispose()
