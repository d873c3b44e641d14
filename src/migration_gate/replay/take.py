"""Take a snapshot of a database: the archive (or SQLite file) and its metadata file.

PostgreSQL: a whole database is one `pg_dump -Fc` of the source; `--schema-only` the same
without any table's data but the version table's; `--sample` / `--mask` go through a copy
built in a scratch database (`copy.build_copy`) that is then dumped. SQLite: a consistent
copy of the file through SQLite's backup API. Either way the source's tables, rows and
sizes, its revision, server version and schema hash are read first and written beside the
snapshot (`meta`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration_gate.config.settings import Settings
from migration_gate.db import engines, urls
from migration_gate.db.failure import error_text
from migration_gate.db.pgtools import find_tools, sqlite_copy
from migration_gate.db.provision import PostgresProvider
from migration_gate.deploy.ledger import bookkeeping
from migration_gate.errors import ConfigError, InfrastructureError
from migration_gate.replay import archive
from migration_gate.replay.copy import build_copy, mask_key_from
from migration_gate.replay.mask import MaskSpec
from migration_gate.replay.meta import SnapshotMeta, TableStats, write_meta
from migration_gate.replay.sample import plan_copy
from migration_gate.replay.tables import (
    TableInfo,
    count_rows,
    list_tables,
    quote_table,
    table_sizes,
)
from migration_gate.snapshot import capture

__all__ = ["SnapshotRequest", "read_source", "take_snapshot"]


@dataclass(frozen=True)
class SnapshotRequest:
    """What to snapshot, where to, and how."""

    url: str
    output: Path
    environment: str | None = None
    sample: int | None = None
    masks: tuple[MaskSpec, ...] = ()
    schema_only: bool = False
    #: recorded in the metadata: the command that made the snapshot
    command: str = ""
    version_table: str = "alembic_version"


@contextlib.contextmanager
def _connect(url: str) -> Iterator[Connection]:
    engine = engines.engine(url)
    try:
        try:
            conn = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise InfrastructureError(
                f"cannot connect to {urls.mask(url)}: {error_text(exc)}",
                hint="check the URL (or the environment's variable) and that the server runs",
            ) from None
        with conn:
            yield conn
    finally:
        engine.dispose()


def _revision(conn: Connection, version_table: str) -> tuple[str, ...]:
    names = {t.name for t in list_tables(conn, version_table="")}
    if version_table not in names:
        return ()
    table = quote_table(conn, version_table)
    rows = conn.execute(sa.text(f"SELECT version_num FROM {table}")).scalars().all()
    return tuple(sorted(str(r) for r in rows))


def read_source(
    conn: Connection, version_table: str = "alembic_version"
) -> tuple[list[TableInfo], dict[str, TableStats], tuple[str, ...], str | None]:
    """(tables, rows and size of each, revision heads, server version) of a database."""
    tables = list_tables(conn, version_table=version_table)
    rows = count_rows(conn, [t.name for t in tables])
    sizes = table_sizes(conn, tables)
    stats = {t.name: TableStats(rows=rows[t.name], bytes=sizes[t.name]) for t in tables}
    if conn.dialect.name == "postgresql":
        version: str | None = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    else:
        version = sqlite3.sqlite_version
    revision = _revision(conn, version_table)
    if conn.in_transaction():
        conn.commit()
    return tables, stats, revision, version.split()[0] if version else None


def _meta(request: SnapshotRequest, dialect: str, conn: Connection) -> SnapshotMeta:
    from migration_gate import __version__

    _, stats, revision, version = read_source(conn, request.version_table)
    return SnapshotMeta(
        dialect=dialect,
        environment=request.environment,
        revision=revision,
        server_version=version,
        taken_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        schema_hash="sha256:"
        + capture(conn, ignore_tables=bookkeeping(request.version_table)).sha256(),
        tables=stats,
        sample=request.sample,
        masked=tuple(m.text() for m in request.masks),
        schema_only=request.schema_only,
        command=urls.mask_text(request.command),
        tool_version=__version__,
    )


def _check(request: SnapshotRequest, dialect: str) -> None:
    parent = request.output.parent if str(request.output.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(
            f"--output {request.output}: the directory {parent} does not exist",
            hint=f"create it first (mkdir -p {parent})",
        )
    if request.output.is_dir():
        raise ConfigError(
            f"--output {request.output} is a directory",
            hint=f"name the snapshot file, e.g. --output {request.output / 'main.dump'}",
        )
    if request.sample is not None and request.sample < 1:
        raise ConfigError(f"--sample {request.sample}: give a number of rows, 1 or more")
    if request.schema_only and (request.sample is not None or request.masks):
        raise ConfigError(
            "--schema-only copies no rows: --sample and --mask do not apply",
            hint="leave --schema-only out to sample or mask rows",
        )
    if dialect == "sqlite" and (request.sample is not None or request.masks or request.schema_only):
        raise ConfigError(
            "--sample, --mask and --schema-only work on PostgreSQL; a SQLite snapshot is a "
            "whole copy of the database file",
            hint="leave them out for a SQLite database",
        )
    if dialect not in ("postgresql", "sqlite"):
        raise ConfigError(f"cannot snapshot a {dialect} database", hint="use PostgreSQL or SQLite")


def take_snapshot(settings: Settings, request: SnapshotRequest) -> SnapshotMeta:
    """Write the snapshot and its metadata file; returns the metadata."""
    dialect = urls.dialect_of(request.url)
    _check(request, dialect)
    meta = _take_sqlite(request) if dialect == "sqlite" else _take_postgres(settings, request)
    write_meta(request.output, meta)
    return meta


def _take_sqlite(request: SnapshotRequest) -> SnapshotMeta:
    path = urls.parse(request.url).database
    if not path or path == ":memory:" or not Path(path).is_file():
        raise ConfigError(f"no SQLite database at {urls.mask(request.url)}")
    sqlite_copy(path, request.output)
    with _connect(f"sqlite:///{request.output}") as conn:
        return _meta(request, "sqlite", conn)


def _take_postgres(settings: Settings, request: SnapshotRequest) -> SnapshotMeta:
    tools = find_tools(settings.pg_bin, settings.environ)
    with _connect(request.url) as conn:
        meta = _meta(request, "postgresql", conn)
        tables = list_tables(conn, version_table=request.version_table)
        snap = capture(conn, ignore_tables=()) if request.sample or request.masks else None
    if snap is None:
        exclude: Sequence[str] = [t.name for t in tables] if request.schema_only else ()
        archive.dump(tools, request.url, request.output, exclude_data=exclude)
        return meta
    masks = {(m.table, m.column): m.kind for m in request.masks}
    plans = plan_copy(
        snap,
        sample=request.sample,
        masks=masks,
        version_table=request.version_table,
        partitioned={t.name for t in tables if t.kind == "p"},
        skip={t.name for t in tables if t.partition},
    )
    jobs = max(1, min(4, os.cpu_count() or 1))
    with PostgresProvider(settings.pg_url, bin_dir=settings.pg_bin) as provider:
        scratch = provider.scratch("snapshot")
        build_copy(
            tools,
            request.url,
            scratch,
            plans,
            all_tables=[t.name for t in tables] + [request.version_table],
            mask_key=mask_key_from(settings.environ),
            jobs=jobs,
        )
        archive.dump(tools, scratch, request.output, what="pg_dump of the sampled copy")
    return meta
