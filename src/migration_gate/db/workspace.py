"""Where a walk works: a database URL that can be replaced by a fresh, empty one.

A walk rebuilds its database when a downgrade failed or left a trace. Given a provider
(the CLI), a rebuild is a new scratch database and the old one is dropped. Given only a
URL (the Python API), a rebuild empties that database: every table, type and function of
its non-system schemas on PostgreSQL, the file on SQLite.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Protocol

import sqlalchemy as sa

from migration_gate.db import engines, urls
from migration_gate.db.failure import error_text
from migration_gate.db.provision import Provider
from migration_gate.errors import ConfigError, InfrastructureError

__all__ = ["ProviderWorkspace", "ResetWorkspace", "Workspace", "workspace_for_url"]


class Workspace(Protocol):
    url: str

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        ...

    def fresh(self) -> str:
        """Replace the database with an empty one and return its URL."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Workspace: ...

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class ProviderWorkspace:
    """Scratch databases from a provider; the current one is dropped when replaced."""

    def __init__(self, provider: Provider, label: str, url: str | None = None) -> None:
        self.provider = provider
        self.label = label
        self.url = url or provider.scratch(label)

    @property
    def dialect(self) -> str:
        return urls.dialect_of(self.url)

    def fresh(self) -> str:
        old, self.url = self.url, self.provider.scratch(self.label)
        self.provider.drop(old)
        return self.url

    def close(self) -> None:
        self.provider.drop(self.url)

    def __enter__(self) -> ProviderWorkspace:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ResetWorkspace:
    """The one database the caller gave; `fresh` empties it in place."""

    def __init__(self, url: str) -> None:
        self.url = url
        u = urls.parse(url)
        if u.get_backend_name() == "sqlite" and (not u.database or u.database == ":memory:"):
            raise ConfigError(
                "an in-memory SQLite URL cannot be walked (each connection sees its own database)",
                hint="use a file: sqlite:///path/to/scratch.db",
            )

    @property
    def dialect(self) -> str:
        return urls.dialect_of(self.url)

    def ensure_empty(self) -> None:
        """Refuse a database that already holds tables: the walk would fail on them, and
        its rebuilds empty the database in place."""
        u = urls.parse(self.url)
        if u.get_backend_name() == "sqlite" and not Path(u.database or "").exists():
            return
        query = (
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            if u.get_backend_name() == "sqlite"
            else "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'v', 'm', 'p', 'S') AND n.nspname NOT LIKE 'pg\\_%' "
            "AND n.nspname <> 'information_schema'"
        )
        engine = engines.engine(u)
        try:
            with engine.connect() as conn:
                names = conn.execute(sa.text(query)).scalars().all()
        except sa.exc.SQLAlchemyError as exc:
            raise InfrastructureError(
                f"cannot connect to {urls.mask(self.url)}: {error_text(exc)}",
                hint="check the URL and that the database server is running",
            ) from None
        finally:
            engine.dispose()
        if names:
            raise ConfigError(
                f"the database at {urls.mask(self.url)} is not empty "
                f"({len(names)} table(s), e.g. {sorted(names)[0]})",
                hint="roundtrip works in an empty scratch database it may reset; give it one",
            )

    def fresh(self) -> str:
        u = urls.parse(self.url)
        if u.get_backend_name() == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path((u.database or "") + suffix).unlink(missing_ok=True)
            return self.url
        engine = engines.engine(u, autocommit=True)
        try:
            with engine.connect() as conn:
                schemas = (
                    conn.execute(
                        sa.text(
                            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                            "AND nspname <> 'information_schema'"
                        )
                    )
                    .scalars()
                    .all()
                )
                for name in schemas:
                    conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
                conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS public"))
        finally:
            engine.dispose()
        return self.url

    def close(self) -> None:
        """The caller's database stays; nothing to drop."""

    def __enter__(self) -> ResetWorkspace:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def workspace_for_url(url: str) -> ResetWorkspace:
    return ResetWorkspace(url)
