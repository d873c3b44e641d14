"""The data probe, fk-type-mismatch and dialect-divergence on real databases, and the CI
outputs of the command line (issue 3).

Scenario chains whose expectations compare both dialects (`dialect-divergence`) cannot be
judged by a run on one dialect; they are run here through `roundtrip --dialect all`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import migration_gate
from migration_gate.cli import main
from migration_gate.commands.roundtrip import roundtrip as roundtrip_command
from migration_gate.config.settings import load_settings
from migration_gate.findings import Finding, Report
from migration_gate.walk.roundtrip import roundtrip as api_roundtrip
from migration_gate.walk.run import WalkOptions
from tests.chain_builder import config_for, write_chain
from tests.integration.test_fixture_chains import CROSS_DIALECT_CHECKS, _chain_dirs, _expected

ROOT = Path(__file__).resolve().parents[2]

USERS = (
    "a1",
    None,
    "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('email', sa.String(100), nullable=False, unique=True), "
    "sa.Column('plan', sa.String(20), nullable=True))",
    "op.drop_table('users')",
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return value


def found(report: Report, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


# -- the probe on small chains ---------------------------------------------------------------


def test_deleting_rows_is_data_loss(tmp_path: Path, url: str) -> None:
    ini = write_chain(
        tmp_path,
        [USERS, ("a2", "a1", "op.execute('DELETE FROM users')", "pass\nop.execute('SELECT 1')")],
    )
    report = migration_gate.roundtrip(config_for(ini), url)
    (loss,) = found(report, "data-loss")
    assert (loss.severity, loss.revision, loss.details["kind"]) == ("error", "a2", "rows")
    assert "users" in loss.message and loss.file and loss.file.endswith("a2.py") and loss.line
    assert not report.ok


NOTES = (
    "a2",
    "a1",
    "op.create_table('notes', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('body', sa.String(50), nullable=False))",
    "op.drop_table('notes')",
)


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM users", "UPDATE users SET plan = NULL", "DELETE FROM users WHERE id > 0"],
)
def test_losses_on_tables_untouched_for_revisions_are_still_seen(
    tmp_path: Path, url: str, statement: str
) -> None:
    # users is filled before a1's successor and left alone by a2: the probe trusts what it
    # read only while no statement may have changed rows, so a3's write must be seen
    a3 = ("a3", "a2", f"op.execute({statement!r})", "pass\nop.execute('SELECT 1')")
    ini = write_chain(tmp_path, [USERS, NOTES, a3])
    report = migration_gate.roundtrip(config_for(ini), url)
    (loss,) = found(report, "data-loss")
    assert (loss.revision, loss.details["table"]) == ("a3", "users")


def test_rows_a_downgrade_removed_are_counted_again_before_the_next_revision(
    tmp_path: Path, url: str
) -> None:
    # a2 seeds a row; its (sloppy) downgrade empties users, probe rows and all, and the
    # re-upgrade seeds again: the same table object, one row. The probe must count again
    # before a3 (statements ran since it last looked), or a3's harmless UPDATE would look
    # like it lost the three probe rows that a2's downgrade took.
    seed = (
        "a2",
        "a1",
        "op.execute(\"INSERT INTO users (id, email) VALUES (1, 'seed@x')\")",
        "op.execute('DELETE FROM users')",
    )
    a3 = ("a3", "a2", "op.execute('UPDATE users SET plan = plan')", "pass\nop.execute('SELECT 1')")
    ini = write_chain(tmp_path, [USERS, seed, a3])
    report = migration_gate.roundtrip(config_for(ini), url)
    assert found(report, "data-loss") == []
    assert report.ok, [f.message for f in report.findings]


@pytest.mark.postgres
def test_a_column_dropped_and_added_again_unchanged_is_lost_where_it_happens(
    tmp_path: Path, url: str
) -> None:
    """The schema after a2 equals the schema before it; the values of `plan` are gone all
    the same. The loss belongs to a2, not to the next revision that writes to the table."""
    again = (
        "a2",
        "a1",
        "op.drop_column('users', 'plan')\n"
        "op.add_column('users', sa.Column('plan', sa.String(20), nullable=True))",
        "pass\nop.execute('SELECT 1')",
    )
    touch = (
        "a3",
        "a2",
        "op.execute('UPDATE users SET email = email')",
        "pass\nop.execute('SELECT 1')",
    )
    ini = write_chain(tmp_path, [USERS, again, touch])
    report = migration_gate.roundtrip(config_for(ini), url)
    losses = found(report, "data-loss")
    assert [(f.revision, f.details["table"]) for f in losses] == [("a2", "users")], losses
    assert "users.plan" in losses[0].message


@pytest.mark.postgres
def test_values_rewritten_by_ddl_that_keeps_the_schema_are_seen(
    tmp_path: Path, pg_url: str
) -> None:
    """ALTER COLUMN ... TYPE with USING to the same type rewrites every value and changes no
    part of the schema."""
    rewrite = (
        "a2",
        "a1",
        "op.alter_column('users', 'plan', type_=sa.String(20), existing_type=sa.String(20), "
        "postgresql_using=\"plan || '!'\")",
        "pass\nop.execute('SELECT 1')",
    )
    ini = write_chain(tmp_path, [USERS, rewrite])
    report = migration_gate.roundtrip(config_for(ini), pg_url)
    losses = found(report, "data-loss")
    assert [(f.revision, f.details["table"]) for f in losses] == [("a2", "users")], losses


def test_rows_deleted_inside_a_function_are_seen(tmp_path: Path, pg_url: str) -> None:
    fn = (
        "a3",
        "a2",
        "op.execute('CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS "
        "$$ DELETE FROM users $$')\nop.execute('SELECT purge()')",
        "op.execute('DROP FUNCTION purge()')",
    )
    ini = write_chain(tmp_path, [USERS, NOTES, fn])
    report = migration_gate.roundtrip(config_for(ini), pg_url)
    assert [(f.revision, f.details["table"]) for f in found(report, "data-loss")] == [
        ("a3", "users")
    ]


def test_without_the_probe_nothing_is_filled_or_reported(tmp_path: Path, url: str) -> None:
    ini = write_chain(
        tmp_path,
        [USERS, ("a2", "a1", "op.execute('DELETE FROM users')", "pass\nop.execute('SELECT 1')")],
    )
    report = api_roundtrip(config_for(ini), url, options=WalkOptions(data_probe=False))
    assert report.findings == []


def test_data_preserving_changes_stay_quiet(tmp_path: Path, url: str) -> None:
    widen = (
        "a2",
        "a1",
        "with op.batch_alter_table('users') as b:\n"
        "    b.alter_column('plan', type_=sa.String(200), existing_type=sa.String(20))\n"
        "op.add_column('users', sa.Column('active', sa.Boolean, nullable=False, server_default=sa.true()))",
        "with op.batch_alter_table('users') as b:\n"
        "    b.drop_column('active')\n"
        "    b.alter_column('plan', type_=sa.String(20), existing_type=sa.String(200))",
    )
    rename = (
        "a3",
        "a2",
        "op.rename_table('users', 'members')",
        "op.rename_table('members', 'users')",
    )
    ini = write_chain(tmp_path, [USERS, widen, rename])
    report = migration_gate.roundtrip(config_for(ini), url)
    assert report.findings == [], report.findings


def test_names_that_need_quoting_are_filled_and_followed(tmp_path: Path, url: str) -> None:
    """The probe writes its own SQL: a table and columns named with a space, a double quote,
    a percent sign (a placeholder to a `format` driver), upper case and a keyword."""
    odd = (
        "a1",
        None,
        "op.create_table('Odd \"t%ble\"', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('select', sa.String(20), nullable=False), "
        "sa.Column('Mixed %s Case', sa.Integer, nullable=False))",
        "op.drop_table('Odd \"t%ble\"')",
    )
    delete = (
        "a2",
        "a1",
        "op.execute(sa.table('Odd \"t%ble\"', sa.column('select')).delete()"
        ".where(sa.column('select').is_not(None)))",
        "pass\nop.execute('SELECT 1')",
    )
    ini = write_chain(tmp_path, [odd, delete])
    report = migration_gate.roundtrip(config_for(ini), url)
    assert not found(report, "probe-skipped"), report.findings
    (loss,) = found(report, "data-loss")
    assert (loss.revision, loss.details["table"]) == ("a2", 'Odd "t%ble"')
    assert loss.details["kind"] == "rows"


def test_an_upgrade_that_fails_on_empty_tables_too_stops_the_walk(tmp_path: Path, url: str) -> None:
    broken = ("a2", "a1", "op.execute('UPDATE no_such_table SET x = 1')", "pass")
    later = (
        "a3",
        "a2",
        "op.create_index('ix_users_plan', 'users', ['plan'])",
        "op.drop_index('ix_users_plan', 'users')",
    )
    ini = write_chain(tmp_path, [USERS, broken, later])
    report = migration_gate.roundtrip(config_for(ini), url)
    failed = found(report, "upgrade-failed")
    # it fails every way (alone, without rows, with its predecessors in one command): the
    # walk stops, and the revisions it could not check are an error too
    assert [(f.revision, f.severity) for f in failed] == [("a2", "error"), ("a2", "error")]
    assert "empty tables too" in failed[0].details["hint"] and "no_such_table" in failed[0].message
    assert failed[0].details["kind"] == "fails-alone"
    assert failed[1].details["unchecked"] == ["a3"]
    assert "no way of applying reaches" in failed[1].message


def test_a_failure_on_the_probe_rows_keeps_the_database_code(tmp_path: Path, url: str) -> None:
    """What tells "any row fails this" from "the probe's values fail this": the database's
    own error code, kept from the exception the migration raised."""
    region = (
        "a2",
        "a1",
        "op.add_column('users', sa.Column('region', sa.String(5), nullable=False))",
        "with op.batch_alter_table('users') as b:\n    b.drop_column('region')",
    )
    ini = write_chain(tmp_path, [USERS, region])
    report = migration_gate.roundtrip(config_for(ini), url)
    (failed,) = found(report, "upgrade-failed")
    assert failed.severity == "error" and failed.details["passes_on_empty_tables"] is True
    assert failed.details["populated_tables"] == ["users"]
    sqlite = url.startswith("sqlite")
    assert failed.details["error_code"] == ("SQLITE_ERROR" if sqlite else "23502")
    assert "server default" in failed.details["hint"]
    assert report.findings == [failed]  # a2 was checked on empty tables: down and up again


def test_a_table_it_cannot_fill_is_noted_and_does_not_poison_the_next(
    tmp_path: Path, url: str
) -> None:
    tables = (
        "a1",
        None,
        "op.create_table('a_strict', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('code', sa.String(100), nullable=False), sa.CheckConstraint('length(code) * 2 = 101'))\n"
        "op.create_table('b_loose', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('name', sa.String(20), nullable=False))",
        "op.drop_table('b_loose')\nop.drop_table('a_strict')",
    )
    drop = ("a2", "a1", "op.execute('DELETE FROM b_loose')", "pass\nop.execute('SELECT 1')")
    ini = write_chain(tmp_path, [tables, drop])
    report = migration_gate.roundtrip(config_for(ini), url)
    skipped = found(report, "probe-skipped")
    assert len(skipped) == 1 and skipped[0].severity == "info"  # noted once, not per revision
    assert "a_strict" in skipped[0].message and "refused" in skipped[0].message
    # b_loose was filled after a_strict's insert failed in the same pass
    (loss,) = found(report, "data-loss")
    assert loss.details["table"] == "b_loose"


def test_declared_destructive_is_a_warning(tmp_path: Path, url: str) -> None:
    drop = ("a2", "a1", "op.drop_table('users')", USERS[2])
    ini = write_chain(
        tmp_path, [USERS, drop], extra='gate = {"destructive": "users move to another service"}'
    )
    report = migration_gate.roundtrip(config_for(ini), url)
    losses = [f for f in found(report, "data-loss") if f.revision == "a2"]
    assert [(f.severity, f.details["kind"]) for f in losses] == [("warning", "dropped")]
    assert "users move to another service" in losses[0].message


# -- both dialects -------------------------------------------------------------------------------


def _cross_dialect_chains() -> list[Path]:
    return [
        c
        for c in _chain_dirs()
        if any(s["check"] in CROSS_DIALECT_CHECKS for s in _expected(c)["findings"])
    ]


def _matches(f: Finding, spec: dict[str, Any]) -> bool:
    return all(
        str(v) in f.message if k == "message_contains" else getattr(f, k) == v
        for k, v in spec.items()
    )


@pytest.mark.postgres
@pytest.mark.parametrize("chain", _cross_dialect_chains(), ids=lambda p: p.name)
def test_cross_dialect_chain(chain: Path, pg_admin_url: str) -> None:
    exp = _expected(chain)
    settings = load_settings(chain / "alembic.ini", pg_url=pg_admin_url)
    report = roundtrip_command(settings, dialect="all")
    for spec in exp["findings"]:
        assert any(_matches(f, spec) for f in report.findings), (spec, report.findings)
    allowed = set(exp["no_errors_except"])
    assert not [f for f in report.errors() if f.check not in allowed], report.findings


def test_there_is_a_cross_dialect_chain() -> None:
    assert [c.name for c in _cross_dialect_chains()] == ["probe_pg_only_column"]


@pytest.mark.reference_service
@pytest.mark.postgres
def test_reference_chain_stays_green_with_the_probe_on_both_dialects(pg_admin_url: str) -> None:
    settings = load_settings(ROOT / "alembic.ini", pg_url=pg_admin_url)
    report = roundtrip_command(settings, dialect="all")
    assert report.findings == [], report.findings
    assert report.checked["sqlite"] == report.checked["postgresql"]
    assert report.checked["sqlite"][-1] == "0008"  # both walks reached the head


# -- the command line in CI ----------------------------------------------------------------------


def _lossy_chain(tmp_path: Path) -> Path:
    return write_chain(
        tmp_path,
        [USERS, ("a2", "a1", "op.execute('DELETE FROM users')", "pass\nop.execute('SELECT 1')")],
    )


def test_github_actions_gets_annotations_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _lossy_chain(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["-c", str(ini), "roundtrip", "--dialect", "sqlite"]) == 1
    out = capsys.readouterr()
    (line,) = [ln for ln in out.out.splitlines() if ln.startswith("::")]
    assert line.startswith("::error file=migrations/versions/a2.py,line=")
    assert ",title=data-loss (sqlite) at a2::" in line
    assert "sqlite 1/2 a1" in out.err  # plain progress lines in CI


def test_annotations_do_not_break_a_json_report_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _lossy_chain(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert (
        main(["-c", str(ini), "roundtrip", "--dialect", "sqlite", "--format", "json", "--quiet"])
        == 1
    )
    out = capsys.readouterr()
    assert json.loads(out.out)["ok"] is False
    assert "::error file=" in out.err


def test_no_annotations_outside_github(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _lossy_chain(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    main(["-c", str(ini), "roundtrip", "--dialect", "sqlite", "--quiet"])
    assert "::error" not in capsys.readouterr().out


def test_no_data_flag_and_report_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ini = _lossy_chain(tmp_path)
    md, xml = tmp_path / "summary.md", tmp_path / "junit.xml"
    assert (
        main(
            [
                "-c",
                str(ini),
                "roundtrip",
                "--dialect",
                "sqlite",
                "--format",
                "markdown",
                "--output",
                str(md),
                "--format",
                "junit",
                "--output",
                str(xml),
                "--quiet",
            ]
        )
        == 1
    )
    assert md.read_text().startswith("## ❌ migration-gate roundtrip: failed")
    assert "data-loss [a2]" in xml.read_text()
    assert main(["-c", str(ini), "roundtrip", "--dialect", "sqlite", "--no-data", "--quiet"]) == 0
