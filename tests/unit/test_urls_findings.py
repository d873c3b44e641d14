"""Password masking, driver mapping, and the report's JSON shape."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from migration_gate.db.urls import PG_DRIVER, dialect_of, mask, mask_text, sync_url
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report


def test_mask_hides_password_in_urls_and_free_text() -> None:
    assert "s3cret" not in mask("postgresql://bob:s3cret@db:5432/app")
    assert "bob:***@db" in mask("postgresql://bob:s3cret@db:5432/app")
    text = mask_text("could not connect to postgresql+psycopg://u:p%40ss@h/x: refused")
    assert "p%40ss" not in text and "u:***@h" in text


def test_bad_url_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as err:
        dialect_of("not a url with pw:hunter2@")
    assert "hunter2" not in str(err.value)


def test_async_drivers_map_to_sync_ones() -> None:
    # psycopg 3 on SQLAlchemy 2, psycopg2 on 1.4 (which has no psycopg 3 dialect)
    expected = "psycopg" if int(sa.__version__.split(".")[0]) >= 2 else "psycopg2"
    assert expected == PG_DRIVER
    assert sync_url("postgresql+asyncpg://u@h/d").drivername == f"postgresql+{PG_DRIVER}"
    assert sync_url("postgresql+psycopg_async://u@h/d").drivername == f"postgresql+{PG_DRIVER}"
    assert sync_url("postgresql+psycopg://u@h/d").drivername == f"postgresql+{PG_DRIVER}"
    assert sync_url("sqlite+aiosqlite:///x.db").drivername == "sqlite+pysqlite"
    assert sync_url("postgresql://u@h/d").drivername == f"postgresql+{PG_DRIVER}"


def test_report_shape_and_ok() -> None:
    report = Report("roundtrip")
    report.add(
        Finding(
            "missing-downgrade",
            "warning",
            "m",
            revision="a1",
            dialect="sqlite",
            file="migrations/versions/a1.py",
            line=3,
        )
    )
    assert report.ok
    report.add(Finding("upgrade-failed", "error", "boom", details={"error": "x"}))
    data = report.to_dict()
    assert list(data) == ["command", "ok", "findings", "timings"]
    assert data["ok"] is False
    assert list(data["findings"][0]) == [
        "check",
        "severity",
        "revision",
        "dialect",
        "file",
        "line",
        "message",
        "details",
    ]
    assert Report.from_dict(data).to_dict() == data


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError):
        Finding("x", "fatal", "m")  # type: ignore[arg-type]
