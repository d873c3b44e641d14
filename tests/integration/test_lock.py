"""`lock` and `lock --check` as a team uses them: a git repository, a base branch, edits.

The scenario of post-mortem 004 is tests/fixtures/chains/lint_edited_released: its
migrations/ are the chain as released; edits/<name>/a2_role_enum.py replaces the released a2,
and expected_lock.yaml says whether `lock --check` must pass and what it must report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration_gate.cli import main
from migration_gate.config.settings import load_settings
from migration_gate.db.provision import PostgresProvider, SqliteProvider
from migration_gate.lock.locking import current_lock

ROOT = Path(__file__).resolve().parents[2]
CHAINS = ROOT / "tests" / "fixtures" / "chains"
SCENARIO = CHAINS / "lint_edited_released"
A2 = Path("migrations/versions/a2_role_enum.py")
A3 = '''"""messages.content

Revision ID: a3
Revises: a2
"""
import sqlalchemy as sa
from alembic import op

revision = "a3"
down_revision = "a2"


def upgrade() -> None:
    op.add_column("messages", sa.Column("content", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("content")
'''


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=check, capture_output=True, text=True, env=env
    )


def lock_cli(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["-c", str(repo / "alembic.ini"), "lock", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The scenario chain as a git repository whose main branch has it released and locked."""
    shutil.copytree(CHAINS / "_shared", tmp_path / "_shared")
    repo = tmp_path / "service"
    shutil.copytree(SCENARIO, repo, ignore=shutil.ignore_patterns("edits", "expected_lock.yaml"))
    git(repo, "init", "-q", "-b", "main")
    code, out = lock_cli(repo, "--dialect", "sqlite", capsys=capsys)
    assert code == 0, out
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release a1, a2")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def _edits() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SCENARIO / "expected_lock.yaml").read_text())
    edits: dict[str, Any] = data["edits"]
    return edits


def test_lock_file_is_written_where_settings_say(repo: Path) -> None:
    text = (repo / "migrations" / "migration-gate.lock").read_text()
    assert "revision: a1\nparents: -\nfile: migrations/versions/a1_create_messages.py\n" in text
    assert "revision: a2\nparents: a1\n" in text and "schema.sqlite: sha256:" in text
    assert "schema.postgresql" not in text  # locked with --dialect sqlite
    assert text.endswith("head: a2\n")


@pytest.mark.parametrize("edit", sorted(_edits()))
def test_edit_of_a_released_migration(
    edit: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _edits()[edit]
    shutil.copyfile(SCENARIO / "edits" / edit / A2.name, repo / A2)
    for args in ((), ("--base-ref", "main")):
        code, out = lock_cli(repo, "--check", *args, capsys=capsys)
        if spec["passes"]:
            assert code == 0, out
            continue
        assert code == 1, out
        for finding in spec["findings"]:
            assert (
                f"ERROR   {finding['check']}  {finding['revision']} "
                f"{A2.as_posix()}:{finding['line']}" in out
            ), out
        assert "add a new migration instead" in out
        if args:
            assert "was edited after it was released on main" in out


def test_relocking_an_edited_release_passes_locally_but_not_against_the_base_branch(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(SCENARIO / "edits" / "operation_changed" / A2.name, repo / A2)
    code, out = lock_cli(repo, "--dialect", "sqlite", capsys=capsys)
    assert code == 0 and "WARNING edited-migration  a2" in out  # lock says so, but writes
    assert lock_cli(repo, "--check", capsys=capsys)[0] == 0
    code, out = lock_cli(repo, "--check", "--base-ref", "main", capsys=capsys)
    assert code == 1 and "was edited after it was released on main" in out, out


def test_unlocked_and_removed_revisions(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "migrations" / "versions" / "a3_content.py").write_text(A3)
    code, out = lock_cli(repo, "--check", capsys=capsys)
    assert code == 1 and "ERROR   unlocked-migration  a3" in out and "migration-gate lock" in out
    assert lock_cli(repo, "--dialect", "sqlite", capsys=capsys)[0] == 0
    assert lock_cli(repo, "--check", "--base-ref", "main", capsys=capsys)[0] == 0
    (repo / A2).unlink()
    (repo / "migrations" / "versions" / "a3_content.py").write_text(A3.replace('"a2"', '"a1"'))
    code, out = lock_cli(repo, "--check", "--base-ref", "main", capsys=capsys)
    assert code == 1 and "a2 is released on main, but no migration file declares it" in out, out


def test_two_branches_adding_on_the_same_head_conflict_in_git(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for branch, name in (("feature", "b3"), ("other", "c3")):
        git(repo, "checkout", "-q", "main")
        git(repo, "checkout", "-q", "-B", branch)
        (repo / "migrations" / "versions" / f"{name}.py").write_text(
            A3.replace('"a3"', f'"{name}"')
        )
        assert lock_cli(repo, "--dialect", "sqlite", capsys=capsys)[0] == 0
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", name)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "feature")
    merged = git(repo, "merge", "other", check=False)
    assert merged.returncode != 0 and "migration-gate.lock" in merged.stdout + merged.stderr
    code, out = lock_cli(repo, "--check", capsys=capsys)
    assert code == 2 and "conflict markers" in out


def test_missing_lock_file_is_a_config_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "migrations" / "migration-gate.lock").unlink()
    code, out = lock_cli(repo, "--check", capsys=capsys)
    assert code == 2 and "no lock file at migrations/migration-gate.lock" in out


def test_base_ref_without_a_lock_checks_the_local_lock(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(repo, "rm", "-q", "--cached", "migrations/migration-gate.lock")
    git(repo, "commit", "-q", "-m", "unlock")
    code, out = lock_cli(repo, "--check", "--base-ref", "HEAD", capsys=capsys)
    assert code == 0 and "HEAD has no lock file yet" in out


@pytest.mark.postgres
def test_schemas_check_catches_a_changed_effect_with_an_unchanged_source(
    repo: Path, pg_admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = lock_cli(repo, "--pg-url", pg_admin_url, capsys=capsys)
    assert code == 0, out
    assert lock_cli(repo, "--check", "--schemas", "--pg-url", pg_admin_url, capsys=capsys)[0] == 0
    lock = repo / "migrations" / "migration-gate.lock"
    lines = lock.read_text().splitlines()
    start = lines.index("revision: a2")
    i = next(n for n in range(start, len(lines)) if lines[n].startswith("schema.postgresql:"))
    lines[i] = "schema.postgresql: sha256:" + "0" * 64
    lock.write_text("\n".join(lines) + "\n")
    assert lock_cli(repo, "--check", capsys=capsys)[0] == 0  # sources only: fast, unchanged
    code, out = lock_cli(repo, "--check", "--schemas", "--pg-url", pg_admin_url, capsys=capsys)
    assert code == 1 and "is not the locked one although its source is unchanged" in out, out


def test_cli_lock_help_lists_the_options() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "migration_gate", "lock", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--check" in proc.stdout and "--base-ref" in proc.stdout and "--schemas" in proc.stdout


@pytest.mark.reference_service
@pytest.mark.postgres
def test_committed_reference_lock_is_what_lock_generates(pg_provider: PostgresProvider) -> None:
    """STYLE rule 11: the committed lock file is regenerated and compared."""
    settings = load_settings(ROOT / "alembic.ini")
    from migration_gate.findings import Report

    report = Report("lock")
    with SqliteProvider() as sqlite:
        fresh = current_lock(settings, {"sqlite": sqlite, "postgresql": pg_provider}, report)
    assert report.ok, report.findings
    committed = settings.lock_file.read_text(encoding="utf-8")
    assert fresh.render() == committed, (
        "migrations/migration-gate.lock is stale: run `nox -s lock` (or migration-gate lock) "
        "and commit it"
    )
