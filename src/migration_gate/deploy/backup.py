"""A backup of the environment's database before a deploy changes it.

PostgreSQL: ``pg_dump -Fc`` (custom format: ``pg_restore`` restores it, table by table if
need be). pg_dump must be at least as new as the server, so the candidates are tried in
order, the first new enough wins (`db.pgtools.pg_dump_for`): the binaries of ``--pg-bin``,
those of the embedded server, then ``pg_dump`` on PATH. The password goes to pg_dump in its
environment (``PGPASSWORD``), never on its command line, and its error output is masked
before it is shown. SQLite: SQLite's online backup into a file. The file is
readable by its owner only: it holds the data.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from migration_gate.db import urls
from migration_gate.db.pgtools import conninfo, last_error, pg_dump_for, sqlite_copy
from migration_gate.errors import GateError, InfrastructureError

__all__ = ["BackupFailed", "backup"]


class BackupFailed(GateError):
    """The backup could not be taken; nothing was applied."""


def _name(environment: str, at: str, suffix: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{environment}-{at}")
    return f"{safe}-{stamp}{suffix}"


def backup(
    url: str,
    directory: Path,
    *,
    environment: str,
    at: str,
    pg_bin: Path | None = None,
    server_major: int | None = None,
    environ: Mapping[str, str],
    timeout: float | None = None,
) -> Path:
    """Back the database up into `directory`; returns the file. BackupFailed on failure."""
    directory.mkdir(parents=True, exist_ok=True)
    u = urls.sync_url(url)
    if u.get_backend_name() == "sqlite":
        target = directory / _name(environment, at, ".sqlite")
        try:
            sqlite_copy(u.database or "", target)
        except InfrastructureError as exc:
            raise BackupFailed(f"{environment}: backup to {target} failed: {exc}") from None
        target.chmod(0o600)
        return target
    try:
        tools = pg_dump_for(server_major, pg_bin, environ)
    except InfrastructureError as exc:
        raise BackupFailed(exc.message, hint=exc.hint) from None
    target = directory / _name(environment, at, ".dump")
    dsn, password_env = conninfo(u)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        proc = tools.run_unchecked(
            "pg_dump",
            ["-Fc", "--no-password", "-f", str(target), "--dbname", dsn],
            env={"PGAPPNAME": "migration-gate-backup", **password_env},
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        target.unlink(missing_ok=True)
        raise BackupFailed(
            f"{environment}: pg_dump took longer than deploy.timeout; nothing was applied"
        ) from None
    if proc.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupFailed(
            f"{environment}: pg_dump failed ({tools.path('pg_dump')}): "
            f"{last_error(proc.stderr or proc.stdout)}",
            hint="check the database user's rights (pg_dump reads every table)",
        )
    return target
