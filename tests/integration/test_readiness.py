"""The Python API for applications: `upgrade_or_raise` raises instead of logging and going on
(post-mortem 000), and `readiness` tells whether a database is ready for this code."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config

import migration_gate
from migration_gate.config.envs import Deploy
from migration_gate.deploy import DeployFailed, upgrade_or_raise
from tests import deploy_project as dp

pytestmark = pytest.mark.postgres


def test_upgrade_or_raise_deploys_and_raises_on_failure(
    tmp_path: Path, pg_url: str, pg_admin_url: str
) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:2])
    config = Config(str(ini))
    report = upgrade_or_raise(config, pg_url, pg_url=pg_admin_url, environ={})
    assert report.ok and dp.version(pg_url) == ["a2"]
    assert [(r.revision, r.environment) for r in dp.ledger(pg_url)] == [
        ("a1", "database"),
        ("a2", "database"),
    ]
    dp.add_revision(tmp_path, "a3", "a2", "op.execute('SELECT * FROM no_such_table')")
    with pytest.raises(DeployFailed) as caught:
        upgrade_or_raise(
            Config(str(ini)), pg_url, environment="web", pg_url=pg_admin_url, environ={}
        )
    assert "deploy to web stopped" in str(caught.value) and "no_such_table" in str(caught.value)
    assert caught.value.report.errors()[0].revision == "a3"
    assert dp.version(pg_url) == ["a2"]


def test_upgrade_or_raise_refuses_drift(tmp_path: Path, pg_url: str, pg_admin_url: str) -> None:
    ini = dp.write_project(tmp_path, dp.CHAIN[:1])
    upgrade_or_raise(Config(str(ini)), pg_url, pg_url=pg_admin_url, environ={})
    dp.execute(pg_url, "ALTER TABLE users DROP COLUMN email")
    dp.add_revision(tmp_path, "a2", "a1", dp.CHAIN[1][2])
    with pytest.raises(DeployFailed, match=r"users\.email"):
        upgrade_or_raise(
            Config(str(ini)),
            pg_url,
            pg_url=pg_admin_url,
            deploy=Deploy(lock_wait=1.0),
            environ={},
        )
    assert dp.version(pg_url) == ["a1"]


def test_readiness(tmp_path: Path, pg_url: str, pg_admin_url: str) -> None:
    ini = dp.write_project(tmp_path)
    empty = migration_gate.readiness(Config(str(ini)), pg_url, pg_url=pg_admin_url)
    assert empty["revision"] is None and empty["head"] == "a3" and empty["in_sync"] is False
    upgrade_or_raise(Config(str(ini)), pg_url, pg_url=pg_admin_url, environ={})
    ready = migration_gate.readiness(Config(str(ini)), pg_url, pg_url=pg_admin_url)
    assert ready["revision"] == ready["head"] == "a3" and ready["in_sync"] is True
    assert ready["schema_hash"] == ready["expected_hash"] != empty["schema_hash"]
    assert ready["expected_hash"] == empty["expected_hash"]
    dp.execute(pg_url, "CREATE INDEX ix_sneaky ON users (name)")
    drifted = migration_gate.readiness(Config(str(ini)), pg_url, pg_url=pg_admin_url)
    assert drifted["revision"] == "a3" and drifted["in_sync"] is False
    assert drifted["schema_hash"] != drifted["expected_hash"]
