"""The Python API on real databases: roundtrip() on small chains written per test."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

import migration_gate
from migration_gate.errors import ConfigError, InfrastructureError
from tests.chain_builder import URL_ONLY_ENV, config_for, write_chain

USERS = (
    "a1",
    None,
    "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('email', sa.String(100), nullable=False))",
    "op.drop_table('users')",
)
INDEX_OK = (
    "a2",
    "a1",
    "op.create_index('ix_users_email', 'users', ['email'])",
    "op.drop_index('ix_users_email', table_name='users')",
)
INDEX_LEFT = (
    "a2",
    "a1",
    "op.create_index('ix_users_email', 'users', ['email'])",
    "pass\nop.execute('SELECT 1')",
)
AFTER = (
    "a3",
    "a2",
    "op.add_column('users', sa.Column('name', sa.String(50)))",
    "with op.batch_alter_table('users') as b:\n    b.drop_column('name')",
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    value: str = request.getfixturevalue(name)
    return value


def checks(report: migration_gate.Report) -> list[tuple[str, str | None]]:
    return [(f.check, f.revision) for f in report.findings]


def test_clean_chain_has_no_findings(tmp_path: Path, url: str) -> None:
    ini = write_chain(tmp_path, [USERS, INDEX_OK, AFTER])
    report = migration_gate.roundtrip(config_for(ini), url)
    assert report.findings == []
    assert report.ok
    assert report.to_dict()["ok"] is True


def test_leftover_index_is_reported_and_the_walk_goes_on(tmp_path: Path, url: str) -> None:
    ini = write_chain(tmp_path, [USERS, INDEX_LEFT, AFTER])
    report = migration_gate.roundtrip(config_for(ini), url)
    found = report.findings
    trace = [f for f in found if f.check == "downgrade-leaves-trace"]
    assert len(trace) == 1 and trace[0].revision == "a2"
    assert "ix_users_email" in trace[0].message and "left behind" in trace[0].message
    assert trace[0].file is not None and trace[0].file.endswith("a2.py") and trace[0].line
    # the re-upgrade trips over the leftover index; the walk still reaches a3 cleanly
    assert ("reupgrade-failed", "a2") in checks(report)
    assert not [f for f in found if f.revision == "a3"]
    assert not report.ok


def test_failed_upgrade_stops_the_walk_and_says_so(tmp_path: Path, url: str) -> None:
    bad = ("a2", "a1", "op.execute('ALTER TABLE nope ADD COLUMN x INTEGER')", "pass")
    ini = write_chain(tmp_path, [USERS, bad, ("a3", "a2", "pass", "pass")])
    report = migration_gate.roundtrip(config_for(ini), url)
    failed = [f for f in report.findings if f.check == "upgrade-failed"]
    assert failed[0].severity == "error" and failed[0].revision == "a2"
    assert "nope" in failed[0].message
    assert failed[0].line == 10  # the op.execute line in a2.py
    assert failed[1].severity == "error" and "a3" in failed[1].message  # left unchecked


def test_env_py_that_ignores_the_shared_connection_still_works(tmp_path: Path, url: str) -> None:
    ini = write_chain(tmp_path, [USERS, INDEX_LEFT], env=URL_ONLY_ENV)
    report = migration_gate.roundtrip(config_for(ini), url)
    assert ("downgrade-leaves-trace", "a2") in checks(report)


def test_invoke_wraps_every_alembic_command(tmp_path: Path, sqlite_url: str) -> None:
    ini = write_chain(tmp_path, [USERS, INDEX_OK])
    threads: list[str] = []

    def in_worker(fn: Callable[[], Any]) -> Any:
        result: list[Any] = []
        t = threading.Thread(target=lambda: result.append(fn()), name="app-worker")
        t.start()
        t.join()
        threads.append(t.name)
        return result[0] if result else None

    report = migration_gate.roundtrip(config_for(ini), sqlite_url, invoke=in_worker)
    assert report.ok
    assert len(threads) == 7  # loading the chain, then up, down, up for each of two revisions


def test_in_memory_sqlite_is_refused(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS])
    with pytest.raises(ConfigError, match="in-memory"):
        migration_gate.roundtrip(config_for(ini), "sqlite://")


def test_a_database_that_is_not_empty_is_refused_and_left_alone(tmp_path: Path, url: str) -> None:
    ini = write_chain(tmp_path, [USERS, INDEX_OK])
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE keep_me (id integer)"))
        conn.execute(sa.text("INSERT INTO keep_me VALUES (1)"))
    with pytest.raises(ConfigError, match=r"not empty \(1 table\(s\), e\.g\. keep_me\)") as err:
        migration_gate.roundtrip(config_for(ini), url)
    assert "empty scratch database" in (err.value.hint or "")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM keep_me")).scalar() == 1
    engine.dispose()


def test_an_unreachable_server_is_an_infrastructure_error(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS])
    with pytest.raises(InfrastructureError, match=r"cannot connect to .*\*\*\*") as err:
        migration_gate.roundtrip(config_for(ini), "postgresql://me:s3cret@127.0.0.1:1/x")
    assert "s3cret" not in str(err.value)


@pytest.mark.postgres
def test_the_chain_is_read_once_per_run(
    tmp_path: Path, sqlite_url: str, pg_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading a long chain costs as much as checking its first revisions: the API and the
    # command (both dialects) read the script directory once. A spy, not a stand-in: the
    # real loader runs.
    from alembic.script import ScriptDirectory

    from migration_gate.commands.roundtrip import roundtrip as roundtrip_command
    from migration_gate.config.settings import load_settings

    loads: list[str] = []
    real = ScriptDirectory.from_config.__func__  # type: ignore[attr-defined]

    def counting(cls: type[ScriptDirectory], config: Any) -> ScriptDirectory:
        loads.append(str(config.get_main_option("script_location")))
        return real(cls, config)  # type: ignore[no-any-return]

    monkeypatch.setattr(ScriptDirectory, "from_config", classmethod(counting))
    ini = write_chain(tmp_path, [USERS, INDEX_OK, AFTER])
    report = migration_gate.roundtrip(config_for(ini), sqlite_url)
    assert report.ok and len(loads) == 1
    loads.clear()
    report = roundtrip_command(load_settings(ini, pg_url=pg_admin_url), dialect="all")
    assert report.ok and len(loads) == 1
    assert report.checked["sqlite"] == report.checked["postgresql"] == ["a1", "a2", "a3"]
