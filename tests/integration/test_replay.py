"""`replay` on real databases: one scenario per finding, a clean replay, bad input, the CLI.

Each scenario is a small chain (tests/chain_builder.py): a database is upgraded to an
earlier revision and filled, snapshotted with `snapshot`, and replayed through the rest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from migration_gate.chain.runner import StepRunner
from migration_gate.cli import main
from migration_gate.commands.replay import replay
from migration_gate.commands.snapshot import snapshot
from migration_gate.config.settings import Settings, load_settings
from migration_gate.db import engines
from migration_gate.deploy import ledger
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report
from migration_gate.reports import render
from tests.chain_builder import Revision, write_chain

pytestmark = pytest.mark.postgres

USERS = (
    "a1",
    None,
    "op.execute('CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, "
    "nick text, age int)')",
    "op.execute('DROP TABLE users')",
)
FILL = (
    "INSERT INTO users (email, nick, age) SELECT 'u' || g || '@x.org', "
    "CASE WHEN g % 10 = 0 THEN NULL ELSE 'nick' || g END, g - 5 FROM generate_series(1, 200) g"
)


def _settings(root: Path, pg_admin_url: str, revisions: list[Revision], toml: str = "") -> Settings:
    ini = write_chain(root, revisions)
    (root / "pyproject.toml").write_text(
        '[tool.migration-gate]\nsnapshots_dir = "snaps"\n' + toml, encoding="utf-8"
    )
    return load_settings(ini, pg_url=pg_admin_url)


def _prepared(settings: Settings, url: str, upto: list[str], sql: str = FILL) -> str:
    runner = StepRunner(settings.config_source(), url)
    try:
        runner.upgrade_many(upto)
    finally:
        runner.close()
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        for statement in sql.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement.replace("%", "%%"))
    engine.dispose()
    return url


def _snap(settings: Settings, url: str, name: str = "main.dump", **options: object) -> Path:
    out = settings.root / "snaps"
    out.mkdir(exist_ok=True)
    snapshot(settings, url=url, snapshot_file=str(out / name), **options)  # type: ignore[arg-type]
    return out / name


def _only(report: Report, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


def test_a_clean_replay_stays_quiet(tmp_path: Path, pg_admin_url: str, pg_url: str) -> None:
    notes = (
        "a2",
        "a1",
        "op.execute('CREATE TABLE notes (id serial PRIMARY KEY, "
        "user_id int NOT NULL REFERENCES users, body text)')",
        "op.execute('DROP TABLE notes')",
    )
    settings = _settings(tmp_path, pg_admin_url, [USERS, notes])
    _snap(settings, _prepared(settings, pg_url, ["a1"]))
    report = replay(settings)  # every snapshot of snapshots_dir
    assert report.findings == [], report.findings
    assert [(s.target, s.revision, s.status) for s in report.steps] == [("main.dump", "a2", "ok")]
    assert report.ok and report.timings["replay.total"] > 0


def test_a_deployed_database_with_its_ledger_replays_without_drift(
    tmp_path: Path, pg_admin_url: str, pg_url: str
) -> None:
    """A production snapshot of a database `deploy` migrated holds migration_gate_ledger: the
    tool's own bookkeeping, like alembic_version, is no drift of the replayed schema."""
    notes = ("a2", "a1", "op.execute('CREATE TABLE notes (id serial PRIMARY KEY)')", "pass")
    settings = _settings(tmp_path, pg_admin_url, [USERS, notes])
    url = _prepared(settings, pg_url, ["a1"])
    engine = engines.engine(url)  # 2.0 style on SQLAlchemy 1.4 too, as the deploy's
    with engine.connect() as conn:
        ledger.create(conn)
    engine.dispose()
    report = replay(settings, snapshots=[str(_snap(settings, url))])
    assert not _only(report, "replay-drift"), report.findings
    assert report.ok, report.findings


def test_a_revision_that_fails_on_the_data_names_the_rows(
    tmp_path: Path, pg_admin_url: str, pg_url: str
) -> None:
    unique = (
        "a2",
        "a1",
        "op.execute('ALTER TABLE users ADD CONSTRAINT uq_nick UNIQUE (nick)')",
        "",
    )
    later = ("a3", "a2", "op.execute('CREATE TABLE later (id int)')", "")
    settings = _settings(tmp_path, pg_admin_url, [USERS, unique, later])
    url = _prepared(
        settings, pg_url, ["a1"], FILL + "; UPDATE users SET nick = 'dup' WHERE id IN (3, 4, 5)"
    )
    report = replay(settings, snapshots=[str(_snap(settings, url))])
    (failed,) = _only(report, "replay-failed")
    assert failed.severity == "error" and failed.revision == "a2" and not report.ok
    assert "main.dump" in failed.message and "1 later revision(s) not replayed" in failed.message
    assert "UniqueViolation" in failed.message and failed.details["error_code"] == "23505"
    assert failed.file == "migrations/versions/a2.py" and failed.line
    assert sorted(r["id"] for r in failed.details["rows"]) == ["3", "4", "5"]
    assert all(r["nick"] == "dup" for r in failed.details["rows"])
    assert [(s.revision, s.status) for s in report.steps] == [("a2", "failed"), ("a3", "not-run")]
    assert not _only(report, "replay-drift")  # not at head: nothing to compare


@pytest.mark.parametrize(
    ("upgrade", "column", "values"),
    [
        ("ALTER TABLE users ALTER COLUMN nick SET NOT NULL", "nick", {"NULL"}),
        (
            "ALTER TABLE users ADD CONSTRAINT ck_age CHECK (age >= 0)",
            "age",
            {"-4", "-3", "-2", "-1"},
        ),
        ("ALTER TABLE users ALTER COLUMN nick TYPE varchar(5)", "nick", None),
    ],
    ids=["not-null", "check", "too-long"],
)
def test_the_offending_rows_of_other_constraints(
    tmp_path: Path,
    pg_admin_url: str,
    pg_url: str,
    upgrade: str,
    column: str,
    values: set[str] | None,
) -> None:
    settings = _settings(
        tmp_path, pg_admin_url, [USERS, ("a2", "a1", f"op.execute({upgrade!r})", "")]
    )
    report = replay(settings, snapshots=[str(_snap(settings, _prepared(settings, pg_url, ["a1"])))])
    (failed,) = _only(report, "replay-failed")
    rows = failed.details["rows"]
    assert 0 < len(rows) <= 5, failed
    if values is not None:
        assert {r[column] for r in rows} <= values
    else:
        assert all(len(r[column]) > 5 for r in rows)


def test_lost_rows_are_data_loss_unless_declared(
    tmp_path: Path, pg_admin_url: str, pg_url: str
) -> None:
    delete = ("a2", "a1", "op.execute('DELETE FROM users WHERE id % 4 = 0')", "")
    settings = _settings(tmp_path, pg_admin_url, [USERS, delete])
    dump = _snap(settings, _prepared(settings, pg_url, ["a1"]))
    (loss,) = _only(replay(settings, snapshots=[str(dump)]), "data-loss")
    assert loss.severity == "error" and loss.revision == "a2"
    assert "users 200 → 150 rows" in loss.message
    assert loss.details["tables"] == {"users": {"before": 200, "after": 150, "how": "fewer rows"}}
    declared = tmp_path / "declared"
    settings2 = _settings(declared, pg_admin_url, [USERS, delete])
    text = (declared / "migrations" / "versions" / "a2.py").read_text()
    (declared / "migrations" / "versions" / "a2.py").write_text(
        text.replace(
            "down_revision = 'a1'", "down_revision = 'a1'\ngate = {'destructive': 'test rows'}"
        )
    )
    (loss2,) = _only(replay(settings2, snapshots=[str(dump)]), "data-loss")
    assert loss2.severity == "warning" and "declared destructive: test rows" in loss2.message


def test_a_table_rewrite_is_projected_to_the_source_size(
    tmp_path: Path, pg_admin_url: str, pg_url: str
) -> None:
    retype = ("a2", "a1", "op.execute('ALTER TABLE users ALTER COLUMN age TYPE bigint')", "")
    settings = _settings(tmp_path, pg_admin_url, [USERS, retype])
    dump = _snap(settings, _prepared(settings, pg_url, ["a1"]), sample=20)
    report = replay(settings, snapshots=[str(dump)])
    (rewrite,) = _only(report, "table-rewrite")
    assert rewrite.severity == "info" and rewrite.revision == "a2" and rewrite.details["rewritten"]
    assert rewrite.details["rows"] == 20 and rewrite.details["source_rows"] == 200
    projected, seconds = rewrite.details["projected_seconds"], rewrite.details["seconds"]
    assert projected == pytest.approx(seconds * 10, rel=0.01, abs=0.002)
    assert "on the source's 200 rows" in rewrite.message and "rewrote users" in rewrite.message
    (step,) = report.steps
    assert step.lock_seconds is not None and step.lock_seconds <= step.seconds + 0.05
    strict = _settings(
        tmp_path / "strict",
        pg_admin_url,
        [USERS, retype],
        '[tool.migration-gate.replay]\nlock_error = "0s"\n',
    )
    (hard,) = _only(replay(strict, snapshots=[str(dump)]), "table-rewrite")
    assert hard.severity == "error" and "lock_error" in hard.details["hint"]


def test_a_plain_pg_dump_file_replays_without_metadata(
    tmp_path: Path, pg_admin_url: str, pg_url: str
) -> None:
    from migration_gate.db.pgtools import find_tools
    from migration_gate.replay import archive

    retype = ("a2", "a1", "op.execute('ALTER TABLE users ALTER COLUMN age TYPE bigint')", "")
    settings = _settings(tmp_path, pg_admin_url, [USERS, retype])
    dump = tmp_path / "plain.dump"
    archive.dump(find_tools(None), _prepared(settings, pg_url, ["a1"]), dump)
    assert not Path(str(dump) + ".json").exists()
    report = replay(settings, snapshots=[str(dump)])
    (rewrite,) = _only(report, "table-rewrite")
    assert rewrite.details["source_rows"] == 200 and rewrite.details["rows"] == 200
    assert rewrite.details["projection"].startswith("no metadata")
    assert [(s.revision, s.status) for s in report.steps] == [("a2", "ok")]


def test_a_hand_made_change_is_replay_drift_naming_the_object(
    tmp_path: Path, pg_admin_url: str, pg_url: str
) -> None:
    roles = (
        "a2",
        "a1",
        "op.execute(\"CREATE TYPE user_role AS ENUM ('member', 'admin'); "
        'ALTER TABLE users ADD COLUMN role user_role")',
        "",
    )
    settings = _settings(tmp_path, pg_admin_url, [USERS, roles])
    by_hand = (
        FILL + "; ALTER TYPE user_role RENAME TO userrole;"
        "CREATE TYPE user_role AS ENUM ('member', 'admin'); CREATE INDEX by_hand ON users (age)"
    )
    url = _prepared(settings, pg_url, ["a1", "a2"], by_hand)
    report = replay(settings, snapshots=[str(_snap(settings, url))])
    (drift,) = _only(report, "replay-drift")
    assert drift.severity == "error" and drift.revision == "a2"
    assert "users.role: type userrole, expected user_role" in drift.details["diff"]
    assert any(
        "enum type userrole" in s and "only in the replayed" in s for s in drift.details["diff"]
    )
    assert any("by_hand" in s for s in drift.details["diff"])
    assert report.steps == []  # at head already: nothing to run, still compared


def test_snapshots_replay_side_by_side_and_sqlite_too(
    tmp_path: Path, pg_admin_url: str, pg_url: str, pg_provider: object, sqlite_url: str
) -> None:
    delete = ("a2", "a1", "op.execute('DELETE FROM users WHERE id > 150')", "")
    settings = _settings(tmp_path, pg_admin_url, [USERS, delete])
    _snap(settings, _prepared(settings, pg_url, ["a1"]), "one.dump")
    _snap(settings, pg_url, "two.dump", sample=10)
    lite = tmp_path / "lite.db"
    _prepared(
        settings, f"sqlite:///{lite}", ["a1"], "INSERT INTO users (email) VALUES ('a'), ('b')"
    )
    _snap(settings, f"sqlite:///{lite}", "three.sqlite")
    report = replay(settings, jobs=2)
    assert {s.target for s in report.steps} == {"one.dump", "two.dump", "three.sqlite"}
    losses = {f.details["snapshot"]: f for f in _only(report, "data-loss")}
    assert set(losses) == {"one.dump"}  # the sample and SQLite hold no id > 150
    assert losses["one.dump"].dialect == "postgresql"
    assert {f.dialect for f in report.findings} <= {"postgresql"}
    rebuilt = Report.from_dict(report.to_dict())
    assert rebuilt.to_dict() == report.to_dict() and rebuilt.findings == report.findings
    assert [s.target for s in rebuilt.steps] == [s.target for s in report.steps]
    for fmt in ("text", "markdown", "junit", "annotations"):
        assert render(rebuilt, fmt) == render(report, fmt), fmt
        assert "two.dump" in render(report, fmt), fmt


def test_bad_snapshots_stop_the_run_with_one_clear_line(
    tmp_path: Path, pg_admin_url: str, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path, pg_admin_url, [USERS])
    good = _snap(settings, _prepared(settings, pg_url, ["a1"]))
    ini = str(settings.alembic_ini)
    corrupt = tmp_path / "corrupt.dump"
    corrupt.write_bytes(good.read_bytes()[:9] + b"\x00" * 40)
    plain = tmp_path / "plain.dump"
    plain.write_text("--\n-- PostgreSQL database dump\n--\nSET statement_timeout = 0;\n")
    for bad, expected in [
        (corrupt, "is damaged or unreadable"),
        (plain, "looks like a plain SQL dump"),
        (tmp_path / "missing.dump", "does not exist"),
    ]:
        code = main(["-c", ini, "replay", str(bad), "--pg-url", pg_admin_url])
        err = capsys.readouterr().err
        assert code == 2, err
        assert [ln for ln in err.splitlines() if ln.startswith("FAILED")] == [
            err.strip().splitlines()[0]
        ]
        assert expected in err
    # a snapshot at a revision this chain does not know
    other = _settings(tmp_path / "other", pg_admin_url, [("b1", None, "pass", "")])
    shutil.copy(good, other.root / "main.dump")
    with pytest.raises(ConfigError, match="at revision a1, which the chain does not know"):
        replay(other, snapshots=[str(other.root / "main.dump")])
    # an empty snapshots directory is an error, not a pass
    (settings.root / "snaps" / "main.dump").unlink()
    (settings.root / "snaps" / "main.dump.json").unlink()
    with pytest.raises(ConfigError, match="no snapshots in"):
        replay(settings)


PG15 = Path("/usr/lib/postgresql/15/bin")


@pytest.mark.skipif(not (PG15 / "postgres").exists(), reason="needs PostgreSQL 15 binaries")
def test_a_snapshot_from_a_newer_server_is_refused(
    tmp_path: Path, pg_admin_url: str, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path, pg_admin_url, [USERS])
    dump = _snap(settings, _prepared(settings, pg_url, ["a1"]))  # from the embedded 18
    code = main(["-c", str(settings.alembic_ini), "replay", str(dump), "--pg-bin", str(PG15)])
    err = capsys.readouterr().err
    assert code == 2 and "newer than the replay server (PostgreSQL 15." in err, err


@pytest.mark.skipif(not (PG15 / "postgres").exists(), reason="needs PostgreSQL 15 binaries")
def test_an_older_major_version_round_trips_with_pg_bin(
    tmp_path: Path, pg_admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from migration_gate.db.provision import PostgresProvider

    delete = ("a2", "a1", "op.execute('DELETE FROM users WHERE id > 190')", "")
    settings = _settings(tmp_path, pg_admin_url, [USERS, delete])
    ini = str(settings.alembic_ini)
    with PostgresProvider(None, bin_dir=PG15) as pg15:
        url = _prepared(settings, pg15.scratch("source15"), ["a1"])
        dump = settings.root / "snaps" / "fifteen.dump"
        (settings.root / "snaps").mkdir()
        assert (
            main(
                ["-c", ini, "snapshot", "--url", url, "--output", str(dump), "--pg-bin", str(PG15)]
            )
            == 0
        )
    assert '"server_version": "15.' in (settings.root / "snaps" / "fifteen.dump.json").read_text()
    code = main(["-c", ini, "replay", str(dump), "--pg-bin", str(PG15), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 1 and '"check": "data-loss"' in out and "users 200 → 190 rows" in out, out
