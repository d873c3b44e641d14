"""benchmarks/replay.py stays runnable (at a tiny scale; nothing is timed here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.reference_service  # it replays the reference chain's snapshots
def test_the_replay_benchmark_runs_at_a_tiny_scale(tmp_path: Path, pg_admin_url: str) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "replay.py"),
            "--scale",
            "0.0001",
            "--sample",
            "50",
            "--jobs",
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
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["ours"]["rewrites"] >= 1 and results["ours"]["rss_mib"] > 0
    assert results["floor"]["total"] > 0 and results["ratio_replay"] > 0
    assert results["sample_rss_mib"] > 0 and results["tiny_replay_rss_mib"] > 0
