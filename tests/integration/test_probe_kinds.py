"""The data probe names what happened to its rows (issue 13): the statement that deleted or
overwrote them, a cascade, a TRUNCATE, and only the numbers when no statement of the walk's
connection names the table. The mechanisms with a fixture chain of their own (hashing in
place, rows moved, invalid rows deleted, shifted columns, an unfillable parent, valid rows)
are run by test_fixture_chains.py."""

from __future__ import annotations

from pathlib import Path

import pytest

import migration_gate
from migration_gate.findings import Finding, Report
from tests.chain_builder import URL_ONLY_ENV, config_for, write_chain

USERS = (
    "a1",
    None,
    "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('email', sa.String(100), nullable=False, unique=True), "
    "sa.Column('plan', sa.String(20), nullable=True))",
    "op.drop_table('users')",
)
UNDO = "pass\nop.execute('SELECT 1')"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return value


def losses(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.check == "data-loss"]


def test_a_delete_with_parameters_is_named_as_it_ran(tmp_path: Path, url: str) -> None:
    delete = (
        "a2",
        "a1",
        "op.execute(sa.text('DELETE FROM users WHERE email <> :keep').bindparams(keep='nobody'))",
        UNDO,
    )
    ini = write_chain(tmp_path, [USERS, delete])
    (loss,) = losses(migration_gate.roundtrip(config_for(ini), url))
    assert loss.severity == "error" and loss.details["cause"] == "delete"
    assert "3 rows of users deleted by DELETE FROM users WHERE email <> 'nobody'" in loss.message
    assert "(users: 3 → 0 rows)" in loss.message
    # as it ran: psycopg's statement carries SQLAlchemy's cast (`'nobody'::VARCHAR`)
    assert loss.details["statement"].startswith("DELETE FROM users WHERE email <> 'nobody'")


def test_values_overwritten_by_an_update_name_it(tmp_path: Path, url: str) -> None:
    update = (
        "a2",
        "a1",
        "op.execute(\"UPDATE users SET plan = 'gold' WHERE id = (SELECT min(id) FROM users)\")",
        UNDO,
    )
    ini = write_chain(tmp_path, [USERS, update])
    (loss,) = losses(migration_gate.roundtrip(config_for(ini), url))
    assert (loss.severity, loss.details["kind"], loss.details["column"]) == (
        "error",
        "values",
        "plan",
    )
    assert "in 1 of 3 probe row(s)" in loss.message
    assert "overwritten by UPDATE users SET plan = 'gold'" in loss.message


def test_without_a_statement_only_the_numbers_are_said(tmp_path: Path, url: str) -> None:
    """env.py migrates through a connection of its own: the probe sees that rows are gone,
    not which statement took them, and does not guess."""
    delete = ("a2", "a1", "op.execute('DELETE FROM users WHERE id > 0')", UNDO)
    ini = write_chain(tmp_path, [USERS, delete], env=URL_ONLY_ENV)
    (loss,) = losses(migration_gate.roundtrip(config_for(ini), url))
    assert loss.message.endswith("3 of 3 rows of users deleted"), loss.message
    assert "cause" not in loss.details and "statement" not in loss.details


@pytest.mark.postgres
def test_rows_gone_through_a_cascade_or_a_truncate(tmp_path: Path, pg_url: str) -> None:
    items = (
        "a2",
        "a1",
        "op.create_table('items', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('user_id', sa.Integer, sa.ForeignKey('users.id', ondelete='CASCADE'), "
        "nullable=False))",
        "op.drop_table('items')",
    )
    purge = ("a3", "a2", "op.execute('DELETE FROM users WHERE id > 0')", UNDO)
    logs = (
        "a4",
        "a3",
        "op.create_table('logs', sa.Column('id', sa.Integer, primary_key=True))",
        "op.drop_table('logs')",
    )
    truncate = ("a5", "a4", "op.execute('TRUNCATE logs')", UNDO)
    ini = write_chain(tmp_path, [USERS, items, purge, logs, truncate])
    found = {
        (f.revision, f.details["table"]): f
        for f in losses(migration_gate.roundtrip(config_for(ini), pg_url))
    }
    assert set(found) == {("a3", "users"), ("a3", "items"), ("a5", "logs")}, found
    cascade = found["a3", "items"]
    assert cascade.details["cause"] == "cascade"
    assert "deleted through ON DELETE CASCADE from users by DELETE FROM users WHERE id > 0" in (
        cascade.message
    )
    assert "empties logs: its 3 rows removed by TRUNCATE logs" in found["a5", "logs"].message


def test_a_rewrite_declared_destructive_stays_a_warning(tmp_path: Path, url: str) -> None:
    upper = ("a2", "a1", "op.execute(\"UPDATE users SET plan = plan || '-x'\")", UNDO)
    ini = write_chain(tmp_path, [USERS, upper], extra='gate = {"destructive": "plans renamed"}')
    (loss,) = losses(migration_gate.roundtrip(config_for(ini), url))
    assert (loss.severity, loss.details["kind"]) == ("warning", "rewritten")
    assert loss.details["examples"][0][1].endswith("-x'")
