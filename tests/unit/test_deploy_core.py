"""The pure parts of deploy: the plan, the pre-flight's decisions, the ledger's who and
which, retries, and the deploy section of a report in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from migration_gate.chain.script import load_chain
from migration_gate.deploy.apply import Retry, _normal
from migration_gate.deploy.files import FileFacts, read_files
from migration_gate.deploy.ledger import deployed_by, latest_applied
from migration_gate.deploy.lock import lock_key, tagged
from migration_gate.deploy.plan import build_plan
from migration_gate.deploy.preflight import drift_finding, drift_sentences, ledger_findings
from migration_gate.deploy.section import (
    AppliedRevision,
    DeploySection,
    LedgerRow,
    PlannedRevision,
)
from migration_gate.findings import Finding, Report
from migration_gate.reports import render
from migration_gate.snapshot import Column, EnumType, SchemaSnapshot, Table
from tests.chain_builder import config_for, write_chain


def _chain(tmp_path: Path):  # type: ignore[no-untyped-def]
    ini = write_chain(
        tmp_path,
        [
            ("r1", None, "op.execute('SELECT 1')", ""),
            (
                "r2",
                "r1",
                "with op.get_context().autocommit_block():\n    op.execute('SELECT 2')",
                "",
            ),
            ("r3", "r2", "op.execute('SELECT 3')", ""),
        ],
    )
    return load_chain(config_for(ini), root=tmp_path)


def _row(rev: str, checksum: str, status: str = "applied") -> LedgerRow:
    return LedgerRow(
        rev, checksum, "upgrade", status, "2026-01-01T00:00:00+00:00", 0.1, "ci", "0.1", "dev"
    )


def test_plan_lists_what_the_database_lacks_in_order(tmp_path: Path) -> None:
    chain = _chain(tmp_path)
    files = read_files(chain)
    plan = build_plan(chain, ("r1",), files, root=tmp_path)
    assert plan.revisions() == ["r2", "r3"] and plan.heads == ("r3",)
    assert [p.autocommit for p in plan.pending] == [True, False]
    assert plan.pending[0].file == "migrations/versions/r2.py"
    assert plan.pending[0].checksum == files.checksums["r2"].strip() != ""
    assert build_plan(chain, ("r3",), files).at_head
    assert build_plan(chain, (), files).revisions() == ["r1", "r2", "r3"]
    unknown = build_plan(chain, ("zz",), files)
    assert unknown.unknown == ("zz",) and unknown.pending == ()


def test_ledger_findings(tmp_path: Path) -> None:
    chain = _chain(tmp_path)
    files = read_files(chain)
    ok = [_row("r1", files.checksums["r1"]), _row("r2", files.checksums["r2"])]
    assert ledger_findings("dev", chain, files, ("r2",), ok) == []
    # edited after it was deployed (post-mortem 004)
    edited = ledger_findings("dev", chain, files, ("r2",), [_row("r1", "ast-v1:old"), ok[1]])
    assert [(f.check, f.severity, f.revision) for f in edited] == [
        ("ledger-mismatch", "error", "r1")
    ]
    assert "edited after it was deployed" in edited[0].message and "ast-v1:old" in edited[0].message
    # a failed row is not what ran
    assert ledger_findings("dev", chain, files, ("r2",), [*ok, _row("r3", "x", "failed")]) == []
    # gone from the files, and a database at a revision nobody knows
    gone = ledger_findings("dev", chain, files, ("zz",), [*ok, _row("zz", "x")])
    assert sorted(f.message.split(":")[1].strip()[:20] for f in gone) == [
        "migration_gate_ledge",
        "the database is at r",
    ]
    assert all(f.severity == "error" for f in gone)  # nothing to say about r1, r2 then
    # recorded but downgraded by hand: a warning
    down = ledger_findings("dev", chain, files, ("r1",), ok)
    assert [(f.severity, f.revision) for f in down] == [("warning", "r2")]


def _snap(role_type: str, enum: str, *, nullable: bool = False) -> SchemaSnapshot:
    return SchemaSnapshot(
        dialect="postgresql",
        tables=(Table("messages", columns=(Column("role", role_type, nullable),)),),
        enums=(EnumType(enum, ("user", "assistant")),),
    )


def test_drift_sentences_say_what_was_found_and_what_was_expected() -> None:
    expected = _snap("message_role", "message_role")
    live = _snap("messagerole", "messagerole", nullable=True)
    sentences = drift_sentences(expected, live)
    assert "messages.role: type messagerole, expected message_role" in sentences
    assert "messages.role: NULL, expected NOT NULL" in sentences
    assert any(s.startswith("enum type message_role") and "missing" in s for s in sentences)
    assert any(s.startswith("enum type messagerole") and "extra" in s for s in sentences)


@pytest.mark.parametrize(
    ("when", "allow", "check", "severity", "words"),
    [
        ("drift", False, "schema-drift", "error", "a deploy would refuse it"),
        ("before", False, "schema-drift", "error", "refused: nothing was applied"),
        ("before", True, "schema-drift", "warning", "--allow-drift: deployed anyway"),
        ("after", False, "deploy-failed", "error", "did not leave the schema"),
        ("after", True, "schema-drift", "warning", "--allow-drift"),
    ],
)
def test_drift_finding_by_moment(
    when: str, allow: bool, check: str, severity: str, words: str
) -> None:
    found = drift_finding(
        "dev",
        ("r2",),
        _snap("a", "a"),
        _snap("b", "a"),
        when=when,
        allow_drift=allow,  # type: ignore[arg-type]
    )
    assert found is not None
    assert (found.check, found.severity) == (check, severity) and words in found.message
    assert drift_finding("dev", ("r2",), _snap("a", "a"), _snap("a", "a"), when=when) is None  # type: ignore[arg-type]


def test_latest_applied_keeps_the_last_applied_row() -> None:
    rows = [_row("r1", "a"), _row("r1", "b", "failed"), _row("r1", "c")]
    assert latest_applied(rows)["r1"].checksum == "c"


def test_deployed_by_names_the_ci_run_else_user_at_host() -> None:
    gh = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
    }
    assert deployed_by(gh) == "https://github.com/o/r/actions/runs/42/attempts/2"
    assert deployed_by({"USER": "ann"}).startswith("ann@")


def test_lock_key_and_tagged_url() -> None:
    key = lock_key("alembic_version")
    assert key == lock_key("alembic_version") != lock_key("other_version")
    assert -(2**63) <= key < 2**63
    assert "application_name=migration-gate-deploy" in tagged("postgresql://u:p@h/db")
    assert tagged("sqlite:///x.db") == "sqlite:///x.db"


def test_retry_backoff_doubles_and_is_capped() -> None:
    r = Retry(retries=3, backoff=1.0)
    assert 0.8 <= r.delay(1) <= 1.2 and 1.6 <= r.delay(2) <= 2.4
    assert r.delay(20) <= 36.0
    assert _normal("5s") == _normal("5000ms") == "5000" and _normal("1min") == "60000"


def _report() -> Report:
    section = DeploySection(
        environment="dev",
        database="postgresql://u:***@h/db",
        before=("r1",),
        after=("r2",),
        head=("r3",),
        plan=(
            PlannedRevision("r2", "migrations/versions/r2.py", "ast-v1:a", "add name"),
            PlannedRevision(
                "r3", "migrations/versions/r3.py", "ast-v1:b", "drop it", destructive="empty"
            ),
        ),
        applied=(
            AppliedRevision("r2", "applied", 0.25, 2),
            AppliedRevision("r3", "failed", 0.5, 1, "LockNotAvailable: lock timeout"),
        ),
        ledger=(_row("r2", "ast-v1:a"), _row("r3", "ast-v1:b", "failed")),
        backup="backups/dev-r1.dump",
        expected_from="lock file",
        notes=("a note",),
    )
    failure = Finding(
        "deploy-failed",
        "error",
        "deploy to dev stopped: r3 failed",
        revision="r3",
        dialect="postgresql",
    )
    return Report("deploy", findings=[failure], deploy=section)


def test_the_deploy_section_survives_json() -> None:
    report = _report()
    back = Report.from_dict(json.loads(render(report, "json")))
    assert back.deploy == report.deploy
    assert back.to_dict() == report.to_dict()


def test_every_format_renders_the_deploy_section() -> None:
    report = _report()
    text = render(report, "text")
    assert (
        "deploy to dev (postgresql://u:***@h/db): r1 → r2, 1 of 2 revision(s) applied, failed at r3"
        in text
    )
    assert "(2 attempts)" in text and "[destructive]" in text
    assert "ledger: 2 row(s) written to migration_gate_ledger" in text
    assert "backup: backups/dev-r1.dump" in text and "a note" in text

    md = render(report, "markdown")
    assert "### Deploy: dev" in md
    assert "| `r2` | `migrations/versions/r2.py` | applied | 0.25 | 2 |  |" in md
    assert "| `r3` | failed |" in md and "Backup: `backups/dev-r1.dump`" in md

    root = ET.fromstring(render(report, "junit"))
    suite = next(s for s in root if s.get("name") == "migration-gate deploy [dev]")
    cases = {c.get("name"): c for c in suite}
    assert (
        cases["deploy [r2]"].get("time") == "0.250" and cases["deploy [r2]"].find("failure") is None
    )
    assert cases["deploy [r3]"].find("failure") is not None
    # the failure is reported once, in the revision's case
    assert root.get("failures") == "1"

    notice = render(report, "annotations").splitlines()[-1]
    assert notice.startswith("::notice title=migration-gate deploy::deploy to dev")


def test_dry_run_text_shows_each_revisions_sql() -> None:
    report = _report()
    assert report.deploy is not None
    report.deploy = DeploySection(
        environment="dev", database="db", before=("r1",), dry_run=True, plan=report.deploy.plan
    )
    report.sql = {"r2": "ALTER TABLE users ADD COLUMN name text;"}
    text = render(report, "text")
    assert "dry run of dev (db): r1, 2 revision(s) pending" in text
    assert (
        "-- r2 (add name) · migrations/versions/r2.py\nALTER TABLE users ADD COLUMN name text;"
        in text
    )


def test_read_files_skips_what_does_not_parse(tmp_path: Path) -> None:
    chain = _chain(tmp_path)
    (tmp_path / "migrations" / "versions" / "r3.py").write_text("def (")
    facts = read_files(chain)
    assert isinstance(facts, FileFacts) and set(facts.checksums) == {"r1", "r2"}
    assert facts.autocommit == {"r2"}


def test_pg_dump_never_gets_the_password_on_its_command_line() -> None:
    from migration_gate.db.pgtools import conninfo

    dsn, env = conninfo("postgresql://u:pw-1@h:5433/db?sslmode=require")
    assert dsn == "host='h' port='5433' user='u' dbname='db' sslmode='require'"
    assert env == {"PGPASSWORD": "pw-1"}
    dsn, env = conninfo("postgresql://u@h/db?password=pw-2&application_name=x")
    assert "pw-2" not in dsn and "password" not in dsn and env == {"PGPASSWORD": "pw-2"}
    assert conninfo("postgresql://u@h/db")[1] == {}


def test_a_drift_report_says_drift() -> None:
    section = DeploySection(
        environment="dev", database="db", before=("r1",), plan=_report().deploy.plan
    )  # type: ignore[union-attr]
    text = render(Report("drift", deploy=section), "text")
    assert "drift of dev (db): r1, 2 revision(s) pending" in text
