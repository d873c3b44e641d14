"""StepRunner.upgrade_each: several revisions in one Alembic command, each in its own
transaction, with a callback inside each transaction before the revision's code; and what
the runner learns of env.py's transaction_per_migration."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate.chain.runner import StepFailed, StepRunner, TransactionsShared
from tests.chain_builder import (
    OWN_TRANSACTION_ENV,
    PER_MIGRATION_ENV,
    SHARED_ENV,
    config_for,
    table_chain,
    write_chain,
)


def _runner(tmp_path: Path, env: str, url: str, **bodies: str) -> StepRunner:
    ini = write_chain(tmp_path, table_chain(4, **bodies), env=env)
    return StepRunner(config_for(ini), url)


def test_the_runner_learns_transaction_per_migration_from_env_py(
    tmp_path: Path, sqlite_url: str
) -> None:
    runner = _runner(tmp_path / "a", PER_MIGRATION_ENV, sqlite_url)
    try:
        assert runner.per_migration_transactions is None
        assert runner.upgrade_each(["a1", "a2"]) == ("a1", "a2")
        assert runner.per_migration_transactions is True
    finally:
        runner.close()
    other = _runner(tmp_path / "b", SHARED_ENV, sqlite_url)  # the same database, at a2
    try:
        assert other.upgrade_each(["a3", "a4"]) == ("a3",)  # one transaction: the first only
        assert other.per_migration_transactions is False
        assert other.heads() == ("a3",)
        with pytest.raises(ValueError, match="transaction_per_migration"):
            other.upgrade_each(["a4"])
    finally:
        other.close()


def test_upgrade_each_calls_back_in_each_revisions_own_transaction(
    tmp_path: Path, pg_url: str
) -> None:
    runner = _runner(tmp_path, PER_MIGRATION_ENV, pg_url)
    seen: list[tuple[str, str, tuple[str, ...]]] = []

    def before_each(rev: str) -> None:
        xid = runner.conn.exec_driver_sql("SELECT txid_current()::text").scalar_one()
        heads = runner.conn.exec_driver_sql("SELECT version_num FROM alembic_version")
        seen.append((rev, str(xid), tuple(heads.scalars())))

    try:
        runner.upgrade("a1")
        runner.upgrade_each(["a2", "a3", "a4"], before_each)
        assert runner.heads() == ("a4",)
    finally:
        runner.close()
    assert [s[0] for s in seen] == ["a2", "a3", "a4"]
    assert len({s[1] for s in seen}) == 3  # three transactions
    assert [s[2] for s in seen] == [("a1",), ("a2",), ("a3",)]  # the one before committed


def test_a_failure_names_the_revision_that_ran_and_keeps_those_before(
    tmp_path: Path, sqlite_url: str
) -> None:
    runner = _runner(tmp_path, PER_MIGRATION_ENV, sqlite_url, a3="raise RuntimeError('boom')")
    try:
        runner.upgrade("a1")
        with pytest.raises(StepFailed) as failed:
            runner.upgrade_each(["a2", "a3", "a4"])
        assert failed.value.revision == "a3" and "boom" in failed.value.cause
        assert runner.heads() == ("a2",)
    finally:
        runner.close()


def test_what_the_callback_raises_stops_the_command_as_it_is(
    tmp_path: Path, sqlite_url: str
) -> None:
    class Stop(Exception):
        pass

    def before_each(rev: str) -> None:
        if rev == "a3":
            raise Stop(rev)

    runner = _runner(tmp_path, PER_MIGRATION_ENV, sqlite_url)
    try:
        runner.upgrade("a1")
        with pytest.raises(Stop):
            runner.upgrade_each(["a2", "a3", "a4"], before_each)
        assert runner.heads() == ("a2",)
    finally:
        runner.close()


def test_two_revisions_in_one_transaction_are_refused_before_the_second_runs(
    tmp_path: Path, pg_url: str
) -> None:
    runner = _runner(tmp_path, OWN_TRANSACTION_ENV, pg_url, a3="raise RuntimeError('ran')")
    try:
        runner.upgrade("a1")
        assert runner.per_migration_transactions is True
        with pytest.raises(TransactionsShared, match="a2 and a3 in one transaction"):
            runner.upgrade_each(["a2", "a3", "a4"])
        assert runner.per_migration_transactions is False
        assert runner.heads() == ("a1",)  # a2 went down with the shared transaction
        runner.upgrade("a2")
        assert runner.per_migration_transactions is False  # learnt for good
    finally:
        runner.close()


def test_an_env_py_on_its_own_connection_gets_the_first_revision_only(
    tmp_path: Path, sqlite_url: str
) -> None:
    """transaction_per_migration, but env.py migrates on a connection of its own: the
    caller cannot see each revision commit there, so the command stops after the first."""
    own = PER_MIGRATION_ENV.replace(
        'connection = config.attributes.get("connection")', "connection = None"
    )
    assert own != PER_MIGRATION_ENV
    runner = _runner(tmp_path, own, sqlite_url)
    try:
        assert runner.upgrade_each(["a1", "a2", "a3"]) == ("a1",)
        assert not runner.shared_connection
        assert runner.heads() == ("a1",)
    finally:
        runner.close()
