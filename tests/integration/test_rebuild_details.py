"""What SQLite's batch rebuilds lose, and constraints that come back under another name, on
real databases: the pure helpers `index_detail_losses` and `split_renames` on snapshots of
real steps (the roundtrip checks are built on them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Engine

from migration_gate.chain.runner import StepRunner
from migration_gate.snapshot import Index, SchemaSnapshot, capture, diff
from migration_gate.snapshot.diff import split_renames
from migration_gate.snapshot.index_details import index_detail_losses

CHAINS = Path(__file__).resolve().parent.parent / "fixtures" / "chains"


def _indexes(snap: SchemaSnapshot, table: str) -> dict[str, Index]:
    t = snap.table(table)
    assert t is not None
    return {i.name: i for i in t.indexes}


def test_sqlite_batch_rebuild_loses_index_details(sqlite_url: str) -> None:
    config = Config(str(CHAINS / "batch_rebuild_loses_index_details" / "alembic.ini"))
    runner = StepRunner(config, sqlite_url)
    try:
        runner.upgrade("a1")
        before = runner.snapshot()
        runner.upgrade("a2")  # batch_alter_table: the table is rebuilt
        after = runner.snapshot()
    finally:
        runner.close()
    old, new = _indexes(before, "accounts"), _indexes(after, "accounts")
    # what the capture kept before the rebuild: order, collation, WHERE, the expression
    assert {name: (i.elements, i.predicate) for name, i in old.items()} == {
        "ix_accounts_score_desc": (("score DESC",), None),
        "ux_accounts_name_nocase": (("name COLLATE nocase",), None),
        "ux_accounts_email_live": (("email",), "deleted_at is null"),
        "ix_accounts_lower_email": (("lower(email)",), None),
    }

    def losses(name: str) -> list[tuple[str, str | None, str | None, str]]:
        found = index_detail_losses(old[name], new.get(name))
        return [(x.detail, x.before, x.after, x.severity) for x in found]

    assert losses("ix_accounts_score_desc") == [("order", "score DESC", "score", "warning")]
    assert losses("ux_accounts_name_nocase") == [
        ("collation", "name COLLATE nocase", "name", "error")
    ]
    assert losses("ix_accounts_lower_email") == [("expression", "(lower(email))", None, "warning")]
    # SQLAlchemy 2 reflects a SQLite partial index's WHERE (1.4 did not): whichever it is,
    # the helper says what the snapshot shows
    live = new["ux_accounts_email_live"]
    expected = [] if live.predicate else [("predicate", "WHERE deleted_at is null", None, "error")]
    assert losses("ux_accounts_email_live") == expected


DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_constraint_back_under_another_name_pairs_as_a_rename(
    dialect: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(
        "sqlite_engine" if dialect == "sqlite" else "pg_engine"
    )
    md = sa.MetaData()
    sa.Table(
        "users",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("team", sa.Integer, nullable=True),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.Index("ix_users_team", "team"),
    )
    with engine.begin() as conn:
        md.create_all(conn)
    with engine.connect() as conn:
        before = capture(conn)
    # a downgrade that recreates both under other names (as batch mode would need on SQLite)
    with engine.begin() as conn:
        ops = Operations(MigrationContext.configure(conn))
        with ops.batch_alter_table("users") as batch:
            batch.drop_constraint("uq_users_email", type_="unique")
            batch.create_unique_constraint("users_email_key", ["email"])
        ops.drop_index("ix_users_team", table_name="users")
        ops.create_index("ix_team", "users", ["team"])
    with engine.connect() as conn:
        after = capture(conn)
    renames, rest = split_renames(diff(before, after))
    assert not rest, rest.sentences()
    assert sorted(r.sentence() for r in renames) == [
        "index ix_users_team on users (team) comes back as ix_team",
        "unique constraint uq_users_email on users (email) comes back as users_email_key",
    ]
