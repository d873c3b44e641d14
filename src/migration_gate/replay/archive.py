"""pg_dump custom-format archives: made with pg_dump, read and restored with pg_restore.

`dump` writes an archive of a database (optionally without the data of some tables, and
from a snapshot another session exported, so schema and copied rows agree); `inspect`
reads an archive's header (`pg_restore -l`: which server it was dumped from, by which
pg_dump) and refuses a file that is not one; `restore` loads an archive, or one section of
it, into a database with parallel jobs, as no owner and with no privileges (the source's
roles do not exist on a scratch server). Any error fails the restore but one: a newer
pg_restore sets `transaction_timeout` (PostgreSQL 17+) on every connection, which an older
server does not know; that setting only matters to a restore that hangs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from migration_gate.db.pgtools import PgTools, conninfo, last_error, major_of
from migration_gate.errors import ConfigError, InfrastructureError
from migration_gate.replay.sample import qtable

__all__ = ["ArchiveInfo", "dump", "inspect", "is_archive", "restore"]

MAGIC = b"PGDMP"
#: the one error a restore may meet and go on: a newer pg_restore's SET on an older server
_BENIGN = 'unrecognized configuration parameter "transaction_timeout"'
_FROM = re.compile(r"^;\s+Dumped from database version:\s*(\S+)", re.M)
_BY = re.compile(r"^;\s+Dumped by pg_dump version:\s*(\S+)", re.M)


@dataclass(frozen=True)
class ArchiveInfo:
    """What an archive's header says."""

    path: Path
    #: the version of the server it was dumped from, e.g. "15.18"
    dumped_from: str
    dumped_by: str
    #: its table of contents has table data (False: a schema-only archive)
    has_data: bool

    @property
    def server_major(self) -> int:
        return major_of(self.dumped_from)


def is_archive(path: Path) -> bool:
    """Whether the file starts like a pg_dump custom-format archive."""
    with path.open("rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def inspect(tools: PgTools, path: Path) -> ArchiveInfo:
    """The header of the archive at `path`; a ConfigError when it is not a readable one."""
    if not is_archive(path):
        raise ConfigError(
            f"{path} is not a pg_dump custom-format archive",
            hint="take snapshots with `migration-gate snapshot` or `pg_dump -Fc`",
        )
    try:
        listing = tools.run("pg_restore", ["-l", str(path)], what=f"reading {path}").stdout
    except InfrastructureError as exc:
        raise ConfigError(
            f"{path} is damaged or unreadable: {exc.message}",
            hint="take the snapshot again; an archive made by a newer pg_dump needs a pg_restore "
            "at least as new (--pg-bin DIR)",
        ) from None
    found, by = _FROM.search(listing), _BY.search(listing)
    if found is None or by is None:
        raise ConfigError(f"{path}: pg_restore -l shows no header; the archive is damaged")
    has_data = bool(re.search(r"^\d+; \d+ \d+ TABLE DATA ", listing, re.M))
    return ArchiveInfo(path, found.group(1), by.group(1), has_data)


def dump(
    tools: PgTools,
    url: str,
    output: Path,
    *,
    exclude_data: Sequence[str] = (),
    snapshot: str | None = None,
    what: str = "pg_dump",
) -> None:
    """`pg_dump -Fc` of the database at `url` into `output`."""
    dsn, env = conninfo(url)
    args = ["-Fc", "--no-sync", "-f", str(output), "--dbname", dsn]
    if snapshot is not None:
        args += ["--snapshot", snapshot]
    args += [f"--exclude-table-data={qtable(name)}" for name in exclude_data]
    try:
        tools.run("pg_dump", args, what=what, env=env)
    except InfrastructureError as exc:
        if "version mismatch" not in exc.message:
            raise
        raise InfrastructureError(
            exc.message,
            hint="the server is newer than this pg_dump: pass --pg-bin DIR of a PostgreSQL "
            "installation at least as new as the server",
        ) from None


def restore(
    tools: PgTools,
    url: str,
    archive: Path,
    *,
    jobs: int = 1,
    section: str | None = None,
    what: str | None = None,
) -> None:
    """Load `archive` (or one `section` of it) into the database at `url`."""
    dsn, env = conninfo(url)
    args = ["--no-owner", "--no-privileges", "--dbname", dsn]
    if jobs > 1:
        args += ["--jobs", str(jobs)]
    if section is not None:
        args += ["--section", section]
    proc = tools.run_unchecked("pg_restore", [*args, str(archive)], env=env)
    if proc.returncode == 0:
        return
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("pg_restore: error:")]
    real = [ln for ln in errors if _BENIGN not in ln]
    if real or not errors:
        raise InfrastructureError(
            f"{what or f'restoring {archive}'} failed: {last_error(chr(10).join(real) or proc.stderr or proc.stdout)}",
            hint="a damaged archive, or an object the server lacks (an extension?)",
        )
