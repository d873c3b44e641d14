"""Shared fixtures: real databases to test against.

PostgreSQL comes from `MIGRATION_GATE_PG_URL` when set (a team's server, a CI service
container), else from one embedded server started once for the whole session.
SQLite databases are files in a temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from migration_gate.db.provision import PostgresProvider, SqliteProvider


@pytest.fixture(scope="session")
def pg_provider() -> Iterator[PostgresProvider]:
    with PostgresProvider(os.environ.get("MIGRATION_GATE_PG_URL")) as provider:
        yield provider


@pytest.fixture(scope="session")
def pg_admin_url(pg_provider: PostgresProvider) -> str:
    return pg_provider.admin_url.render_as_string(hide_password=False)


@pytest.fixture
def pg_url(pg_provider: PostgresProvider) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    url = pg_provider.scratch("test")
    yield url
    pg_provider.drop(url)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = sa.create_engine(pg_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_provider() -> Iterator[SqliteProvider]:
    with SqliteProvider() as provider:
        yield provider


@pytest.fixture
def sqlite_url(sqlite_provider: SqliteProvider) -> Iterator[str]:
    """A fresh SQLite database file, removed afterwards."""
    url = sqlite_provider.scratch("test")
    yield url
    sqlite_provider.drop(url)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = sa.create_engine(sqlite_url, poolclass=NullPool)
    yield engine
    engine.dispose()
