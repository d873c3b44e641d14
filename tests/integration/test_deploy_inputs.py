"""Bad input to `deploy` and `drift`, as processes: exit 2 (configuration) or 3 (the database
cannot be reached), one line saying what is wrong, and never a password in any output.

The password tests use a server of their own that checks passwords (scram-sha-256 for the
role `deployer` over TCP): the shared test server trusts everyone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from migration_gate.db.pg_server import LocalServer, embedded_bin_dir
from tests import deploy_project as dp

pytestmark = pytest.mark.postgres

SECRET = "S3cret-Pw-4711"


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """A server where `deployer` must give SECRET; yields the URL of its database `app`."""
    with LocalServer(embedded_bin_dir()) as server:
        assert server.data_dir is not None
        hba = server.data_dir / "data" / "pg_hba.conf"
        hba.write_text(f"host all deployer 127.0.0.1/32 scram-sha-256\n{hba.read_text()}")
        admin = sa.create_engine(server.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE deployer LOGIN PASSWORD '{SECRET}'")
            conn.exec_driver_sql("CREATE DATABASE app OWNER deployer")
            conn.exec_driver_sql("SELECT pg_reload_conf()")
        admin.dispose()
        yield f"postgresql://deployer:{SECRET}@127.0.0.1:{server.port}/app"


def _one_line(proc: object, code: int) -> str:
    """The process exited `code` with exactly one line on stderr and nothing on stdout."""
    assert proc.returncode == code, (proc.stdout, proc.stderr)  # type: ignore[attr-defined]
    assert proc.stdout == ""  # type: ignore[attr-defined]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1, lines
    assert lines[0].startswith("FAILED: ")
    return str(lines[0])


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert SECRET.replace("-", "%2D") not in text


def test_malformed_yaml_is_exit_2(tmp_path: Path) -> None:
    dp.write_project(tmp_path)
    (tmp_path / "envs" / "dev.yaml").write_text("name: dev\ndatabase: [url_env\n")
    line = _one_line(dp.cli(tmp_path, "deploy", "--env", "dev"), 2)
    assert "dev.yaml is not valid YAML" in line


def test_unknown_key_is_exit_2_naming_it(tmp_path: Path) -> None:
    dp.write_project(tmp_path)
    path = tmp_path / "envs" / "dev.yaml"
    path.write_text(path.read_text().replace("lock_wait:", "lock_wiat:"))
    line = _one_line(dp.cli(tmp_path, "drift", "--env", "dev"), 2)
    assert "lock_wiat" in line and "dev.yaml" in line


def test_unknown_environment_is_exit_2_listing_the_known_ones(tmp_path: Path) -> None:
    dp.write_project(tmp_path)
    line = _one_line(dp.cli(tmp_path, "deploy", "--env", "prod"), 2)
    assert "no environment 'prod'" in line and "dev" in line


def test_missing_env_var_is_exit_2_naming_it(tmp_path: Path) -> None:
    dp.write_project(tmp_path)
    line = _one_line(dp.cli(tmp_path, "deploy", "--env", "dev", env={"DEV_DATABASE_URL": ""}), 2)
    assert "$DEV_DATABASE_URL is not set" in line


def test_not_a_url_is_exit_2_and_masked(tmp_path: Path) -> None:
    dp.write_project(tmp_path)
    proc = dp.cli(
        tmp_path, "deploy", "--env", "dev", env={"DEV_DATABASE_URL": f"deployer:{SECRET}@dbhost"}
    )
    _one_line(proc, 2)
    _no_secret(proc.stdout, proc.stderr)


def test_unreachable_server_is_exit_3_and_masked(tmp_path: Path) -> None:
    dp.write_project(tmp_path)
    url = f"postgresql://deployer:{SECRET}@127.0.0.1:1/app"
    for verb in ("deploy", "drift"):
        proc = dp.cli(tmp_path, verb, "--env", "dev", env={"DEV_DATABASE_URL": url})
        line = _one_line(proc, 3)
        assert "dev: cannot connect to postgresql" in line and "***" in line
        _no_secret(proc.stdout, proc.stderr)


def test_wrong_password_is_exit_3_and_masked(tmp_path: Path, password_server: str) -> None:
    dp.write_project(tmp_path)
    wrong = password_server.replace(SECRET, SECRET + "x")
    proc = dp.cli(tmp_path, "deploy", "--env", "dev", env={"DEV_DATABASE_URL": wrong})
    line = _one_line(proc, 3)
    assert "password authentication failed" in line
    _no_secret(proc.stdout, proc.stderr)
    assert SECRET + "x" not in proc.stderr


def test_password_in_the_query_is_masked(tmp_path: Path, password_server: str) -> None:
    dp.write_project(tmp_path)
    url = (
        password_server.replace(f":{SECRET}@", "@").replace("/app", "/nope") + f"?password={SECRET}"
    )
    proc = dp.cli(tmp_path, "deploy", "--env", "dev", env={"DEV_DATABASE_URL": url})
    _one_line(proc, 3)
    _no_secret(proc.stdout, proc.stderr)


def test_a_deploy_with_a_password_never_shows_it(
    tmp_path: Path, password_server: str, pg_admin_url: str
) -> None:
    """Every format, a failure inside a revision included, and the ledger."""
    dp.write_project(tmp_path, dp.CHAIN[:2])
    dp.add_revision(tmp_path, "a3", "a2", f"op.execute(\"SELECT '{SECRET}'::int\")")
    env = {"DEV_DATABASE_URL": password_server}
    args = ["--pg-url", pg_admin_url, "--backup"]
    outputs = []
    for fmt in ("text", "json", "markdown", "junit", "annotations"):
        proc = dp.cli(tmp_path, "deploy", "--env", "dev", *args, "--format", fmt, env=env)
        assert proc.returncode == 1, proc.stderr
        outputs += [proc.stdout, proc.stderr]
    drift = dp.cli(
        tmp_path, "drift", "--env", "dev", "--pg-url", pg_admin_url, "--format", "json", env=env
    )
    outputs += [drift.stdout, drift.stderr]
    _no_secret(*outputs)
    report = json.loads(outputs[2])
    assert report["deploy"]["database"].startswith("postgresql://deployer:***@")
    assert any("a3" in f["message"] for f in report["findings"])
    rows = dp.query(password_server, "SELECT coalesce(error, '') FROM migration_gate_ledger")
    _no_secret(*(r[0] for r in rows))
