"""deploy and drift in-process, on real PostgreSQL and SQLite databases.

What a deploy must guarantee, one test each: an empty database reaches the head with one
ledger row per revision (written in the revision's own transaction), a second deploy has
nothing to do, a revision that raises leaves nothing of itself behind, the environment's
timeouts are in force inside each revision, a drifted database or an edited deployed
migration is refused, a database with tables and no revision is refused with its stamp.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate.chain.checksum import source_checksum
from migration_gate.commands.deploy import deploy
from migration_gate.commands.drift import drift
from migration_gate.commands.lock import lock
from migration_gate.findings import Report
from tests import deploy_project as dp

pytestmark = pytest.mark.postgres


def _checks(report: Report) -> list[tuple[str, str]]:
    return [(f.check, f.severity) for f in report.findings]


def test_empty_database_reaches_head_with_a_ledger_then_nothing_to_do(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path)
    s = dp.settings(ini, pg_url, pg_admin_url)
    report = deploy(s, env="dev")
    assert report.ok, report.findings
    assert dp.version(pg_url) == ["a3"]
    rows = dp.ledger(pg_url)
    assert [(r.revision, r.status, r.direction, r.environment) for r in rows] == [
        ("a1", "applied", "upgrade", "dev"),
        ("a2", "applied", "upgrade", "dev"),
        ("a3", "applied", "upgrade", "dev"),
    ]
    files = tmp_path / "migrations" / "versions"
    assert [r.checksum for r in rows] == [
        source_checksum(files / f"{r}.py") for r in ("a1", "a2", "a3")
    ]
    section = report.deploy
    assert section is not None
    assert [a.status for a in section.applied] == ["applied"] * 3
    assert [r.revision for r in section.ledger] == ["a1", "a2", "a3"]
    assert section.before == () and section.after == ("a3",)

    again = deploy(s, env="dev")
    assert again.ok and again.deploy is not None
    assert again.deploy.plan == () and again.deploy.applied == ()
    assert any("nothing to do" in n for n in again.deploy.notes)
    assert len(dp.ledger(pg_url)) == 3


def test_the_ledger_row_commits_with_its_revision(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    """Same transaction: PostgreSQL stamps both rows with one transaction id (xmin)."""
    ini = dp.write_project(tmp_path)
    assert deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev").ok
    (stamped,) = dp.query(pg_url, "SELECT xmin::text FROM alembic_version")
    (row,) = dp.query(pg_url, "SELECT xmin::text FROM migration_gate_ledger WHERE revision = 'a3'")
    others = dp.query(pg_url, "SELECT xmin::text FROM migration_gate_ledger WHERE revision <> 'a3'")
    assert stamped[0] == row[0]
    assert all(o[0] != row[0] for o in others)  # each revision its own transaction


def test_timeouts_are_in_force_inside_each_revision(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:1], lock_timeout="700ms")
    dp.add_revision(
        tmp_path,
        "a2",
        "a1",
        "op.execute(\"CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lt, "
        "current_setting('statement_timeout') AS st\")",
    )
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert report.ok, report.findings
    assert dp.query(pg_url, "SELECT lt, st FROM seen") == [("700ms", "1min")]
    # and nothing of it outlives the transaction
    assert dp.query(pg_url, "SELECT current_setting('lock_timeout')") == [("0",)]


def test_a_revision_that_changes_a_timeout_is_reported(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:1])
    dp.add_revision(tmp_path, "a2", "a1", "op.execute(\"SET LOCAL lock_timeout = '9s'\")")
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert report.ok
    (warning,) = [f for f in report.findings if f.severity == "warning"]
    assert warning.revision == "a2" and "lock_timeout = 9s" in warning.message


def test_a_revision_that_raises_leaves_nothing_of_itself(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:2])
    dp.add_revision(
        tmp_path,
        "a3",
        "a2",
        "op.create_table('half', sa.Column('id', sa.Integer, primary_key=True))\n"
        "op.execute('SELECT * FROM no_such_table')",
    )
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert not report.ok
    (failed,) = report.errors()
    assert failed.check == "deploy-failed" and failed.revision == "a3"
    assert "dev" in failed.message and "no_such_table" in failed.message
    assert "stays at a2" in failed.message
    assert failed.file == "migrations/versions/a3.py" and failed.line == 11
    assert dp.version(pg_url) == ["a2"]
    assert dp.query(pg_url, "SELECT to_regclass('half') IS NULL") == [(True,)]
    rows = dp.ledger(pg_url)
    assert [(r.revision, r.status) for r in rows] == [
        ("a1", "applied"),
        ("a2", "applied"),
        ("a3", "failed"),
    ]
    assert "no_such_table" in rows[-1].error
    assert report.deploy is not None
    assert [(a.revision, a.status) for a in report.deploy.applied] == [
        ("a1", "applied"),
        ("a2", "applied"),
        ("a3", "failed"),
    ]


def test_autocommit_block_revisions_work(tmp_path: Path, pg_url: str, pg_admin_url: str) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:1])
    dp.add_revision(
        tmp_path,
        "a2",
        "a1",
        "with op.get_context().autocommit_block():\n"
        "    op.execute('CREATE INDEX CONCURRENTLY ix_users_email ON users (email)')",
    )
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert report.ok, report.findings
    assert report.deploy is not None
    assert [p.autocommit for p in report.deploy.plan] == [False, True]
    assert dp.version(pg_url) == ["a2"]
    assert dp.query(
        pg_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_users_email'::regclass"
    ) == [(True,)]
    assert [r.revision for r in dp.ledger(pg_url)] == ["a1", "a2"]


def test_hand_altered_column_is_refused_and_allow_drift_goes_on(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:2])
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    dp.execute(pg_url, "ALTER TABLE users ALTER COLUMN name TYPE varchar(80)")
    dp.add_revision(tmp_path, "a3", "a2", dp.CHAIN[2][2])

    alone = drift(s, env="dev")
    assert _checks(alone) == [("schema-drift", "error")]
    assert "users.name: type varchar(80), expected varchar(50)" in alone.findings[0].message

    refused = deploy(s, env="dev")
    assert _checks(refused) == [("schema-drift", "error")]
    assert "refused" in refused.findings[0].message
    assert dp.version(pg_url) == ["a2"]

    allowed = deploy(s, env="dev", allow_drift=True)
    assert allowed.ok
    assert dp.version(pg_url) == ["a3"]
    assert [f.severity for f in allowed.findings] == ["warning", "warning"]
    assert "--allow-drift" in allowed.findings[0].message
    assert allowed.deploy is not None and allowed.deploy.allow_drift


def test_enum_renamed_by_hand_is_named_in_the_diff(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    """Post-mortem 004: dev kept the enum `messagerole` where the chain makes `message_role`."""
    ini = dp.write_project(tmp_path)
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    dp.execute(pg_url, "ALTER TYPE message_role RENAME TO messagerole")
    report = drift(s, env="dev")
    (found,) = report.findings
    assert found.check == "schema-drift" and found.severity == "error"
    assert "messages.role: type messagerole, expected message_role" in found.details["diff"]
    assert any("message_role" in line and "missing" in line for line in found.details["diff"])


def test_edited_deployed_migration_is_a_ledger_mismatch(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path)
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    path = tmp_path / "migrations" / "versions" / "a2.py"
    path.write_text(path.read_text().replace("sa.String(50)", "sa.String(60)"))
    for report in (drift(s, env="dev"), deploy(s, env="dev")):
        mismatch = [f for f in report.findings if f.check == "ledger-mismatch"]
        assert len(mismatch) == 1 and mismatch[0].severity == "error"
        assert mismatch[0].revision == "a2" and mismatch[0].file == "migrations/versions/a2.py"
        assert "edited after it was deployed" in mismatch[0].message
        assert not report.ok
    # a comment does not count: ast-v1 checksums ignore it
    path.write_text(path.read_text().replace("sa.String(60)", "sa.String(50)") + "# note\n")
    assert drift(s, env="dev").ok


def test_a_revision_the_files_do_not_know_is_refused(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path)
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    (tmp_path / "migrations" / "versions" / "a3.py").unlink()
    report = deploy(s, env="dev")
    assert {f.check for f in report.errors()} == {"ledger-mismatch"}
    messages = " ".join(f.message for f in report.errors())
    assert "no migration file declares" in messages


def test_tables_without_a_revision_are_refused_with_the_stamp(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path)
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert lock(s, dialect="postgresql").ok  # the lock file knows each revision's schema
    other = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(other, env="dev").ok
    dp.execute(pg_url, "DROP TABLE alembic_version", "DROP TABLE migration_gate_ledger")
    report = deploy(s, env="dev")
    (found,) = report.errors()
    assert found.check == "schema-drift" and "no Alembic revision" in found.message
    assert "alembic -c alembic.ini stamp a3" in found.details["hint"]
    assert dp.version(pg_url) == []


def test_the_lock_file_vouches_and_otherwise_a_scratch_database_is_built(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path)
    s = dp.settings(ini, pg_url, pg_admin_url)
    first = deploy(s, env="dev")
    assert first.deploy is not None and first.deploy.expected_from == "scratch database"
    assert lock(s, dialect="postgresql").ok
    again = drift(s, env="dev")
    assert again.ok and again.deploy is not None
    assert again.deploy.expected_from == "lock file"
    # a drifted schema does not match the lock's hash: a real diff is built
    dp.execute(pg_url, "ALTER TABLE users ADD COLUMN extra int")
    drifted = drift(s, env="dev")
    assert drifted.deploy is not None and drifted.deploy.expected_from == "scratch database"
    assert "column users.extra (integer NULL) is extra" in drifted.findings[0].message


def test_dry_run_shows_the_sql_changes_nothing_and_still_checks(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:1])
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    for rid, parent, up, _ in dp.CHAIN[1:]:
        dp.add_revision(tmp_path, rid, parent, up)
    report = deploy(s, env="dev", dry_run=True)
    assert report.ok, report.findings
    assert list(report.sql) == ["a2", "a3"]
    assert "ALTER TABLE users ADD COLUMN name VARCHAR(50)" in report.sql["a2"]
    assert "CREATE TYPE message_role AS ENUM ('user', 'assistant')" in report.sql["a3"]
    assert dp.version(pg_url) == ["a1"] and len(dp.ledger(pg_url)) == 1
    assert report.deploy is not None and report.deploy.dry_run
    dp.execute(pg_url, "ALTER TABLE users ADD COLUMN extra int")
    checked = deploy(s, env="dev", dry_run=True)
    assert [f.check for f in checked.errors()] == ["schema-drift"]


def test_backup_is_a_pg_dump_custom_file(tmp_path: Path, pg_url: str, pg_admin_url: str) -> None:
    import subprocess

    from migration_gate.db.pg_server import embedded_bin_dir

    ini = dp.write_project(tmp_path, dp.CHAIN[:1], backup="always")
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    dp.execute(pg_url, "INSERT INTO users (email) VALUES ('kept@example.com')")
    dp.add_revision(tmp_path, "a2", "a1", dp.CHAIN[1][2])
    report = deploy(s, env="dev")
    assert report.ok and report.deploy is not None and report.deploy.backup
    path = tmp_path / report.deploy.backup
    assert path.name.startswith("dev-a1-") and path.suffix == ".dump"
    assert report.deploy.backup in report.written
    listing = subprocess.run(
        [str(embedded_bin_dir() / "pg_restore"), "--list", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "TABLE DATA public users" in listing
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_sqlite_deploy_is_atomic_and_ledgered(tmp_path: Path, sqlite_url: str) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:2])
    dp.add_revision(
        tmp_path,
        "a3",
        "a2",
        "op.create_table('half', sa.Column('id', sa.Integer, primary_key=True))\n"
        "op.execute('SELECT * FROM no_such_table')",
    )
    s = dp.settings(ini, sqlite_url, None)
    report = deploy(s, env="dev")
    assert [f.check for f in report.errors()] == ["deploy-failed"]
    assert dp.version(sqlite_url) == ["a2"]
    assert dp.query(sqlite_url, "SELECT name FROM sqlite_master WHERE name = 'half'") == []
    assert [(r.revision, r.status) for r in dp.ledger(sqlite_url)] == [
        ("a1", "applied"),
        ("a2", "applied"),
        ("a3", "failed"),
    ]
    dp.add_revision(
        tmp_path,
        "a3",
        "a2",
        "op.create_table('half', sa.Column('id', sa.Integer, primary_key=True))",
    )
    assert deploy(s, env="dev").ok
    dp.execute(sqlite_url, "CREATE TABLE sneaky (id integer)")
    assert [f.check for f in drift(s, env="dev").errors()] == ["schema-drift"]


def test_a_stale_lock_file_does_not_vouch(tmp_path: Path, pg_url: str, pg_admin_url: str) -> None:
    """Post-mortem 004 without a ledger: the database ran a3 as it was locked, then a3 was
    edited. The lock's hash still matches the database, but it no longer describes the
    files: the expected schema is built from them and the drift is found."""
    from alembic import command
    from alembic.config import Config

    ini = dp.write_project(tmp_path)
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert lock(s, dialect="postgresql").ok
    cfg = Config(str(ini))
    cfg.set_main_option("sqlalchemy.url", pg_url)
    command.upgrade(cfg, "head")  # plain Alembic: no ledger
    path = tmp_path / "migrations" / "versions" / "a3.py"
    path.write_text(path.read_text().replace("name='message_role'", "name='messagerole'"))
    report = drift(s, env="dev")
    assert report.deploy is not None and report.deploy.expected_from == "scratch database"
    (found,) = report.errors()
    assert found.check == "schema-drift"
    assert "messages.role: type message_role, expected messagerole" in found.details["diff"]
    assert any("no ledger yet" in n for n in report.deploy.notes)


def test_post_check_catches_a_migration_that_depends_on_the_data(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    """Like post-mortem 004's IF EXISTS migration: it does something else on this database
    than on an empty one. The deploy applies it, then the post-check says so."""
    ini = dp.write_project(tmp_path, dp.CHAIN[:1])
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    dp.execute(pg_url, "INSERT INTO users (email) VALUES ('a@example.com')")
    dp.add_revision(
        tmp_path,
        "a2",
        "a1",
        "if op.get_bind().execute(sa.text('SELECT count(*) FROM users')).scalar():\n"
        "    op.create_index('ix_users_email', 'users', ['email'])",
    )
    report = deploy(s, env="dev")
    (found,) = report.errors()
    assert found.check == "deploy-failed" and found.revision == "a2"
    assert "did not leave the schema the chain makes" in found.message
    assert "index ix_users_email on users (email) is extra" in found.message
    assert dp.version(pg_url) == ["a2"]


def test_the_setup_hook_runs_on_scratch_databases_not_on_the_environments(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    """An app whose base tables come from create_all ([tool.migration-gate] setup): the
    expected schema has them too, and the live database is never set up again."""
    import uuid

    module = f"appbase_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "import sqlalchemy as sa\n\n\ndef create(conn):\n"
        "    conn.execute(sa.text('CREATE TABLE base_table (id integer PRIMARY KEY)'))\n"
    )
    (tmp_path / "pyproject.toml").write_text(f'[tool.migration-gate]\nsetup = "{module}:create"\n')
    ini = dp.write_project(tmp_path)
    dp.execute(pg_url, "CREATE TABLE base_table (id integer PRIMARY KEY)")  # the app did it
    s = dp.settings(ini, pg_url, pg_admin_url)
    report = deploy(s, env="dev")
    assert report.ok and report.findings == [], report.findings
    assert report.deploy is not None and report.deploy.expected_from == "scratch database"
    assert dp.version(pg_url) == ["a3"]
    assert drift(s, env="dev").ok
