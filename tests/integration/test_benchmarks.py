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
VERBS = ("roundtrip", "lint", "lock", "check-models")


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
    verbs = {(v["dialect"], v["n"], v["verb"]) for v in results["verbs"]}
    assert verbs == {
        (d, n, v)
        for n in (6, 8)
        for d, v in [
            *((d, v) for d in ("postgresql", "sqlite") for v in VERBS),
            ("all", "roundtrip"),
            ("all", "lint"),
        ]
    }
    assert all(v["seconds"] > 0 and v["cpu_seconds"] > 0 for v in results["verbs"])
    lint_parts = next(v["timings"] for v in results["verbs"] if v["verb"] == "lint")
    assert "lint.total" in lint_parts
    assert "| n=6: lint / roundtrip, --dialect postgresql |" in proc.stdout
    assert "| n=6: lint (both dialects) / roundtrip --dialect postgresql |" in proc.stdout
    assert "| lint --dialect postgresql: n=8 / n=6 |" in proc.stdout
    assert "- lint --dialect all, n=8: total " in proc.stdout
    assert "postgresql.walk" in proc.stdout and "sqlite.walk" in proc.stdout
    assert "| check-models --dialect sqlite: n=8 / n=6 |" in proc.stdout


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
            "--skip-verbs",
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
    assert "| verb |" not in proc.stdout


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
    assert (tmp_path / "pyproject.toml").is_file()  # the chain is its own project
    assert not (tmp_path / "models.py").exists()


@pytest.mark.postgres
def test_generated_models_match_the_chain_on_both_dialects(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """check-models on a generated chain with models finds nothing: the benchmark of
    check-models times a clean comparison, not a report full of drift."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import ChainSpec, generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from migration_gate.cli import main

    spec = ChainSpec(n=5, enum_every=2, check_every=3, extra_indexes=1, models=True)
    ini = generate(tmp_path, spec)
    assert (
        "N, ENUM_EVERY, CHECK_EVERY, EXTRA_INDEXES = 5, 2, 3, 1"
        in (tmp_path / "models.py").read_text()
    )
    assert main(["-c", str(ini), "check-models", "--pg-url", pg_admin_url, "--quiet"]) == 0
    ini = generate(tmp_path / "drifted", spec)  # a new module path: env.py imports it afresh
    drifted = tmp_path / "drifted" / "models.py"
    drifted.write_text(drifted.read_text().replace("sa.String(100)", "sa.String(50)"))
    assert main(["-c", str(ini), "check-models", "--pg-url", pg_admin_url, "--quiet"]) == 1


@pytest.mark.postgres
def test_cli_times_whole_processes_for_each_source_tree(tmp_path: Path, pg_admin_url: str) -> None:
    out = tmp_path / "cli.json"
    src = str(ROOT / "src")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "cli.py"),
            "--n",
            "3",
            "--repeat",
            "1",
            "--src",
            src,
            "--src",
            src,
            "--verb",
            "lint --dialect postgresql",
            "--verb",
            "check-models --dialect sqlite",
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
    assert results["failed"] == []
    assert {(t["verb"], t["src"]) for t in results["times"]} == {
        ("lint --dialect postgresql", src),
        ("check-models --dialect sqlite", src),
    }
    assert len(results["times"]) == 4 and all(t["seconds"] > 0 for t in results["times"])
    assert "| `lint --dialect postgresql` | 3 |" in proc.stdout
