"""`--shard I/N`: the union of the shard reports is the unsharded report (issue 4).

Each shard fast-forwards, without checks, to the first revision of its range and checks
only that range; chain-level findings (the graph checks) belong to shard 1. The chain
below spreads findings of every kind the walk makes over its length, so that a shard
boundary falls next to each of them for some N.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config

from migration_gate.commands.roundtrip import roundtrip as roundtrip_command
from migration_gate.config.settings import load_settings
from migration_gate.db.provision import Provider, SqliteProvider
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report
from migration_gate.walk.roundtrip import roundtrip
from migration_gate.walk.select import select
from tests.chain_builder import config_for, write_chain

ROOT = Path(__file__).resolve().parents[2]


def _table(name: str, *cols: str) -> str:
    extra = "".join(f", {c}" for c in cols)
    return f"op.create_table({name!r}, sa.Column('id', sa.Integer, primary_key=True){extra})"


CHAIN = [
    (
        "r01",
        None,
        _table("users", "sa.Column('email', sa.String(80), nullable=False)"),
        "op.drop_table('users')",
    ),
    # a table the probe cannot fill (noted once, as info)
    (
        "r02",
        "r01",
        _table(
            "strict",
            "sa.Column('code', sa.String(90), nullable=False)",
            "sa.CheckConstraint('length(code) > 85')",
        ),
        "op.drop_table('strict')",
    ),
    # leaves an index behind
    (
        "r03",
        "r02",
        "op.create_index('ix_users_email', 'users', ['email'])",
        "pass\nop.execute('SELECT 1')",
    ),
    (
        "r04",
        "r03",
        _table(
            "notes",
            "sa.Column('user_id', sa.Integer, sa.ForeignKey('users.id'))",
            "sa.Column('body', sa.Text)",
        ),
        "op.drop_table('notes')",
    ),
    # no downgrade at all
    ("r05", "r04", "op.add_column('notes', sa.Column('pinned', sa.Boolean, nullable=True))", ""),
    # loses rows of a table filled four revisions earlier
    ("r06", "r05", "op.execute('DELETE FROM notes')", "pass\nop.execute('SELECT 1')"),
    (
        "r07",
        "r06",
        "op.add_column('users', sa.Column('plan', sa.String(10), server_default='free'))",
        "with op.batch_alter_table('users') as b:\n    b.drop_column('plan')",
    ),
    # restores a different server default
    (
        "r08",
        "r07",
        "with op.batch_alter_table('users') as b:\n"
        "    b.alter_column('plan', server_default='pro', existing_type=sa.String(10))",
        "with op.batch_alter_table('users') as b:\n"
        "    b.alter_column('plan', server_default='basic', existing_type=sa.String(10))",
    ),
    ("r09", "r08", _table("tail"), "op.drop_table('tail')"),
    # an INTEGER foreign key to a UUID key: fk-type-mismatch on SQLite, refused by PostgreSQL
    (
        "r10",
        "r09",
        _table("tokens", "sa.Column('ref', sa.Uuid, unique=True, nullable=False)")
        + "\n"
        + _table("grants", "sa.Column('token_ref', sa.Integer, sa.ForeignKey('tokens.ref'))"),
        "op.drop_table('grants')\nop.drop_table('tokens')",
    ),
]

CHECKS = {"missing-downgrade", "downgrade-leaves-trace", "data-loss", "probe-skipped"}
LAST = {"sqlite": "fk-type-mismatch", "postgresql": "upgrade-failed"}


def _key(f: Finding) -> tuple[Any, ...]:
    return (f.check, f.severity, f.revision, f.dialect, f.file, f.line, f.message)


def _findings(report: Report) -> Counter[tuple[Any, ...]]:
    return Counter(_key(f) for f in report.findings)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def provider(request: pytest.FixtureRequest) -> Provider:
    value: Provider = request.getfixturevalue(
        f"{'sqlite' if request.param == 'sqlite' else 'pg'}_provider"
    )
    return value


def _run(config: Config, provider: Provider, shard: tuple[int, int] | None = None) -> Report:
    url = provider.scratch("shard")
    try:
        return roundtrip(config, url, shard=shard)
    finally:
        provider.drop(url)


def test_the_chain_has_findings_of_every_kind(tmp_path: Path, provider: Provider) -> None:
    report = _run(config_for(write_chain(tmp_path, CHAIN)), provider)
    assert {f.check for f in report.findings} >= CHECKS
    assert {f.revision for f in report.findings} >= {"r03", "r05", "r06", "r08", "r10"}
    dialect = "sqlite" if isinstance(provider, SqliteProvider) else "postgresql"
    assert [f.check for f in report.findings if f.revision == "r10"] == [LAST[dialect]]


@pytest.mark.parametrize("count", [2, 3, 4, 10])
def test_union_of_shards_is_the_unsharded_report(
    tmp_path: Path, provider: Provider, count: int
) -> None:
    config = config_for(write_chain(tmp_path, CHAIN))
    whole = _run(config, provider)
    union: Counter[tuple[Any, ...]] = Counter()
    for index in range(1, count + 1):
        part = _run(config, provider, (index, count))
        union += _findings(part)
    assert union == _findings(whole)


def test_shards_cover_every_revision_once() -> None:
    order = [r[0] for r in CHAIN]
    for count in range(1, len(order) + 2):
        if count > len(order):  # a shard with nothing to check is a usage error
            with pytest.raises(ConfigError, match="selects no revision"):
                for i in range(1, count + 1):
                    select(order, shard=(i, count))
            continue
        ranges = [select(order, shard=(i, count)) for i in range(1, count + 1)]
        assert [r for s in ranges for r in s.check] == order
        for s in ranges:
            assert [*s.skip, *s.check, *s.later] == order
        assert max(len(s.check) for s in ranges) - min(len(s.check) for s in ranges) <= 1


def test_graph_findings_belong_to_the_first_shard(
    tmp_path: Path, sqlite_provider: SqliteProvider
) -> None:
    heads = [
        CHAIN[0],
        ("b1", "r01", _table("b1"), "op.drop_table('b1')"),
        ("b2", "r01", _table("b2"), "op.drop_table('b2')"),
    ]
    config = config_for(write_chain(tmp_path, heads))
    first = _run(config, sqlite_provider, (1, 2))
    second = _run(config, sqlite_provider, (2, 2))
    assert [f.check for f in first.findings] == ["multiple-heads"]
    assert second.findings == []


def test_a_failure_in_an_earlier_shard_is_reported_once(
    tmp_path: Path, sqlite_provider: SqliteProvider
) -> None:
    failing = [
        *CHAIN[:3],
        ("r04", "r03", "op.execute('SELECT * FROM missing_table')", ""),
        *[
            (f"s{i}", "r04" if i == 1 else f"s{i - 1}", _table(f"s{i}"), f"op.drop_table('s{i}')")
            for i in range(1, 5)
        ],
    ]
    config = config_for(write_chain(tmp_path, failing))
    whole = _run(config, sqlite_provider)
    stopped = [f for f in whole.findings if f.check == "upgrade-failed"]
    assert [(f.severity, f.revision) for f in stopped] == [("error", "r04"), ("error", "r04")]
    assert stopped[1].details["unchecked"] == ["s1", "s2", "s3", "s4"]
    shards = [_run(config, sqlite_provider, (i, 4)) for i in range(1, 5)]
    # shards 1 and 2 (r01-r02, r03-r04) say what the whole run says; the later ones only
    # that they could not reach their range, as info (the matrix is red where the cause is)
    assert _findings(shards[0]) + _findings(shards[1]) == _findings(whole)
    for later in shards[2:]:
        (note,) = later.findings
        assert (note.check, note.severity, note.revision) == ("upgrade-failed", "info", "r04")
        assert "did not reach" in note.message and "no such table" in note.message


@pytest.mark.postgres
@pytest.mark.parametrize("count", [2, 3, 6])
def test_both_dialects_and_divergence_through_the_command(
    tmp_path: Path, pg_admin_url: str, count: int
) -> None:
    # a PostgreSQL-only column made in r02: the last shard compares the head schemas and
    # must name r02, which an earlier shard checks
    pg_only = (
        "r02",
        "r01",
        "if op.get_bind().dialect.name == 'postgresql':\n"
        "    op.add_column('users', sa.Column('tsv', sa.Text))",
        "if op.get_bind().dialect.name == 'postgresql':\n    op.drop_column('users', 'tsv')",
    )
    chain = [
        CHAIN[0],
        pg_only,
        *[
            (f"t{i}", "r02" if i == 1 else f"t{i - 1}", _table(f"t{i}"), f"op.drop_table('t{i}')")
            for i in range(1, 5)
        ],
    ]
    settings = load_settings(write_chain(tmp_path, chain), pg_url=pg_admin_url)
    whole = roundtrip_command(settings, dialect="all")
    (diverged,) = [f for f in whole.findings if f.check == "dialect-divergence"]
    assert diverged.revision == "r02" and "tsv" in diverged.message
    union: Counter[tuple[Any, ...]] = Counter()
    for index in range(1, count + 1):
        union += _findings(roundtrip_command(settings, dialect="all", shard=f"{index}/{count}"))
    assert union == _findings(whole)
