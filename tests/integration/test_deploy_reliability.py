"""Reliability of `deploy` with real processes on a real PostgreSQL server.

Eight deployers at once; a deployer killed with SIGKILL in the middle of a revision; a
revision stuck behind another session's lock, failing and then, with retries, succeeding
once the blocker ends. Each deployer is `python -m migration_gate deploy`, as CI runs it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from migration_gate.commands.lock import lock
from migration_gate.db import engines
from tests import deploy_project as dp

pytestmark = pytest.mark.postgres

SLOW_CHAIN: list[dp.Revision] = [
    *dp.CHAIN,
    (
        "a4",
        "a3",
        "op.create_table('slow', sa.Column('id', sa.Integer, primary_key=True))\n"
        "import os\n"
        "op.execute(f\"SELECT pg_sleep({float(os.environ.get('SLEEP', '0.3'))})\")",
        "op.drop_table('slow')",
    ),
    (
        "a5",
        "a4",
        "op.add_column('slow', sa.Column('note', sa.Text))",
        "op.drop_column('slow', 'note')",
    ),
]


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_eight_concurrent_deployers_apply_each_revision_once(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, SLOW_CHAIN)
    assert lock(dp.settings(ini, pg_url, pg_admin_url), dialect="postgresql").ok
    env = {"DEV_DATABASE_URL": pg_url}
    procs = [
        dp.spawn(
            tmp_path,
            "deploy",
            "--env",
            "dev",
            "--pg-url",
            pg_admin_url,
            "--format",
            "json",
            env=env,
        )
        for _ in range(8)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * 8, [err for _, err in outs]
    reports = [json.loads(out) for out, _ in outs]
    applied = [
        a["revision"] for r in reports for a in r["deploy"]["applied"] if a["status"] == "applied"
    ]
    assert sorted(applied) == ["a1", "a2", "a3", "a4", "a5"]
    assert sum(1 for r in reports if not r["deploy"]["applied"]) >= 1  # later ones: nothing to do
    rows = dp.ledger(pg_url)
    assert sorted(r.revision for r in rows) == ["a1", "a2", "a3", "a4", "a5"]
    assert {r.status for r in rows} == {"applied"}
    assert dp.version(pg_url) == ["a5"]


def _deploy_sessions(url: str) -> list[tuple[int, str]]:
    return [
        (r[0], r[1])
        for r in dp.query(
            url,
            "SELECT pid, coalesce(query, '') FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'migration-gate-deploy%'",
        )
    ]


def test_sigkill_in_the_middle_of_a_revision_leaves_the_previous_revision(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, SLOW_CHAIN)
    assert lock(dp.settings(ini, pg_url, pg_admin_url), dialect="postgresql").ok
    env = {"DEV_DATABASE_URL": pg_url}
    assert (
        dp.cli(tmp_path, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env={**env}).returncode
        == 0
    )
    dp.execute(pg_url, "DROP TABLE slow", "UPDATE alembic_version SET version_num = 'a3'")
    dp.execute(pg_url, "DELETE FROM migration_gate_ledger WHERE revision IN ('a4', 'a5')")

    proc = dp.spawn(
        tmp_path, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env={**env, "SLEEP": "60"}
    )
    try:
        _wait_for(
            lambda: any("pg_sleep" in q for _, q in _deploy_sessions(pg_url)),
            60,
            "the deployer to sleep inside revision a4",
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the server notices the dead client within seconds (client_connection_check_interval)
    _wait_for(lambda: not _deploy_sessions(pg_url), 15, "the killed deployer's sessions to end")
    assert dp.version(pg_url) == ["a3"]
    assert dp.query(pg_url, "SELECT to_regclass('slow') IS NULL") == [(True,)]
    assert dp.query(pg_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
    assert [r.revision for r in dp.ledger(pg_url)] == ["a1", "a2", "a3"]

    t0 = time.monotonic()
    again = dp.cli(tmp_path, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert time.monotonic() - t0 < 30
    assert dp.version(pg_url) == ["a5"]
    assert [r.revision for r in dp.ledger(pg_url)] == ["a1", "a2", "a3", "a4", "a5"]


class _Blocker:
    """Another session with an open transaction that read `users` (ACCESS SHARE lock)."""

    def __init__(self, url: str) -> None:
        self.engine = engines.engine(url)
        self.conn = self.engine.connect()
        self.conn.exec_driver_sql("SELECT count(*) FROM users")  # the transaction stays open

    def end(self) -> None:
        self.conn.commit()
        self.conn.close()
        self.engine.dispose()


def test_a_revision_behind_a_lock_fails_then_succeeds_with_retries(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    dp.write_project(tmp_path, dp.CHAIN[:1], lock_timeout="300ms", lock_retries=0)
    env = {"DEV_DATABASE_URL": pg_url}
    assert (
        dp.cli(tmp_path, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env=env).returncode
        == 0
    )
    dp.add_revision(tmp_path, "a2", "a1", dp.CHAIN[1][2])

    blocker = _Blocker(pg_url)
    try:
        failed = dp.cli(tmp_path, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env=env)
        assert failed.returncode == 1
        line = next(ln for ln in failed.stdout.splitlines() if "deploy to dev stopped" in ln)
        assert "a2" in line and "LockNotAvailable" in line and "lock timeout" in line
        assert "stays at a1" in line
        assert dp.version(pg_url) == ["a1"]
        assert dp.query(
            pg_url,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'name'",
        ) == [(0,)]

        dp.write_project(tmp_path, dp.CHAIN[:1], lock_timeout="300ms", lock_retries=8)
        dp.add_revision(tmp_path, "a2", "a1", dp.CHAIN[1][2])
        proc = dp.spawn(
            tmp_path,
            "deploy",
            "--env",
            "dev",
            "--pg-url",
            pg_admin_url,
            "--format",
            "json",
            env=env,
        )
        _wait_for(
            lambda: (
                dp.query(
                    pg_url,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'migration-gate-deploy' AND wait_event_type = 'Lock'",
                )
                != [(0,)]
            ),
            60,
            "the deployer to wait behind the blocker",
        )
        time.sleep(1.0)  # a few lock timeouts and retries
    finally:
        blocker.end()
    out, err = proc.communicate(timeout=120)
    ok = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.loads(ok.stdout)
    (step,) = report["deploy"]["applied"]
    assert step["revision"] == "a2" and step["status"] == "applied" and step["attempts"] > 1
    assert dp.version(pg_url) == ["a2"]
    assert [(r.revision, r.status) for r in dp.ledger(pg_url)] == [
        ("a1", "applied"),
        ("a2", "failed"),
        ("a2", "applied"),
    ]


def test_a_deployer_that_cannot_get_the_lock_gives_up_after_lock_wait(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    from migration_gate.commands.deploy import deploy
    from migration_gate.deploy.lock import lock_key

    ini = dp.write_project(tmp_path, lock_wait="1s")
    holder = sa.create_engine(
        pg_url + "?application_name=another-deployer",
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )
    with holder.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("alembic_version")})
        t0 = time.monotonic()
        report = deploy(dp.settings(ini, pg_url, pg_admin_url), env="dev")
        waited = time.monotonic() - t0
    holder.dispose()
    (found,) = report.errors()
    assert found.check == "deploy-failed"
    assert "held the deploy lock for longer than deploy.lock_wait (1s)" in found.message
    assert "another-deployer" in found.message
    assert 0.9 < waited < 10
    assert dp.version(pg_url) == []


def test_concurrent_deployers_on_sqlite_apply_each_revision_once(tmp_path: Path) -> None:
    ini = dp.write_project(tmp_path)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    env = {"DEV_DATABASE_URL": url}
    assert ini.exists()
    procs = [
        dp.spawn(tmp_path, "deploy", "--env", "dev", "--format", "json", env=env) for _ in range(3)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    applied = [
        a["revision"]
        for out, _ in outs
        for a in json.loads(out)["deploy"]["applied"]
        if a["status"] == "applied"
    ]
    assert sorted(applied) == ["a1", "a2", "a3"]
    assert sorted(r.revision for r in dp.ledger(url)) == ["a1", "a2", "a3"]
    assert dp.version(url) == ["a3"]
