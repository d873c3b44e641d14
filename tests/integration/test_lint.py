"""`lint` on real databases: the lint_* scenario chains, the reference chain, --base, the CLI.

Each chain under tests/fixtures/chains/lint_*/ with an `expected_lint.yaml` is linted once per
entry of its `runs` (``sqlite``: SQLite only, ``all``: SQLite and PostgreSQL, with the SQL
captured and Squawk run on it):

    description: what the scenario reproduces
    runs: [sqlite, all]
    findings:            # each must be reported; `run` limits one to a run, `dialect: null` is matched
      - {check: ..., severity: ..., revision: ..., dialect: ..., line: ..., message_contains: ..., run: ...}
    no_errors_except: [check ids]   # any other error fails the test
    absent: [specs]                 # nothing may match these

A chain named lint_clean* must report nothing at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration_gate.config.settings import Settings, load_settings
from migration_gate.db.provision import PostgresProvider, SqliteProvider
from migration_gate.findings import Finding, Report
from migration_gate.lint.run import lint_chain
from tests.chain_builder import write_chain

ROOT = Path(__file__).resolve().parents[2]
CHAINS = ROOT / "tests" / "fixtures" / "chains"
SPEC_KEYS = {"check", "severity", "revision", "dialect", "line", "message_contains", "run"}


def _lint_chains() -> list[Path]:
    return sorted(p.parent for p in CHAINS.glob("lint_*/expected_lint.yaml"))


def _expected(chain: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (chain / "expected_lint.yaml").read_text(encoding="utf-8")
    )
    return data


def _cases() -> list[Any]:
    return [
        pytest.param(
            chain,
            run,
            id=f"{chain.name}-{run}",
            marks=[pytest.mark.postgres] if run == "all" else [],
        )
        for chain in _lint_chains()
        for run in _expected(chain)["runs"]
    ]


def _matches(f: Finding, spec: Mapping[str, Any]) -> bool:
    for key, want in spec.items():
        if key == "run":
            continue
        if key == "message_contains":
            if str(want) not in f.message:
                return False
        elif getattr(f, key) != want:
            return False
    return True


def _show(findings: list[Finding]) -> str:
    return (
        "\n".join(
            f"  {f.severity:7} {f.check:45} rev={f.revision} dialect={f.dialect} "
            f"line={f.line}: {f.message}"
            for f in findings
        )
        or "  (no findings)"
    )


@pytest.fixture
def databases(request: pytest.FixtureRequest, sqlite_provider: SqliteProvider) -> Iterator[Any]:
    """A function giving {dialect: empty database URL} for a run ("sqlite" or "all")."""
    made: list[tuple[Any, str]] = []

    def make(run: str) -> dict[str, str]:
        out = {"sqlite": sqlite_provider.scratch("lint")}
        made.append((sqlite_provider, out["sqlite"]))
        if run == "all":
            pg: PostgresProvider = request.getfixturevalue("pg_provider")
            out["postgresql"] = pg.scratch("lint")
            made.append((pg, out["postgresql"]))
        return out

    yield make
    for provider, url in made:
        provider.drop(url)


def _settings(chain: Path, **lint: Any) -> Settings:
    return Settings(root=chain, alembic_ini=chain / "alembic.ini", lint=lint)


def test_there_are_lint_chains_for_every_rule() -> None:
    checks = {s["check"].split("/")[0] for c in _lint_chains() for s in _expected(c)["findings"]}
    assert {"destructive-operation", "enum-naming", "fk-type-mismatch", "unsafe-lock"} <= checks
    assert any(c.name.startswith("lint_clean") for c in _lint_chains())


@pytest.mark.parametrize("chain", _lint_chains(), ids=lambda p: p.name)
def test_expected_lint_yaml_is_well_formed(chain: Path) -> None:
    exp = _expected(chain)
    assert set(exp) <= {"description", "runs", "findings", "no_errors_except", "absent"}
    assert exp["description"].strip() and set(exp["runs"]) <= {"sqlite", "all"}
    for spec in [*exp["findings"], *(exp.get("absent") or [])]:
        assert spec and set(spec) <= SPEC_KEYS, spec
        assert spec.get("run", "all") in exp["runs"] + ["all"], spec
    for spec in exp["findings"]:
        if spec.get("severity") == "error":
            assert spec["check"] in exp["no_errors_except"], spec
    if chain.name.startswith("lint_clean"):
        assert exp["findings"] == [] and exp["no_errors_except"] == []


@pytest.mark.parametrize(("chain", "run"), _cases())
def test_lint_chain(chain: Path, run: str, databases: Any) -> None:
    exp = _expected(chain)
    report = lint_chain(_settings(chain), databases(run))
    found = report.findings
    context = f"{chain.name} ({run}): {exp['description']}\n{_show(found)}"
    applies = [s for s in exp["findings"] if s.get("run", run) == run]
    missing = [s for s in applies if not any(_matches(f, s) for f in found)]
    assert not missing, f"expected findings not reported: {missing}\n{context}"
    unexpected = [f for f in found if f.is_error and f.check not in exp["no_errors_except"]]
    assert not unexpected, f"unexpected errors:\n{_show(unexpected)}\n{context}"
    forbidden = [
        (s, f)
        for s in exp.get("absent") or []
        if s.get("run", run) == run
        for f in found
        if _matches(f, s)
    ]
    assert not forbidden, f"findings that must be absent: {forbidden}\n{context}"
    if chain.name.startswith("lint_clean"):
        assert found == [], context
    if run == "all":
        assert set(report.sql) == set(report.checked["postgresql"]) - {
            f.revision for f in found if f.check == "upgrade-failed"
        }


@pytest.mark.postgres
def test_captured_sql_is_what_ran_with_parameters_inline(databases: Any) -> None:
    report = lint_chain(_settings(CHAINS / "lint_clean"), databases("all"))
    sql = report.sql
    assert list(sql) == ["a1", "a2", "a3"]
    assert "UPDATE accounts SET plan='free' WHERE accounts.plan IS NULL;" in sql["a2"]
    assert "CREATE TYPE account_plan AS ENUM ('free', 'team', 'enterprise');" in sql["a2"]
    assert all("alembic_version" not in text and "pg_catalog" not in text for text in sql.values())


@pytest.mark.postgres
def test_concurrent_index_outside_the_transaction_is_not_reported(
    tmp_path: Path, databases: Any
) -> None:
    up = (
        "op.execute(\"SET lock_timeout = '2s'\")\n"
        "with op.get_context().autocommit_block():\n"
        "    op.create_index('ix_items_name', 'items', ['name'], postgresql_concurrently=True)"
    )
    items = "op.create_table('items', sa.Column('id', sa.BigInteger, primary_key=True), sa.Column('name', sa.Text))"
    ini = write_chain(
        tmp_path,
        [
            ("a1", None, items, "op.drop_table('items')"),
            ("a2", "a1", up, "op.drop_index('ix_items_name', table_name='items')"),
        ],
    )
    postgresql_only = {"postgresql": databases("all")["postgresql"]}
    report = lint_chain(Settings(root=tmp_path, alembic_ini=ini), postgresql_only)
    assert report.findings == []
    assert (
        "COMMIT;\n\nCREATE INDEX CONCURRENTLY ix_items_name ON items (name);\n\nBEGIN;"
        in (report.sql["a2"])
    )


@pytest.mark.postgres
def test_config_turns_unsafe_lock_into_errors_and_disables_rules(databases: Any) -> None:
    chain = CHAINS / "lint_index_not_concurrent"
    strict = lint_chain(_settings(chain, severity={"unsafe-lock": "error"}), databases("all"))
    assert not strict.ok
    assert {f.check for f in strict.errors()} >= {"unsafe-lock/require-concurrent-index-creation"}
    quiet = lint_chain(_settings(chain, disable=["unsafe-lock"]), databases("all"))
    assert quiet.findings == []


@pytest.mark.reference_service
@pytest.mark.postgres
def test_reference_chain_lints_clean_with_its_declared_destructive_step(databases: Any) -> None:
    report = lint_chain(load_settings(ROOT / "alembic.ini"), databases("all"))
    assert report.ok, _show(report.errors())
    declared = [f for f in report.findings if f.check == "destructive-operation"]
    assert [(f.revision, f.severity) for f in declared] == [("0004", "info")]
    assert "drops column conversations.id" in declared[0].message
    assert not [
        f
        for f in report.findings
        if f.check in ("enum-naming", "fk-type-mismatch", "missing-downgrade")
    ]
    assert list(report.sql) == ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008"]
    assert "CREATE TYPE message_role AS ENUM" in report.sql["0006"]


# -- lint --base and the command line ---------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def _repo_with(tmp_path: Path, chain: str, committed: list[str]) -> Path:
    """A git repo holding `chain`, with only the `committed` version files committed."""
    repo = tmp_path / "repo"
    shutil.copytree(CHAINS / "_shared", tmp_path / "_shared")
    shutil.copytree(CHAINS / chain, repo)
    _git(repo, "init", "-q", "-b", "main")
    versions = repo / "migrations" / "versions"
    _git(
        repo,
        "add",
        "alembic.ini",
        "migrations/env.py",
        *(str(versions / name) for name in committed),
    )
    _git(repo, "commit", "-q", "-m", "released")
    return repo


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migration_gate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def test_lint_base_lints_only_what_the_branch_adds(tmp_path: Path, databases: Any) -> None:
    repo = _repo_with(tmp_path, "lint_drop_column_undeclared", ["a1_create_users.py"])
    settings = _settings(repo)
    report = lint_chain(settings, databases("sqlite"), base="main")
    assert report.checked["sqlite"] == ["a2", "a3"]  # a2 and a3 are not on main
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "a2 and a3")
    report = lint_chain(settings, databases("sqlite"), base="HEAD~1")
    assert report.checked["sqlite"] == ["a2", "a3"]
    assert {f.revision for f in report.findings} == {"a2", "a3"}
    assert lint_chain(settings, databases("sqlite"), base="HEAD").findings == []


def test_lint_base_with_an_unknown_ref_is_a_usage_error(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, "lint_drop_column_undeclared", ["a1_create_users.py"])
    proc = run_cli("-c", str(repo / "alembic.ini"), "lint", "--dialect", "sqlite", "--base", "nope")
    assert proc.returncode == 2 and "git does not know the ref 'nope'" in proc.stderr


def test_cli_lint_exit_code_and_json(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, "lint_drop_column_undeclared", ["a1_create_users.py"])
    out = tmp_path / "lint.json"
    proc = run_cli(
        "-c",
        str(repo / "alembic.ini"),
        "lint",
        "--dialect",
        "sqlite",
        "--format",
        "json",
        "--output",
        str(out),
        "--quiet",
    )
    assert proc.returncode == 1, proc.stderr
    data = Report.from_dict(__import__("json").loads(out.read_text()))
    assert data.command == "lint" and [f.revision for f in data.errors()] == ["a2"]


@pytest.mark.postgres
def test_cli_show_sql_prints_what_runs(tmp_path: Path, pg_admin_url: str) -> None:
    repo = _repo_with(tmp_path, "lint_index_not_concurrent", ["a1_create_items.py"])
    proc = run_cli("-c", str(repo / "alembic.ini"), "lint", "--pg-url", pg_admin_url, "--show-sql")
    assert proc.returncode == 0, proc.stderr
    report, _, sql = proc.stdout.partition("-- revision a1: SQL run on PostgreSQL")
    assert (
        "WARNING unsafe-lock/require-concurrent-index-creation  a2 [postgresql] "
        "migrations/versions/a2_items_name_index.py:21" in report
    )
    assert "CREATE INDEX ix_items_name ON items (name);" in sql
    assert "-- revision a3: SQL run on PostgreSQL" in sql


@pytest.mark.postgres
def test_missing_squawk_is_a_config_error_before_any_walk(
    tmp_path: Path, pg_admin_url: str
) -> None:
    repo = _repo_with(tmp_path, "lint_clean", [])
    (repo / "pyproject.toml").write_text(
        '[tool.migration-gate.lint]\nsquawk = "/nonexistent/squawk"\n'
    )
    proc = run_cli("-c", str(repo / "alembic.ini"), "lint", "--dialect", "sqlite")
    assert proc.returncode == 0, proc.stderr  # no PostgreSQL pass: Squawk is not needed
    proc = run_cli("-c", str(repo / "alembic.ini"), "lint", "--pg-url", pg_admin_url)
    assert proc.returncode == 2 and "squawk not found at '/nonexistent/squawk'" in proc.stderr
