"""A sampled and/or masked copy of a PostgreSQL database, built in a scratch database.

In one REPEATABLE READ transaction of the source (its snapshot exported, so that pg_dump
sees the very same data): pg_dump the schema and the sequences without any table data;
restore the pre-data section into the scratch database; pick each table's rows into a
temporary table of the source session (`sample.plan_copy`); stream each table as
`COPY (SELECT <masked columns> ...) TO STDOUT` straight into `COPY ... FROM STDIN` of the
scratch database, chunk by chunk (no table is ever held in memory); then restore the rest
(sequence values, indexes, constraints, triggers), which also proves that every foreign
key and unique constraint still holds. The source is only read, but for the temporary
tables of its own session.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from migration_gate.db import engines, urls
from migration_gate.db.failure import error_text
from migration_gate.db.pgtools import PgTools
from migration_gate.errors import ConfigError, InfrastructureError
from migration_gate.replay import archive
from migration_gate.replay.mask import KEY_SETTING
from migration_gate.replay.sample import TablePlan, qident, qtable

__all__ = ["build_copy", "driver_connection"]


@contextlib.contextmanager
def driver_connection(url: str, what: str) -> Iterator[psycopg.Connection[Any]]:
    """A psycopg 3 connection in autocommit mode (transactions are explicit), whichever
    driver SQLAlchemy uses (psycopg2 on SQLAlchemy 1.4)."""
    try:
        conn = engines.psycopg_connect(url)
    except psycopg.Error as exc:
        raise InfrastructureError(
            f"cannot connect to {what} at {urls.mask(url)}: {error_text(exc)}",
            hint="check the URL and that the server is running",
        ) from None
    try:
        conn.autocommit = True
        yield conn
    finally:
        conn.close()


def _pick(cur: psycopg.Cursor[Any], plan: TablePlan) -> None:
    if plan.keys is None:
        return
    try:
        cur.execute(plan.keys.encode())
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ConfigError(
            f"--sample needs temporary tables in the source database: {exc}".splitlines()[0],
            hint="grant TEMP on the database to the snapshot's user, or leave --sample out",
        ) from None
    if plan.prune is not None:
        while True:
            cur.execute(plan.prune.encode())
            if not cur.rowcount:
                break
    cur.execute(f"ANALYZE {plan.key_table}".encode())


def _stream(src: psycopg.Connection[Any], dst: psycopg.Connection[Any], plan: TablePlan) -> None:
    cols = ", ".join(qident(c) for c in plan.columns)
    try:
        _pipe(src, dst, plan, cols)
    except psycopg.Error as exc:
        raise InfrastructureError(
            f"copying {plan.name} failed: {urls.mask_text(str(exc).strip().splitlines()[0])}",
            hint="run with --debug; a mask that does not fit the column is a bug to report",
        ) from None


def _pipe(
    src: psycopg.Connection[Any], dst: psycopg.Connection[Any], plan: TablePlan, cols: str
) -> None:
    with (
        src.cursor() as rc,
        dst.cursor() as wc,
        rc.copy(f"COPY ({plan.select}) TO STDOUT".encode()) as out,
        wc.copy(f"COPY {qtable(plan.name)} ({cols}) FROM STDIN".encode()) as into,
    ):
        for chunk in out:
            into.write(chunk)


def build_copy(
    tools: PgTools,
    source_url: str,
    scratch_url: str,
    plans: Sequence[TablePlan],
    *,
    all_tables: Sequence[str],
    mask_key: str | None = None,
    jobs: int = 1,
) -> None:
    """Fill the empty database at `scratch_url` with the copy `plans` describe."""
    key = mask_key or secrets.token_hex(32)
    with (
        tempfile.TemporaryDirectory(prefix="mgsnap-") as tmp,
        driver_connection(source_url, "the source database") as src,
        driver_connection(scratch_url, "the scratch database") as dst,
    ):
        schema = Path(tmp) / "schema.dump"
        with src.cursor() as cur:
            cur.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                cur.execute(b"SELECT pg_export_snapshot()")
                row = cur.fetchone()
                assert row is not None
                archive.dump(
                    tools,
                    source_url,
                    schema,
                    exclude_data=all_tables,
                    snapshot=str(row[0]),
                    what="pg_dump of the source's schema",
                )
                archive.restore(
                    tools, scratch_url, schema, section="pre-data", what="restoring the schema"
                )
                cur.execute(b"SELECT set_config(%s, %s, false)", (KEY_SETTING, key))
                for plan in plans:
                    _pick(cur, plan)
                dst.execute(b"BEGIN")
                for plan in plans:
                    _stream(src, dst, plan)
                dst.execute(b"COMMIT")
            finally:
                cur.execute(b"ROLLBACK")
        for section in ("data", "post-data"):
            archive.restore(
                tools,
                scratch_url,
                schema,
                section=section,
                jobs=jobs if section == "post-data" else 1,
                what="checking the copy's keys and constraints"
                if section == "post-data"
                else "restoring the sequences",
            )


def mask_key_from(environ: Mapping[str, str]) -> str | None:
    """MIGRATION_GATE_MASK_KEY: the same key masks the same value alike across snapshots."""
    return environ.get("MIGRATION_GATE_MASK_KEY") or None
