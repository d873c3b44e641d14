"""Read the environment's database as it is: its Alembic revision, its ledger, its schema.

`LiveDatabase` holds one read-only connection (application_name ``migration-gate-read``) for
the whole run; `read()` returns a `LiveState`. The schema snapshot leaves out Alembic's
version table and the ledger, which are bookkeeping, not the application's schema. A database
that cannot be reached is an `InfrastructureError` (exit 3) naming it with its password masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from migration_gate.db import engines, urls
from migration_gate.db.failure import error_text
from migration_gate.deploy import ledger
from migration_gate.deploy.lock import tagged
from migration_gate.deploy.section import LedgerRow
from migration_gate.errors import InfrastructureError
from migration_gate.snapshot import SchemaSnapshot, capture

__all__ = ["READ_APP", "LiveDatabase", "LiveState"]

READ_APP = "migration-gate-read"


@dataclass(frozen=True)
class LiveState:
    """The database at one moment."""

    #: the revisions in Alembic's version table ([] = never migrated)
    heads: tuple[str, ...]
    #: the ledger's rows, oldest first
    ledger: tuple[LedgerRow, ...]
    #: the ledger table exists
    has_ledger: bool
    #: the application's schema (no version table, no ledger)
    schema: SchemaSnapshot

    @property
    def objects(self) -> int:
        """How many tables, views, enum types, sequences and functions the schema holds."""
        s = self.schema
        return len(s.tables) + len(s.views) + len(s.enums) + len(s.sequences) + len(s.functions)


class LiveDatabase:
    """A reading connection to the environment's database."""

    def __init__(self, url: str, *, version_table: str, environment: str) -> None:
        self.url = url
        self.version_table = version_table
        self.environment = environment
        self.dialect = urls.dialect_of(url)
        self._engine = engines.engine(tagged(url, READ_APP))
        try:
            self._conn: Connection = self._engine.connect()
        except DBAPIError as exc:
            self._engine.dispose()
            raise InfrastructureError(
                f"{environment}: cannot connect to {urls.mask(url)}: {error_text(exc)}",
                hint="check the database URL and that the server is running",
            ) from None

    @property
    def server_version(self) -> str | None:
        info = self._conn.dialect.server_version_info
        return ".".join(str(p) for p in info[:2]) if info else None

    def heads(self) -> tuple[str, ...]:
        ctx = MigrationContext.configure(self._conn, opts={"version_table": self.version_table})
        found = tuple(sorted(ctx.get_current_heads()))
        self._conn.commit()
        return found

    def read(self, *, with_ledger: bool = True) -> LiveState:
        """Revision, ledger and schema, read now (without the ledger's rows: no rows)."""
        try:
            heads = self.heads()
            has_ledger = ledger.exists(self._conn)
            rows = tuple(ledger.read(self._conn)) if has_ledger and with_ledger else ()
            schema = capture(self._conn, ignore_tables=ledger.bookkeeping(self.version_table))
        except SQLAlchemyError as exc:
            if self._conn.in_transaction():
                self._conn.rollback()
            raise InfrastructureError(
                f"{self.environment}: cannot read {urls.mask(self.url)}: {error_text(exc)}",
                hint="the deploy's database user must be able to read the catalog, "
                f"{self.version_table} and {ledger.LEDGER_TABLE}",
            ) from None
        return LiveState(heads, rows, has_ledger, schema)

    def create_ledger(self) -> None:
        ledger.create(self._conn)

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            self._engine.dispose()

    def __enter__(self) -> LiveDatabase:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
