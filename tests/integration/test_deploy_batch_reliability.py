"""Reliability of a batched deploy (env.py with ``transaction_per_migration=True``: the
pending revisions after the first in one Alembic command) with real processes: eight
deployers at once, and a deployer killed with SIGKILL in the middle of a revision of the
batch."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from migration_gate.commands.lock import lock
from tests import deploy_project as dp
from tests.chain_builder import PER_MIGRATION_ENV, table_chain, table_up

pytestmark = pytest.mark.postgres

SLEEPY = (
    table_up("slow") + "\nimport os\n"
    "op.execute(f\"SELECT pg_sleep({float(os.environ.get('SLEEP', '0.3'))})\")"
)


def _project(root: Path, url: str, admin: str) -> dict[str, str]:
    ini = dp.write_project(root, table_chain(6, a4=SLEEPY))
    (root / "migrations" / "env.py").write_text(PER_MIGRATION_ENV)
    assert lock(dp.settings(ini, url, admin), dialect="postgresql").ok
    return {"DEV_DATABASE_URL": url}


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _sessions(url: str) -> list[str]:
    return [
        r[0]
        for r in dp.query(
            url,
            "SELECT coalesce(query, '') FROM pg_stat_activity WHERE datname = "
            "current_database() AND application_name LIKE 'migration-gate-deploy%'",
        )
    ]


def test_eight_concurrent_batched_deployers_apply_each_revision_once(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    env = _project(tmp_path, pg_url, pg_admin_url)
    args = ("deploy", "--env", "dev", "--pg-url", pg_admin_url, "--format", "json")
    procs = [dp.spawn(tmp_path, *args, env=env) for _ in range(8)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outs]
    applied = [
        a["revision"]
        for out, _ in outs
        for a in json.loads(out)["deploy"]["applied"]
        if a["status"] == "applied"
    ]
    revisions = [f"a{k}" for k in range(1, 7)]
    assert sorted(applied) == revisions
    rows = dp.ledger(pg_url)
    assert sorted(r.revision for r in rows) == revisions and {r.status for r in rows} == {"applied"}
    assert dp.version(pg_url) == ["a6"]


def test_sigkill_in_a_revision_of_the_batch_leaves_the_one_before(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    env = _project(tmp_path, pg_url, pg_admin_url)
    proc = dp.spawn(
        tmp_path, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env={**env, "SLEEP": "60"}
    )
    try:
        _wait_for(
            lambda: any("pg_sleep" in q for q in _sessions(pg_url)),
            60,
            "the deployer to sleep inside revision a4",
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    _wait_for(lambda: not _sessions(pg_url), 15, "the killed deployer's sessions to end")
    assert dp.version(pg_url) == ["a3"]
    assert dp.query(pg_url, "SELECT to_regclass('slow') IS NULL") == [(True,)]
    assert dp.query(pg_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
    assert [r.revision for r in dp.ledger(pg_url)] == ["a1", "a2", "a3"]

    again = dp.cli(tmp_path, "deploy", "--env", "dev", "--pg-url", pg_admin_url, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert dp.version(pg_url) == ["a6"]
    assert [r.revision for r in dp.ledger(pg_url)] == [f"a{k}" for k in range(1, 7)]
