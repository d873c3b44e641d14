"""The tool's engines: a driver that is not installed is a usage error saying what to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from migration_gate.db import engines
from migration_gate.db.urls import PG_DRIVER, SQLALCHEMY_2
from migration_gate.errors import ConfigError


def test_a_missing_postgresql_driver_is_a_config_error_naming_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, PG_DRIVER, None)  # fault injection: the import fails
    with pytest.raises(ConfigError) as err:
        engines.engine("postgresql://bob:s3cret@db/app")
    assert f"the {PG_DRIVER} driver for postgresql is not installed" in err.value.message
    package = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary"}[PG_DRIVER]
    assert err.value.hint is not None and err.value.hint.startswith(f"pip install {package}")
    assert SQLALCHEMY_2 or "SQLAlchemy 1.4 has no psycopg 3 dialect" in err.value.hint
    assert "s3cret" not in str(err.value)


def test_the_engine_is_2_0_style_on_every_sqlalchemy(tmp_path: Path) -> None:
    engine = engines.engine(f"sqlite:///{tmp_path}/x.db")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.commit()  # what SQLAlchemy 1.4's legacy Connection lacks
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    finally:
        engine.dispose()
