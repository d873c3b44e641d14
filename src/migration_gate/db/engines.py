"""The tool's own engines: one place that knows how to open a database the way the tool needs.

Synchronous, without a pool (NullPool: a connection is the tool's for as long as it holds it),
in SQLAlchemy 2.0 style on both SQLAlchemy 2 and 1.4 (`future=True` there), through the driver
`urls.sync_url` picks. A driver that is not installed is a ConfigError saying what to install
(on SQLAlchemy 1.4 that is psycopg2, which a project on psycopg 3 may not have).

`psycopg_connect` opens a plain psycopg 3 connection, without SQLAlchemy, for what only
psycopg 3 does (replay's COPY streams): psycopg 3 comes with the tool, while the engines of
SQLAlchemy 1.4 speak psycopg2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from migration_gate.db import urls
from migration_gate.errors import ConfigError

if TYPE_CHECKING:
    import psycopg

__all__ = ["engine", "psycopg_connect"]

#: the pip package of a driver, where its name differs from the driver's
_PACKAGES = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary"}


def engine(url: str | URL, *, autocommit: bool = False, **kwargs: Any) -> Engine:
    """An engine on `url` (any driver is mapped to its synchronous one)."""
    options: dict[str, Any] = {"poolclass": NullPool, **kwargs}
    if not urls.SQLALCHEMY_2:
        options["future"] = True
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
    target = urls.sync_url(url)
    try:
        return sa.create_engine(target, **options)
    except ImportError as exc:  # create_engine imports the driver
        raise _missing_driver(target, exc) from None


def psycopg_connect(url: str | URL) -> psycopg.Connection[Any]:
    """A psycopg 3 connection to the PostgreSQL database of `url` (any driver named in it),
    on SQLAlchemy 2 and 1.4 alike; raises psycopg's own error when it cannot connect."""
    import psycopg  # not at import time: the CLI starts without it

    u = urls.sync_url(url)
    params: dict[str, Any] = u.translate_connect_args(username="user", database="dbname")
    params.update({k: v if isinstance(v, str) else v[-1] for k, v in u.query.items()})
    return psycopg.connect(**params)


def _missing_driver(url: URL, exc: ImportError) -> ConfigError:
    driver, backend = url.get_driver_name(), url.get_backend_name()
    hint = f"pip install {_PACKAGES.get(driver, driver)}"
    if driver == "psycopg2" and not urls.SQLALCHEMY_2:
        hint += (
            ", or upgrade to SQLAlchemy 2: SQLAlchemy 1.4 has no psycopg 3 dialect, so"
            " migration-gate reaches PostgreSQL through psycopg2 there"
        )
    return ConfigError(
        f"the {driver} driver for {backend} is not installed ({urls.mask_text(str(exc))})",
        hint=hint,
    )
