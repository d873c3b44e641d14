"""Snapshot files: which ones to replay, what each one is, and restoring it into a scratch database.

A snapshot is a pg_dump custom-format archive (told by its first bytes, `PGDMP`) or a
SQLite database file (`SQLite format 3`), with an optional metadata file beside it. Given
no files, every snapshot of `snapshots_dir` is replayed (`*.dump`, `*.sqlite`, `*.db`);
an empty directory is an error, never a pass. Before anything is restored, an archive
dumped from a newer server than the replay server, a damaged archive, or a file that is
no snapshot at all stops the run with one line naming the file (exit 2).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from migration_gate.db import urls
from migration_gate.db.pgtools import PgTools, major_of
from migration_gate.db.provision import Provider
from migration_gate.errors import ConfigError
from migration_gate.replay import archive
from migration_gate.replay.archive import ArchiveInfo
from migration_gate.replay.meta import SnapshotMeta, read_meta

__all__ = ["SUFFIXES", "Snapshot", "check_server", "find_snapshots", "open_snapshot", "restore"]

SUFFIXES = (".dump", ".sqlite", ".db")
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Snapshot:
    """One snapshot file, read but not restored."""

    path: Path
    #: "postgresql" or "sqlite"
    dialect: str
    meta: SnapshotMeta | None = None
    archive: ArchiveInfo | None = None

    @property
    def name(self) -> str:
        return self.path.name


def find_snapshots(given: Sequence[str], snapshots_dir: Path) -> list[Path]:
    """The files given, else every snapshot file in `snapshots_dir`."""
    if given:
        paths = [Path(p) for p in given]
        for p in paths:
            if p.is_dir():
                raise ConfigError(
                    f"snapshot {p} is a directory",
                    hint=f"name the snapshot files in it, or set [tool.migration-gate] "
                    f'snapshots_dir = "{p}" and give none',
                )
            if not p.is_file():
                raise ConfigError(f"snapshot {p} does not exist", hint="give the path of a file")
            if p.suffix == ".json" and p.with_suffix("").suffix in SUFFIXES:
                raise ConfigError(
                    f"{p} is the metadata of a snapshot, not a snapshot",
                    hint=f"give the snapshot itself: {p.with_suffix('')}",
                )
        return paths
    if not snapshots_dir.is_dir():
        raise ConfigError(
            f"no snapshots directory {snapshots_dir}",
            hint="name snapshot files, or take one with `migration-gate snapshot` "
            "([tool.migration-gate] snapshots_dir)",
        )
    found = sorted(p for p in snapshots_dir.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    if not found:
        raise ConfigError(
            f"no snapshots in {snapshots_dir} (files ending in {', '.join(SUFFIXES)})",
            hint="take one with `migration-gate snapshot --env NAME --output FILE`",
        )
    return found


def open_snapshot(tools: PgTools, path: Path) -> Snapshot:
    """What `path` is; a ConfigError naming it when it is not a snapshot."""
    with path.open("rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    meta = read_meta(path)
    if head.startswith(archive.MAGIC):
        return Snapshot(path, "postgresql", meta, archive.inspect(tools, path))
    if head == _SQLITE_MAGIC:
        return Snapshot(path, "sqlite", meta)
    plain = head.lstrip().startswith((b"--", b"SET ", b"CREATE", b"\\"))
    raise ConfigError(
        f"{path} is neither a pg_dump custom-format archive nor a SQLite database"
        + (" (it looks like a plain SQL dump)" if plain else ""),
        hint="take snapshots with `migration-gate snapshot` or `pg_dump -Fc`",
    )


def check_server(snapshot: Snapshot, server_version: str) -> None:
    """Refuse an archive dumped from a newer server than the one it would be restored into."""
    if snapshot.archive is None:
        return
    have = major_of(server_version)
    if snapshot.archive.server_major > have:
        raise ConfigError(
            f"{snapshot.path} was dumped from PostgreSQL {snapshot.archive.dumped_from}, newer "
            f"than the replay server (PostgreSQL {server_version})",
            hint=f"replay on PostgreSQL {snapshot.archive.server_major} or newer (--pg-url URL, "
            "or --pg-bin DIR of that version)",
        )


def restore(tools: PgTools, provider: Provider, snapshot: Snapshot, jobs: int) -> str:
    """A scratch database holding the snapshot; returns its URL."""
    url = provider.scratch(f"replay_{snapshot.path.stem}")
    if snapshot.dialect == "sqlite":
        target = urls.parse(url).database or ""
        shutil.copyfile(snapshot.path, target)
        return url
    archive.restore(tools, url, snapshot.path, jobs=jobs, what=f"restoring {snapshot.path}")
    return url
