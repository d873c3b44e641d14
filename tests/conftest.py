"""Shared fixtures: real databases to test against.

PostgreSQL comes from `MIGRATION_GATE_PG_URL` when set (a team's server, a CI service
container), else from one embedded server started once for the whole session.
SQLite databases are files in a temporary directory.

Under SQLAlchemy 1.4 the test-only ``sa.Uuid`` stand-in of the fixture chains
(tests/fixtures/chains/_shared/sa_compat.py) is installed first, before any test module
imports; it does nothing on SQLAlchemy 2.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from migration_gate.db import engines
from migration_gate.db.provision import PostgresProvider, SqliteProvider
from migration_gate.db.urls import PG_DRIVER, SQLALCHEMY_2


def _install_sa_compat() -> None:
    """Load _shared/sa_compat.py under the name env_common.py uses, and install it."""
    name = "chains_sa_compat"
    if name not in sys.modules:
        path = Path(__file__).parent / "fixtures" / "chains" / "_shared" / "sa_compat.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    sys.modules[name].install()


_install_sa_compat()


def pytest_report_header() -> str:
    """Which SQLAlchemy and PostgreSQL driver this run tests (the suite runs on 2 and 1.4)."""
    return f"SQLAlchemy {sa.__version__}, PostgreSQL through {PG_DRIVER}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On SQLAlchemy 1.4, skip the tests marked `reference_service` (with the reason shown):
    the reference service (app/) is a SQLAlchemy 2 application and cannot import there. The
    tool's behaviour they rely on is covered on 1.4 by the fixture chains."""
    if SQLALCHEMY_2:
        return
    skip = pytest.mark.skip(reason="the reference service (app/) needs SQLAlchemy 2")
    for item in items:
        if "reference_service" in item.keywords:
            item.add_marker(skip)


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
    engine = engines.engine(pg_url)
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
    engine = engines.engine(sqlite_url)
    yield engine
    engine.dispose()
