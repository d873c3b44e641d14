"""The pure judgement of a replay (drift, lost rows, rewrites, offending rows) and its report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from migration_gate.config.settings import ReplayTable
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report, StepTiming
from migration_gate.replay.archive import ArchiveInfo
from migration_gate.replay.drift import drift_sentences
from migration_gate.replay.load import Snapshot, check_server
from migration_gate.replay.loss import lost_rows
from migration_gate.replay.meta import SnapshotMeta, TableStats
from migration_gate.replay.offending import offending_query
from migration_gate.replay.rewrite import _projection, _severity, holds
from migration_gate.replay.run import StepResult, TableState
from migration_gate.replay.tables import TableInfo
from migration_gate.reports import render
from migration_gate.snapshot import Column, EnumType, SchemaSnapshot, Table


def _state(ident: int, name: str, storage: int, rows: int) -> TableState:
    return TableState(TableInfo(ident, name, storage), rows)


def test_drift_names_the_object_and_what_a_fresh_head_has() -> None:
    fresh = SchemaSnapshot(
        "postgresql",
        tables=(Table("messages", (Column("role", "message_role", nullable=False),)),),
        enums=(EnumType("message_role", ("user", "assistant")),),
    )
    replayed = SchemaSnapshot(
        "postgresql",
        tables=(Table("messages", (Column("role", "messagerole", nullable=True),)),),
        enums=(
            EnumType("message_role", ("user", "assistant")),
            EnumType("messagerole", ("user", "assistant")),
        ),
    )
    sentences = drift_sentences(replayed, fresh)
    assert "messages.role: type messagerole, expected message_role" in sentences
    assert "messages.role: NULL, expected NOT NULL" in sentences
    assert any(
        s.startswith("enum type messagerole") and "only in the replayed" in s for s in sentences
    )
    assert drift_sentences(fresh, fresh) == []


def test_lost_rows_follow_identity_then_name() -> None:
    step = StepResult(
        "r2",
        1.0,
        before=(
            _state(1, "conversations", 10, 3000),
            _state(2, "messages", 20, 9000),
            _state(3, "users", 30, 500),
            _state(4, "old", 40, 7),
            _state(5, "empty", 50, 0),
        ),
        after=(
            _state(6, "conversations", 60, 0),
            _state(7, "messages", 70, 0),
            _state(3, "people", 30, 500),
        ),
    )
    assert lost_rows(step) == {
        "conversations": {"before": 3000, "after": 0, "how": "dropped and created again"},
        "messages": {"before": 9000, "after": 0, "how": "dropped and created again"},
        "old": {"before": 7, "after": 0, "how": "dropped"},
    }


def test_holds_and_their_projection() -> None:
    step = StepResult(
        "r3",
        2.0,
        before=(_state(1, "big", 10, 100), _state(2, "calm", 20, 5), _state(3, "locked", 30, 50)),
        after=(_state(1, "big", 11, 100), _state(2, "calm", 20, 5), _state(3, "locked", 30, 50)),
        holds={"locked": 0.5},
    )
    found = {h.table: h for h in holds(step)}
    assert set(found) == {"big", "locked"}
    assert found["big"].rewritten and found["big"].bounded and found["big"].seconds == 2.0
    assert not found["locked"].rewritten and found["locked"].seconds == 0.5
    meta = SnapshotMeta(
        dialect="postgresql",
        taken_at="2026-01-01T00:00:00+00:00",
        tables={"big": TableStats(rows=12_000_000)},
    )
    projected, rows, _ = _projection(found["big"], meta)
    assert projected == pytest.approx(240_000.0) and rows == 12_000_000
    assert _projection(found["big"], None)[0] == 2.0
    limits = ReplayTable(lock_warning=5.0, lock_error=60.0)
    assert [_severity(s, limits) for s in (1.0, 5.0, 60.0, None)] == [
        "info",
        "warning",
        "error",
        "warning",
    ]


def test_offending_queries_from_the_database_error() -> None:
    unique = offending_query(
        "23505",
        table="users",
        column=None,
        detail="Key (lower(email))=(a@x.org) is duplicated.",
        message="could not create unique index",
        statement="CREATE UNIQUE INDEX ix ON users (lower(email))",
    )
    assert unique is not None and "GROUP BY lower(email) HAVING count(*) > 1" in unique[1]
    check = offending_query(
        "23514",
        table="users",
        column=None,
        detail="",
        message="check constraint violated",
        statement="ALTER TABLE users ADD CONSTRAINT ck CHECK (age >= 0 AND (age < 200))",
    )
    assert check == (
        "users must satisfy CHECK (age >= 0 AND (age < 200))",
        "NOT (age >= 0 AND (age < 200))",
    )
    enum = offending_query(
        "22P02",
        table=None,
        column=None,
        detail="",
        message='invalid input value for enum message_role: "bot"',
        statement="ALTER TABLE messages ALTER COLUMN role TYPE message_role USING role::message_role",
    )
    assert enum is not None and enum[1] == "CAST(\"role\" AS text) = 'bot'"
    new = offending_query(
        "23502", table="t", column="c", detail="", message="", statement="", column_exists=False
    )
    assert new is not None and new[1] == "TRUE"
    assert (
        offending_query("42601", table="t", column=None, detail="", message="", statement="")
        is None
    )


def test_a_newer_server_is_refused_before_restoring() -> None:
    info = ArchiveInfo(Path("main.dump"), "18.6", "18.6", True)
    snap = Snapshot(Path("snapshots/main.dump"), "postgresql", archive=info)
    check_server(snap, "18.1")
    with pytest.raises(
        ConfigError,
        match=r"dumped from PostgreSQL 18\.6, newer than the replay server \(PostgreSQL 15\.4\)",
    ):
        check_server(snap, "15.4")


def _report() -> Report:
    report = Report("replay")
    report.add(
        Finding(
            "replay-failed",
            "error",
            "upgrade of r2 failed replayed on main.dump: UniqueViolation",
            revision="r2",
            dialect="postgresql",
            file="migrations/versions/r2.py",
            line=3,
            details={
                "snapshot": "main.dump",
                "offending": "users (nick) must be unique",
                "rows": [{"id": "3", "nick": "dup"}, {"id": "4", "nick": "dup"}],
            },
        ),
        Finding(
            "table-rewrite",
            "info",
            "r1 rewrote users",
            revision="r1",
            dialect="postgresql",
            details={"snapshot": "main.dump"},
        ),
    )
    report.steps += [
        StepTiming("main.dump", "r1", 1.25, "ok", 0.5),
        StepTiming("main.dump", "r2", 0.1, "failed"),
        StepTiming("main.dump", "r3", 0.0, "not-run"),
    ]
    return report


def test_every_format_renders_the_timings_and_survives_json() -> None:
    report = _report()
    rebuilt = Report.from_dict(report.to_dict())
    assert rebuilt.steps == report.steps and rebuilt.to_dict() == report.to_dict()
    text = render(rebuilt, "text")
    assert "Per-revision timings:" in text and "r1" in text and "1.25s  lock 0.50s" in text
    assert "NOT-RUN" in text and "Offending rows (users (nick) must be unique):" in text
    assert "    id=3, nick=dup" in text
    markdown = render(rebuilt, "markdown")
    assert "| main.dump | `r1` | 1.25 | 0.50 | ok |" in markdown and "`nick`=`dup`" in markdown
    annotations = render(rebuilt, "annotations")
    assert (
        "::notice title=replay timings (main.dump)::r1 1.25s, lock 0.50s; r2 0.10s, failed"
        in annotations
    )
    root = ET.fromstring(render(rebuilt, "junit"))
    suite = root.find("testsuite[@name='migration-gate replay [main.dump]']")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["r1"].get("time") == "1.250" and cases["r1"].find("system-out") is not None
    assert cases["r2"].find("failure") is not None and cases["r3"].find("skipped") is not None
    assert root.get("tests") == "3"  # the findings are in their steps' cases, not twice
