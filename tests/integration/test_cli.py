"""The command line as a user runs it: exit codes, report files, clear one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migration_gate.cli import main
from tests.chain_builder import write_chain

USERS = (
    "a1",
    None,
    "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True))",
    "op.drop_table('users')",
)
LEAVES = ("a2", "a1", "op.create_index('ix_u', 'users', ['id'])", "op.execute('SELECT 1')")


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "migration_gate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=600,
        check=False,
    )


def test_findings_exit_1_and_json_has_the_design_shape(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS, LEAVES])
    out = tmp_path / "report.json"
    code = main(
        [
            "-c",
            str(ini),
            "roundtrip",
            "--dialect",
            "sqlite",
            "--format",
            "json",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    assert code == 1
    data = json.loads(out.read_text())
    assert list(data) == ["command", "ok", "findings", "timings", "checked"]
    assert data["checked"] == {"sqlite": ["a1", "a2"]}
    assert data["command"] == "roundtrip" and data["ok"] is False
    finding = next(f for f in data["findings"] if f["check"] == "downgrade-leaves-trace")
    assert finding["revision"] == "a2" and finding["dialect"] == "sqlite"
    assert (
        finding["file"].endswith("migrations/versions/a2.py") and finding["line"] == 13
    )  # def downgrade()


def test_clean_chain_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ini = write_chain(tmp_path, [USERS])
    assert main(["-c", str(ini), "roundtrip", "--dialect", "sqlite"]) == 0
    assert "roundtrip: passed" in capsys.readouterr().out


def test_missing_ini_is_a_config_error(tmp_path: Path) -> None:
    proc = run_cli("-c", str(tmp_path / "nope.ini"), "roundtrip", "--dialect", "sqlite")
    assert proc.returncode == 2
    assert proc.stderr.startswith("FAILED: Alembic config") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unreachable_server_exits_3_and_masks_the_password(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS])
    proc = run_cli(
        "-c",
        str(ini),
        "roundtrip",
        "--dialect",
        "postgresql",
        "--pg-url",
        "postgresql://bob:hunter2@127.0.0.1:9/postgres",
    )
    assert proc.returncode == 3
    assert "hunter2" not in proc.stderr + proc.stdout
    assert "cannot connect to PostgreSQL" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_revision_in_from_is_a_usage_error(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS])
    assert main(["-c", str(ini), "roundtrip", "--dialect", "sqlite", "--from", "zz"]) == 2


def test_malformed_pyproject_setting_is_a_config_error(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS])
    (tmp_path / "pyproject.toml").write_text("[tool.migration-gate]\nmodles = 'x:y'\n")
    proc = run_cli("-c", str(ini), "roundtrip", "--dialect", "sqlite")
    assert proc.returncode == 2 and "modles" in proc.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = run_cli("-c", str(tmp_path / "nope.ini"), "roundtrip", "--debug")
    assert "Traceback" in proc.stderr
