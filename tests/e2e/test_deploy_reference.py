"""The reference service, deployed as a new user would (issue 14's "done when").

`DEV_DATABASE_URL=... migration-gate deploy --env dev` brings an empty database to the head
with a ledger; a second run has nothing to do; the app's `/health/schema` (uvicorn, a real
process) says in_sync; a column altered by hand is refused with the diff, `drift` reports
it alone and the health check answers 503; `--dry-run` shows the SQL. All on a copy of the
service, so backups and caches stay out of the repository.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from migration_gate.db.provision import PostgresProvider
from tests import deploy_project as dp

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _api(root: Path, url: str, pg_admin_url: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=root,
        env={**dp.clean_environ(), "DATABASE_URL": url, "MIGRATION_GATE_PG_URL": pg_admin_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the API did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _schema(base: str) -> tuple[int, dict[str, Any]]:
    answer = requests.get(f"{base}/health/schema", timeout=60)
    return answer.status_code, answer.json()


@pytest.mark.reference_service
def test_the_reference_service_deploys_as_documented(
    tmp_path: Path, pg_provider: PostgresProvider, pg_admin_url: str
) -> None:
    root = dp.copy_reference(tmp_path)
    url = pg_provider.scratch("reference")
    env = {"DEV_DATABASE_URL": url}
    scratch = ("--pg-url", pg_admin_url)

    first = dp.cli(root, "deploy", "--env", "dev", *scratch, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "8 of 8 revision(s) applied" in first.stdout
    assert "ledger: 8 row(s) written to migration_gate_ledger" in first.stdout
    assert "backup: backups/dev-base-" in first.stdout  # 0004 is declared destructive
    assert dp.version(url) == ["0008"]
    assert [r.status for r in dp.ledger(url)] == ["applied"] * 8

    second = dp.cli(root, "deploy", "--env", "dev", *scratch, env=env)
    assert second.returncode == 0
    assert "nothing to do: dev is at the head (0008)" in second.stdout

    with _api(root, url, pg_admin_url) as base:
        status, body = _schema(base)
        assert status == 200, body
        assert body["revision"] == body["head"] == "0008" and body["in_sync"] is True
        assert body["schema_hash"] == body["expected_hash"]

        dp.execute(url, "ALTER TABLE conversations ALTER COLUMN title TYPE varchar(300)")
        status, body = _schema(base)
        assert status == 503 and body["in_sync"] is False
        assert body["schema_hash"] != body["expected_hash"]

    refused = dp.cli(root, "deploy", "--env", "dev", *scratch, env=env)
    assert refused.returncode == 1
    assert "conversations.title: type varchar(300), expected varchar(200)" in refused.stdout
    assert "refused" in refused.stdout
    alone = dp.cli(root, "drift", "--env", "dev", *scratch, env=env)
    assert alone.returncode == 1
    assert "conversations.title: type varchar(300), expected varchar(200)" in alone.stdout

    fresh = pg_provider.scratch("reference_dry")
    dry = dp.cli(
        root, "deploy", "--env", "dev", "--dry-run", *scratch, env={"DEV_DATABASE_URL": fresh}
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dry run of dev" in dry.stdout and "8 revision(s) pending" in dry.stdout
    assert "CREATE TABLE users (" in dry.stdout
    assert dp.version(fresh) == [] and dp.ledger(fresh) == []
    pg_provider.drop(fresh)
    pg_provider.drop(url)
