"""Cross-version fidelity: the database is PostgreSQL 15, the expected schema is built on the
embedded PostgreSQL 18. A clean deploy must report no drift (a false drift would block every
production deploy) and a real drift must still be found, whether the lock file vouches for
the expected schema or it is built on a scratch database.

PostgreSQL 15 comes from Debian's postgresql-15 package. `.ci/run` installs it and sets
MIGRATION_GATE_PG15_BIN: in CI (and whenever that variable is set) a missing PostgreSQL 15
fails these tests; on a developer machine without it they are skipped, saying so.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from migration_gate.commands.drift import drift
from migration_gate.config.envs import Deploy
from migration_gate.config.settings import Settings, load_settings
from migration_gate.db.pg_server import LocalServer
from migration_gate.deploy.project import Target, project_for
from migration_gate.deploy.run import run_deploy
from migration_gate.findings import Report
from tests import deploy_project as dp

pytestmark = [pytest.mark.postgres, pytest.mark.reference_service]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = Path("/usr/lib/postgresql/15/bin")


def pg15_bin() -> Path:
    """Where PostgreSQL 15 is; fails under CI or when configured, else skips."""
    configured = os.environ.get("MIGRATION_GATE_PG15_BIN")
    path = Path(configured) if configured else DEFAULT_BIN
    if (path / "postgres").is_file():
        return path
    if configured or os.environ.get("CI"):
        pytest.fail(
            f"PostgreSQL 15 is required here but {path / 'postgres'} does not exist "
            "(.ci/run installs postgresql-15 and sets MIGRATION_GATE_PG15_BIN)"
        )
    pytest.skip(
        f"no PostgreSQL 15 in {path}: apt-get install postgresql-15 (or set "
        "MIGRATION_GATE_PG15_BIN) to run the cross-version tests"
    )


@pytest.fixture(scope="module")
def pg15_server() -> Iterator[LocalServer]:
    with LocalServer(pg15_bin()) as server:
        yield server


@pytest.fixture
def pg15_url(pg15_server: LocalServer) -> Iterator[str]:
    admin = sa.create_engine(pg15_server.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.dialect.server_version_info[0] == 15
        conn.exec_driver_sql("DROP DATABASE IF EXISTS live")
        conn.exec_driver_sql("CREATE DATABASE live")
    yield make_url(pg15_server.url).set(database="live").render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS live WITH (FORCE)")
    admin.dispose()


def _settings(url: str, pg_admin_url: str, *, lock: bool = True) -> Settings:
    s = load_settings(REPO / "alembic.ini", pg_url=pg_admin_url, environ={"DEV_DATABASE_URL": url})
    return s if lock else dataclasses.replace(s, lock_file=REPO / "no-such.lock")


def _deploy(s: Settings, url: str) -> Report:
    with project_for(s) as project:
        return run_deploy(project, Target("dev", url, Deploy(backup="never")))


def test_clean_deploy_on_15_has_no_drift_against_18(pg15_url: str, pg_admin_url: str) -> None:
    # the scratch server is the test session's PostgreSQL 18
    assert dp.query(pg_admin_url, "SHOW server_version_num")[0][0].startswith("18")
    report = _deploy(_settings(pg15_url, pg_admin_url, lock=False), pg15_url)
    assert report.ok and report.findings == [], report.findings
    assert report.deploy is not None and report.deploy.expected_from == "scratch database"
    for lock in (True, False):
        again = drift(_settings(pg15_url, pg_admin_url, lock=lock), env="dev")
        assert again.ok and again.findings == [], again.findings
        assert again.deploy is not None
        assert again.deploy.expected_from == ("lock file" if lock else "scratch database")


@pytest.mark.parametrize(
    ("statement", "sentence"),
    [
        (
            "ALTER TABLE conversations ALTER COLUMN title TYPE varchar(300)",
            "conversations.title: type varchar(300), expected varchar(200)",
        ),
        (
            "ALTER TYPE message_role RENAME TO messagerole",
            "messages.role: type messagerole, expected message_role",
        ),
    ],
)
def test_real_drift_on_15_is_found(
    pg15_url: str, pg_admin_url: str, statement: str, sentence: str
) -> None:
    assert _deploy(_settings(pg15_url, pg_admin_url), pg15_url).ok
    dp.execute(pg15_url, statement)
    for lock in (True, False):
        report = drift(_settings(pg15_url, pg_admin_url, lock=lock), env="dev")
        (found,) = report.findings
        assert found.check == "schema-drift" and found.severity == "error"
        assert sentence in found.details["diff"]


def test_the_cli_deploys_to_15(tmp_path: Path, pg15_url: str, pg_admin_url: str) -> None:
    root = dp.copy_reference(tmp_path)
    env = {"DEV_DATABASE_URL": pg15_url}
    proc = dp.cli(root, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert dp.version(pg15_url) == ["0008"]
    assert "0 error(s), 0 warning(s)" in proc.stdout
