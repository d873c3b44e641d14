"""Alembic environment of the reference chat service.

Connection sharing (Alembic's documented pattern): a caller such as migration-gate passes its
own open connection in ``config.attributes["connection"]`` and it is used as is. Otherwise an
engine is made from the configured ``sqlalchemy.url``; ``DATABASE_URL`` replaces that URL only
while it is still the placeholder written in ``alembic.ini`` (a URL set by a tool wins).
"""

from __future__ import annotations

import os
import sys
from logging.config import fileConfig
from pathlib import Path

import sqlalchemy as sa
from alembic import context
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from app.models import Base  # noqa: E402  (needs the repository root on sys.path)

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL to migrate: the configured one, or DATABASE_URL instead of the ini placeholder."""
    url = config.get_main_option("sqlalchemy.url")
    from_environment = os.environ.get("DATABASE_URL")
    if from_environment and config.config_file_name is not None:
        placeholder = Config(config.config_file_name, ini_section=config.config_ini_section)
        if url == placeholder.get_main_option("sqlalchemy.url"):
            return from_environment
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or DATABASE_URL")
    return url


def run_migrations_offline() -> None:
    """Render the migrations as SQL for the configured URL's dialect (``alembic upgrade --sql``)."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with_connection(connection: Connection) -> None:
    """Run the migrations on an open connection, in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # wait at most this long for a lock on a live table, then fail (and roll back)
            context.execute("SET LOCAL lock_timeout = '5s'")
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection when one was given, else connect to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with_connection(connection)
        return
    engine = sa.create_engine(database_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            run_with_connection(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
