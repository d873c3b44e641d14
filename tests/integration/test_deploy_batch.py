"""A deploy through an env.py that runs each migration in its own transaction
(``transaction_per_migration=True``): the pending revisions go in ONE Alembic command, and
still each revision has its own transaction and its own ledger row. What must hold as it does one command per revision: a revision that fails leaves those
before it committed and ledgered and nothing of itself; a revision that changes a timeout is
reported and the next one runs under the deploy's values; a lost deploy lock stops the deploy
before the revision commits; retries on a lock, autocommit blocks, deploy.timeout; an env.py
that declares transaction_per_migration but begins the transaction itself is noticed, not
trusted (one command per revision).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from migration_gate.commands.deploy import deploy
from migration_gate.db import engines
from migration_gate.db.provision import PostgresProvider
from tests import deploy_project as dp
from tests.chain_builder import (
    OWN_TRANSACTION_ENV,
    PER_MIGRATION_ENV,
    SHARED_ENV,
    URL_ONLY_ENV,
    Revision,
    table_chain,
    table_up,
)

ENVS = {
    "per-migration": PER_MIGRATION_ENV,
    "one command per revision": SHARED_ENV,
    "env.py's own connection": URL_ONLY_ENV,
}


def _project(root: Path, revisions: list[Revision], env: str, **kw: object) -> Path:
    ini = dp.write_project(root, revisions, **kw)  # type: ignore[arg-type]
    (root / "migrations" / "env.py").write_text(env)
    return ini


def _commands(root: Path, url: str) -> int:
    """Alembic commands that ran on the database of `url`."""
    log = root / "migrations" / "commands.log"
    database = url.rsplit("/", 1)[-1].split("?")[0]
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(1 for line in lines if line.endswith(database))


def _xmin(url: str, sql: str) -> list[str]:
    return [r[0] for r in dp.query(url, sql)]


def test_one_command_each_revision_in_its_own_transaction(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = _project(tmp_path, table_chain(5), PER_MIGRATION_ENV)
    seen: list[tuple[int, int, str]] = []
    report = deploy(
        dp.settings(ini, pg_url, pg_admin_url),
        env="dev",
        progress=lambda env, i, n, rev: seen.append((i, n, rev)),
    )
    assert report.ok, report.findings
    assert _commands(tmp_path, pg_url) == 1
    assert seen == [(k, 5, f"a{k}") for k in range(1, 6)]
    assert dp.version(pg_url) == ["a5"]
    assert [(r.revision, r.status) for r in dp.ledger(pg_url)] == [
        (f"a{k}", "applied") for k in range(1, 6)
    ]
    # each ledger row was written by the transaction that created the revision's table
    rows = _xmin(pg_url, "SELECT xmin::text FROM migration_gate_ledger ORDER BY started_at")
    tables = _xmin(
        pg_url,
        "SELECT xmin::text FROM pg_class WHERE relname IN "
        "('t_a1', 't_a2', 't_a3', 't_a4', 't_a5') ORDER BY relname",
    )
    assert rows == tables and len(set(rows)) == 5
    assert report.deploy is not None
    assert [(a.revision, a.status, a.attempts) for a in report.deploy.applied] == [
        (f"a{k}", "applied", 1) for k in range(1, 6)
    ]
    assert all(a.seconds is not None and a.seconds > 0 for a in report.deploy.applied)


@pytest.mark.parametrize("env", list(ENVS.values()), ids=list(ENVS))
def test_a_revision_in_the_middle_that_fails(
    tmp_path: Path, pg_url: str, pg_admin_url: str, env: str
) -> None:
    broken = table_up("half") + "\nop.execute('SELECT * FROM no_such_table')"
    ini = _project(tmp_path, table_chain(5, a3=broken), env)
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    (failed,) = report.errors()
    assert failed.check == "deploy-failed" and failed.revision == "a3"
    assert "no_such_table" in failed.message and "stays at a2" in failed.message
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
        ("a4", "not-run"),
        ("a5", "not-run"),
    ]
    applied = _xmin(pg_url, "SELECT xmin::text FROM migration_gate_ledger WHERE status = 'applied'")
    tables = _xmin(pg_url, "SELECT xmin::text FROM pg_class WHERE relname IN ('t_a1', 't_a2')")
    assert sorted(applied) == sorted(tables) and len(set(applied)) == 2
    if env is PER_MIGRATION_ENV:  # a3 failed in the batch and was not run again
        assert _commands(tmp_path, pg_url) == 1


@pytest.mark.parametrize("env", list(ENVS.values()), ids=list(ENVS))
def test_a_session_level_set_is_reported_and_does_not_reach_the_next_revision(
    tmp_path: Path, pg_url: str, pg_admin_url: str, env: str
) -> None:
    seen = (
        "op.execute(\"CREATE TABLE seen_{0} AS SELECT current_setting('lock_timeout') AS lt, "
        "current_setting('statement_timeout') AS st\")"
    )
    revisions = table_chain(
        5,
        a2=seen.format("a2"),
        a3="op.execute('SET lock_timeout = 0')\nop.execute('SET statement_timeout = 0')",
        a4=seen.format("a4"),
        a5=seen.format("a5"),
    )
    ini = _project(tmp_path, revisions, env, lock_timeout="700ms")
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert report.ok, report.findings
    (warning,) = [f for f in report.findings if f.severity == "warning"]
    assert warning.revision == "a3"
    assert "lock_timeout = 0 (the environment says 700ms)" in warning.message
    assert "statement_timeout = 0 (the environment says 60000ms)" in warning.message
    for rev in ("a2", "a4", "a5"):
        assert dp.query(pg_url, f"SELECT lt, st FROM seen_{rev}") == [("700ms", "1min")], rev
    assert [r.status for r in dp.ledger(pg_url)] == ["applied"] * 5


@pytest.mark.parametrize("env", list(ENVS.values()), ids=list(ENVS))
def test_a_lost_deploy_lock_stops_before_the_revision_commits(
    tmp_path: Path, pg_url: str, pg_admin_url: str, env: str
) -> None:
    """a3 ends the session that holds the deploy lock, as if it had died: a3 does not commit,
    nothing after it runs, and the next deploy goes on."""
    kill = (
        table_up("t_a3")
        + '\nop.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity '
        "WHERE application_name = 'migration-gate-deploy-lock' "
        'AND datname = current_database()")'
    )
    ini = _project(tmp_path, table_chain(5, a3=kill), env)
    s = dp.settings(ini, pg_url, pg_admin_url)
    report = deploy(s, env="dev")
    (failed,) = report.errors()
    assert failed.check == "deploy-failed" and failed.revision == "a3"
    assert "the deploy lock was lost" in failed.message
    assert "stays at a2, nothing of a3 applied" in failed.message
    assert dp.version(pg_url) == ["a2"]
    assert dp.query(pg_url, "SELECT to_regclass('t_a3') IS NULL") == [(True,)]
    assert [(r.revision, r.status) for r in dp.ledger(pg_url)] == [
        ("a1", "applied"),
        ("a2", "applied"),
    ]
    assert report.deploy is not None
    assert [a.status for a in report.deploy.applied] == ["applied", "applied"] + ["not-run"] * 3

    (tmp_path / "migrations" / "versions" / "a3.py").write_text(
        (tmp_path / "migrations" / "versions" / "a3.py")
        .read_text()
        .replace("pg_terminate_backend(pid, 10000)", "pid")
    )
    assert deploy(s, env="dev").ok
    assert dp.version(pg_url) == ["a5"]


def test_a_revision_behind_a_lock_in_a_batch_is_retried(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = _project(
        tmp_path, table_chain(1), PER_MIGRATION_ENV, lock_timeout="200ms", lock_retries=8
    )
    s = dp.settings(ini, pg_url, pg_admin_url)
    assert deploy(s, env="dev").ok
    for rid, parent, up, _ in table_chain(
        4, a3="op.add_column('t_a1', sa.Column('note', sa.Text))"
    )[1:]:
        dp.add_revision(tmp_path, rid, parent or "", up)
    engine = engines.engine(pg_url)
    blocker = engine.connect()
    blocker.exec_driver_sql("SELECT count(*) FROM t_a1")  # holds ACCESS SHARE on t_a1
    ended = threading.Timer(1.0, blocker.rollback)
    ended.start()
    try:
        report = deploy(s, env="dev")
    finally:
        ended.join()
        blocker.close()
        engine.dispose()
    assert report.ok, report.findings
    assert report.deploy is not None
    attempts = {a.revision: a.attempts for a in report.deploy.applied}
    assert attempts["a2"] == 1 and attempts["a3"] > 1 and attempts["a4"] == 1
    assert [(r.revision, r.status) for r in dp.ledger(pg_url)] == [
        (f"a{k}", "applied") for k in range(1, 5)
    ]
    assert dp.version(pg_url) == ["a4"]
    # the first deploy: a1; this one: a2..a4 (a3's first attempt), a3's retries alone,
    # then a4 (the last revision is a step)
    assert _commands(tmp_path, pg_url) == 1 + 1 + (attempts["a3"] - 1) + 1


def test_autocommit_blocks_in_a_batch(tmp_path: Path, pg_url: str, pg_admin_url: str) -> None:
    concurrently = (
        "with op.get_context().autocommit_block():\n"
        "    op.execute('CREATE INDEX CONCURRENTLY ix_t_a1 ON t_a1 (id)')"
    )
    ini = _project(tmp_path, table_chain(4, a3=concurrently), PER_MIGRATION_ENV)
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert report.ok, report.findings
    assert dp.query(
        pg_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_t_a1'::regclass"
    ) == [(True,)]
    assert [r.revision for r in dp.ledger(pg_url)] == ["a1", "a2", "a3", "a4"]
    assert _commands(tmp_path, pg_url) == 1


def test_an_autocommit_part_that_ran_is_not_run_again(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    """a3 creates an index outside its transaction, then fails on a lock: it is not retried
    (the index would be created twice), and the message says what was left behind."""
    broken = (
        "with op.get_context().autocommit_block():\n"
        "    op.execute('CREATE INDEX CONCURRENTLY ix_t_a1 ON t_a1 (id)')\n"
        "op.execute(\"DO $$ BEGIN RAISE EXCEPTION 'stuck' USING ERRCODE = '55P03'; END $$\")"
    )
    ini = _project(tmp_path, table_chain(4, a3=broken), PER_MIGRATION_ENV, lock_retries=3)
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    (failed,) = report.errors()
    assert failed.revision == "a3" and "stuck" in failed.message
    assert "ran outside its transaction were not rolled back" in failed.message
    assert "attempts" not in failed.message
    assert dp.version(pg_url) == ["a2"]
    assert [(r.revision, r.status) for r in dp.ledger(pg_url)][-1] == ("a3", "failed")


def test_deploy_timeout_stops_between_revisions_of_a_batch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    ini = _project(tmp_path, table_chain(4, a2="import time\ntime.sleep(4.5)"), PER_MIGRATION_ENV)
    envfile = tmp_path / "envs" / "dev.yaml"
    envfile.write_text(envfile.read_text().replace("timeout: 10min", "timeout: 4s"))
    report = deploy(dp.settings(ini, url, None), env="dev")
    (failed,) = report.errors()
    assert "ran out of time (deploy.timeout) before a3" in failed.message
    assert "stays at a2" in failed.message
    assert dp.version(url) == ["a2"]
    assert [r.revision for r in dp.ledger(url)] == ["a1", "a2"]
    assert _commands(tmp_path, url) == 1


def test_sqlite_batch_is_atomic_per_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    broken = table_up("half") + "\nop.execute('SELECT * FROM no_such_table')"
    ini = _project(tmp_path, table_chain(4, a3=broken), PER_MIGRATION_ENV)
    report = deploy(dp.settings(ini, url, None), env="dev")
    assert [f.revision for f in report.errors()] == ["a3"]
    assert dp.version(url) == ["a2"]
    assert dp.query(url, "SELECT name FROM sqlite_master WHERE name = 'half'") == []
    assert [(r.revision, r.status) for r in dp.ledger(url)] == [
        ("a1", "applied"),
        ("a2", "applied"),
        ("a3", "failed"),
    ]
    assert _commands(tmp_path, url) == 1


def test_an_env_py_that_begins_the_transaction_itself_gets_one_command_per_revision(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = _project(tmp_path, table_chain(4), OWN_TRANSACTION_ENV)
    t0 = time.monotonic()
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert report.ok, report.findings
    assert time.monotonic() - t0 < 60
    assert dp.version(pg_url) == ["a4"]
    rows = _xmin(pg_url, "SELECT xmin::text FROM migration_gate_ledger ORDER BY started_at")
    tables = _xmin(
        pg_url,
        "SELECT xmin::text FROM pg_class WHERE relname IN ('t_a1', 't_a2', 't_a3', 't_a4') "
        "ORDER BY relname",
    )
    assert rows == tables and len(set(rows)) == 4
    # a1..a4, stopped as a2 began in a1's transaction (nothing committed); then one each
    assert _commands(tmp_path, pg_url) == 1 + 4


def _statements(root: Path, n: int, url: str, admin: str) -> list[str]:
    """The statements a deploy of `n` revisions (one table each) sends to the database."""
    from sqlalchemy import event
    from sqlalchemy.engine import Connection, Engine

    ini = _project(root, table_chain(n), PER_MIGRATION_ENV)
    database = url.rsplit("/", 1)[-1]
    sent: list[str] = []

    def note(conn: Connection, cursor: object, statement: str, *args: object) -> None:
        if conn.engine.url.database == database:
            sent.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        assert deploy(dp.settings(ini, url, admin), env="dev").ok
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    return sent


def test_a_batched_revision_sends_alembics_statements_and_its_ledger_row(
    tmp_path: Path, pg_provider: PostgresProvider, pg_admin_url: str
) -> None:
    """Counted, not timed: each revision more costs what Alembic sends for it (its DDL and
    the version row) and one statement of the deploy's own (its ledger row)."""
    sent = {}
    for n in (4, 12):
        url = pg_provider.scratch("count")
        try:
            sent[n] = _statements(tmp_path / str(n), n, url, pg_admin_url)
        finally:
            pg_provider.drop(url)
    assert len(sent[12]) - len(sent[4]) == 8 * 3, sent[12]
    ledger = [s for s in sent[12] if "migration_gate_ledger" in s and "INSERT" in s]
    assert len(ledger) == 12
    assert not [s for s in sent[12] if "set_config" in s and "migration_gate_ledger" not in s][1:]


@pytest.mark.parametrize("env", list(ENVS.values()), ids=list(ENVS))
def test_a_ledger_row_that_cannot_be_written_takes_its_revision_down(
    tmp_path: Path, pg_url: str, pg_admin_url: str, env: str
) -> None:
    """a3 adds a trigger that refuses its own ledger row: the insert fails inside a3's
    commit, so a3 rolls back; the `failed` row written afterwards on the same connection
    must not commit any of a3 with it (SQLAlchemy forgets a transaction whose commit
    listener raised, but the database connection is still in it)."""
    refuse = (
        table_up("t_a3") + '\nop.execute("CREATE FUNCTION refuse() RETURNS trigger '
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'ledger refused'; END $$\")\n"
        'op.execute("CREATE TRIGGER refuse BEFORE INSERT ON migration_gate_ledger '
        "FOR EACH ROW WHEN (NEW.status = 'applied') EXECUTE FUNCTION refuse()\")"
    )
    ini = _project(tmp_path, table_chain(5, a3=refuse), env)
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    (failed,) = report.errors()
    assert failed.revision == "a3" and "ledger refused" in failed.message
    assert dp.version(pg_url) == ["a2"]
    assert dp.query(pg_url, "SELECT to_regclass('t_a3') IS NULL") == [(True,)]
    assert dp.query(pg_url, "SELECT count(*) FROM pg_trigger WHERE tgname = 'refuse'") == [(0,)]
    assert [(r.revision, r.status) for r in dp.ledger(pg_url)] == [
        ("a1", "applied"),
        ("a2", "applied"),
        ("a3", "failed"),
    ]


def test_when_the_session_cannot_be_prepared_each_transaction_sets_the_timeouts(
    tmp_path: Path, pg_url: str, pg_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the statement that sets the deploy's timeouts for the session fails;
    the deploy goes on, setting them in each revision's transaction instead."""
    import sqlalchemy as sa
    from sqlalchemy.engine import Connection

    real = Connection.exec_driver_sql
    refused: list[str] = []

    def exec_driver_sql(self: Connection, statement: str, *args: object, **kw: object) -> object:
        if "'statement_timeout', %(stmt)s, false)" in statement and "WITH" not in statement:
            refused.append(statement)
            raise sa.exc.DBAPIError(statement, None, Exception("refused by the test"))
        return real(self, statement, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Connection, "exec_driver_sql", exec_driver_sql)
    seen = (
        "op.execute(\"CREATE TABLE seen_{0} AS SELECT current_setting('lock_timeout') AS lt, "
        "current_setting('statement_timeout') AS st\")"
    )
    revisions = table_chain(3, a2=seen.format("a2"), a3=seen.format("a3"))
    ini = _project(tmp_path, revisions, PER_MIGRATION_ENV, lock_timeout="700ms")
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    assert report.ok, report.findings
    assert refused
    for rev in ("a2", "a3"):
        assert dp.query(pg_url, f"SELECT lt, st FROM seen_{rev}") == [("700ms", "1min")], rev
    assert [r.status for r in dp.ledger(pg_url)] == ["applied"] * 3


def test_a_branched_chain_in_one_command(tmp_path: Path, pg_url: str, pg_admin_url: str) -> None:
    """Two branches and their merge: one command, a transaction and a ledger row each; the
    merge failing leaves both branches applied."""
    merge: object = ("b1", "c1")
    revisions: list[Revision] = [
        ("a1", None, table_up("t_a1"), "pass"),
        ("b1", "a1", table_up("t_b1"), "pass"),
        ("c1", "a1", table_up("t_c1"), "pass"),
        ("m1", merge, "op.execute('SELECT * FROM no_such_table')", "pass"),  # type: ignore[list-item]
    ]
    ini = _project(tmp_path, revisions, PER_MIGRATION_ENV)
    report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
    (failed,) = report.errors()
    assert failed.revision == "m1" and "no_such_table" in failed.message
    assert dp.version(pg_url) == ["b1", "c1"]
    assert [(r.revision, r.status) for r in dp.ledger(pg_url)] == [
        ("a1", "applied"),
        ("b1", "applied"),
        ("c1", "applied"),
        ("m1", "failed"),
    ]
    assert _commands(tmp_path, pg_url) == 1
    path = tmp_path / "migrations" / "versions" / "m1.py"
    path.write_text(path.read_text().replace("op.execute('SELECT * FROM no_such_table')", "pass"))
    assert deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev").ok
    assert dp.version(pg_url) == ["m1"]
