"""benchmarks/deploy.py stays runnable, and what it times succeeds (a deploy that fails
fast would look fast). Nothing here is timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_the_deploy_benchmark_runs_on_a_small_chain(tmp_path: Path, pg_admin_url: str) -> None:
    out = tmp_path / "deploy.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "deploy.py"),
            "--n",
            "4",
            "--repeat",
            "1",
            "--pg-url",
            pg_admin_url,
            "--work",
            str(tmp_path / "work"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert set(results["best"]) == {
        "alembic upgrade head",
        "step runner alone",
        "step runner, one command",
        "deploy (lock file)",
        "deploy (scratch)",
        "pre-flight (lock file)",
        "pre-flight (scratch)",
    }
    assert all(v > 0 for v in results["best"].values())
    assert "| deploy (lock file) |" in proc.stdout
