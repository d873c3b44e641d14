"""The ledger: ``migration_gate_ledger``, one row per revision a deploy applied or failed.

The table lives in the environment's own database, beside Alembic's version table. A row
for an applied revision is written inside the revision's own transaction (by `hooks`), so
the ledger and the version table can never disagree; a failed revision's row is written
after its rollback. `read` returns the rows oldest first; `latest_applied` is the checksum
each revision had when it was last applied, which `preflight` compares with the files
(post-mortem 004). The table has no sequence and no server-side default, so it adds
nothing to the schema a drift check sees besides itself (and it is left out of that).
"""

from __future__ import annotations

import datetime as dt
import getpass
import platform
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration_gate.deploy.section import LedgerRow

__all__ = [
    "LEDGER_TABLE",
    "Checked",
    "bookkeeping",
    "create",
    "deployed_by",
    "exists",
    "insert",
    "insert_checked",
    "latest_applied",
    "now_iso",
    "read",
]

LEDGER_TABLE = "migration_gate_ledger"

_metadata = sa.MetaData()
table = sa.Table(
    LEDGER_TABLE,
    _metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("revision", sa.String(255), nullable=False),
    sa.Column("checksum", sa.String(100)),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("deployed_by", sa.String(500), nullable=False),
    sa.Column("tool_version", sa.String(40), nullable=False),
    sa.Column("environment", sa.String(100)),
    sa.Column("error", sa.Text),
)


def bookkeeping(version_table: str) -> tuple[str, str]:
    """The tables that record migrations rather than hold the schema (Alembic's version
    table and the ledger): left out wherever a database's schema is read to be compared."""
    return (version_table, LEDGER_TABLE)


def now_iso() -> str:
    """The current time, UTC, ISO 8601 (what `started_at` holds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def deployed_by(environ: Mapping[str, str]) -> str:
    """Who deploys: the CI run's URL on GitHub Actions, else user@host."""
    server, repo, run = (
        environ.get("GITHUB_SERVER_URL"),
        environ.get("GITHUB_REPOSITORY"),
        environ.get("GITHUB_RUN_ID"),
    )
    if server and repo and run:
        attempt = environ.get("GITHUB_RUN_ATTEMPT")
        return f"{server}/{repo}/actions/runs/{run}" + (f"/attempts/{attempt}" if attempt else "")
    if environ.get("CI_JOB_URL"):  # GitLab
        return environ["CI_JOB_URL"]
    user = environ.get("USER") or environ.get("LOGNAME")
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
    return f"{user}@{platform.node() or 'unknown'}"


def exists(conn: Connection) -> bool:
    found = sa.inspect(conn).has_table(LEDGER_TABLE)
    if conn.in_transaction():
        conn.commit()
    return found


def create(conn: Connection) -> None:
    """Create the table when it is missing (its own committed transaction)."""
    table.create(conn, checkfirst=True)
    conn.commit()


def read(conn: Connection) -> list[LedgerRow]:
    """Every row, oldest first; [] when there is no ledger yet."""
    if not exists(conn):
        return []
    rows = conn.execute(sa.select(table).order_by(table.c.started_at, table.c.id)).mappings()
    out = [LedgerRow.from_dict({**row, "started_at": _iso(row["started_at"])}) for row in rows]
    conn.commit()
    return out


def insert(conn: Connection, row: LedgerRow) -> None:
    """Add `row` in the connection's current transaction (the caller commits)."""
    conn.execute(table.insert().values(id=uuid.uuid4().hex, **_values(row)))


#: `insert_checked`, as driver SQL (psycopg's format: it runs once per revision, so it is
#: not built and compiled by SQLAlchemy every time): the settings in force and the lock check
#: first (a CTE read twice is computed once, before the outer SELECT sets the values back),
#: the row only while the lock is held. {held} is SQL that is true while it is.
_PG_INSERT_CHECKED = (
    "WITH seen AS (SELECT current_setting('lock_timeout') AS lt, "
    "current_setting('statement_timeout') AS st, {held} AS held), "
    f"row AS (INSERT INTO {LEDGER_TABLE} (id, revision, checksum, direction, status, "
    "started_at, duration, deployed_by, tool_version, environment, error) SELECT %(id)s, "
    "%(revision)s, %(checksum)s, %(direction)s, %(status)s, %(started_at)s, %(duration)s, "
    "%(deployed_by)s, %(tool_version)s, %(environment)s, %(error)s FROM seen WHERE held) "
    "SELECT lt, st, held, set_config('lock_timeout', %(restore_lock)s, false), "
    "set_config('statement_timeout', %(restore_stmt)s, false) FROM seen"
)


@dataclass(frozen=True)
class Checked:
    """What `insert_checked` found."""

    #: lock_timeout and statement_timeout in force when the row went in (before restoring)
    lock_timeout: str
    statement_timeout: str
    #: the deploy lock was held (else no row was written)
    held: bool


def insert_checked(
    conn: Connection,
    row: LedgerRow,
    *,
    restore: Mapping[str, str],
    held: str = "true",
    params: Mapping[str, object] | None = None,
) -> Checked:
    """PostgreSQL, one statement in the connection's current transaction (the caller
    commits): add `row` if `held` (SQL, with `params`) is true, return the timeouts in force,
    and set them to `restore` (lock_timeout, statement_timeout) for the session."""
    values = {
        "id": uuid.uuid4().hex,
        **_values(row),
        **(params or {}),
        "restore_lock": restore["lock_timeout"],
        "restore_stmt": restore["statement_timeout"],
    }
    found = conn.exec_driver_sql(_PG_INSERT_CHECKED.format(held=held), values).one()
    return Checked(str(found[0]), str(found[1]), bool(found[2]))


def _values(row: LedgerRow) -> dict[str, object]:
    return {
        "revision": row.revision,
        "checksum": row.checksum,
        "direction": row.direction,
        "status": row.status,
        "started_at": dt.datetime.fromisoformat(row.started_at),
        "duration": row.duration,
        "deployed_by": row.deployed_by[:500],
        "tool_version": row.tool_version,
        "environment": row.environment,
        "error": row.error,
    }


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite keeps no zone: the ledger writes UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return str(value)


def latest_applied(rows: Sequence[LedgerRow]) -> dict[str, LedgerRow]:
    """revision -> its last row with status "applied" (the checksum it ran with)."""
    out: dict[str, LedgerRow] = {}
    for row in rows:
        if row.status == "applied" and row.direction == "upgrade":
            out[row.revision] = row
    return out
