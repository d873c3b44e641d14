"""The benchmark scripts stay runnable (`nox -s benchmark`), and the chains they generate
are clean: a benchmark that times a walk full of findings would measure the wrong thing.
Nothing here is timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_run_on_a_small_chain_with_every_option(tmp_path: Path, pg_admin_url: str) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--n",
            "6",
            "--also",
            "8",
            "--enums",
            "2",
            "--checks",
            "3",
            "--indexes",
            "1",
            "--skip-peers",
            "--repeat",
            "1",
            "--window",
            "3",
            "--snapshot-tables",
            "5",
            "--snapshot-repeat",
            "1",
            "--help-repeat",
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
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    measured = {(t["dialect"], t["n"], t["what"]) for t in results["times"]}
    assert measured == {
        (d, n, w) for d in ("postgresql", "sqlite") for n in (6, 8) for w in ("floor", "ours")
    }
    assert all(t["seconds"] > 0 for t in results["times"])
    assert results["notes"] == []  # no finding on the generated chains, probe on
    assert set(results["snapshot_ms"]) == {"postgresql", "sqlite"}
    assert results["help_seconds"] > 0
    assert "| postgresql n=6: ours / floor |" in proc.stdout
    assert "| postgresql: ours n=8 / n=6 |" in proc.stdout
    paces = {(p["dialect"], p["n"], p["what"]): (p["first"], p["last"]) for p in results["pace_ms"]}
    assert set(paces) == measured  # every walk timed per revision, both ends of the chain
    assert all(first > 0 and last > 0 for first, last in paces.values())
    assert "| sqlite n=8: ours, ms per revision, first 3 → last 3 |" in proc.stdout


def test_run_with_one_chain_and_nothing_optional(tmp_path: Path) -> None:
    """The smallest run (no --also, one dialect, no snapshot or --help timing) prints its
    table too: it once failed while rendering, after all the timing was done."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--n",
            "3",
            "--dialect",
            "sqlite",
            "--skip-peers",
            "--repeat",
            "1",
            "--window",
            "1",
            "--snapshot-tables",
            "0",
            "--help-repeat",
            "0",
            "--work",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| sqlite n=3: ours / floor |" in proc.stdout
    assert "postgresql" not in proc.stdout


def test_generated_chain_has_what_it_says(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import ChainSpec, generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    ini = generate(tmp_path, ChainSpec(n=6, enum_every=2, check_every=3, extra_indexes=2))
    versions = sorted((ini.parent / "migrations" / "versions").glob("*.py"))
    assert len(versions) == 6
    text = versions[3].read_text()  # revision 4
    assert "down_revision = 'r00003'" in text and "ForeignKey('t00003.id'" in text
    assert "name='state_t00004'" in text and "ix_t00004_extra1" in text
    assert "CheckConstraint" in versions[2].read_text()
