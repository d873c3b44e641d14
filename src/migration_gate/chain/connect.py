"""How the step runner connects, and the URL it gives env.py.

`runner_engine` is the engine of the runner's own connection; `async_env` tells whether
env.py migrates on an async engine (Alembic's async template), and `env_url` is then the URL
with the async driver env.py needs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from migration_gate.db import engines, urls
from migration_gate.errors import ConfigError

__all__ = ["async_env", "env_url", "runner_engine"]


def runner_engine(url: str) -> Engine:
    """A synchronous engine for the tool's own connection. SQLite connections may be used
    from the `invoke` thread; psycopg prepares no statement, so a table whose columns a
    migration changes never meets a cached plan ("cached plan must not change result type":
    psycopg forgets its prepared statements after an ALTER, not after a DO block)."""
    sync = urls.sync_url(url)
    args: dict[str, Any] = {}
    if sync.get_backend_name() == "sqlite":
        args["check_same_thread"] = False
    elif sync.get_driver_name() == "psycopg":
        args["prepare_threshold"] = None
    return engines.engine(sync, connect_args=args)


#: what an env.py that runs the migrations on an async engine calls (Alembic's async template)
_ASYNC_ENV = re.compile(r"\b(async_engine_from_config|create_async_engine|AsyncEngine)\b")


def async_env(script: ScriptDirectory) -> bool:
    env = Path(script.dir, "env.py")
    try:
        return bool(_ASYNC_ENV.search(env.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def env_url(url: str, is_async: bool) -> str:
    """The URL env.py connects to: an async driver for an async env.py."""
    if not is_async:
        return url
    u = urls.parse(url)
    backend = u.get_backend_name()
    driver = {"sqlite": "aiosqlite", "postgresql": urls.PG_ASYNC_DRIVER}.get(backend)
    if driver is None or u.get_driver_name() in ("aiosqlite", "asyncpg", "psycopg_async"):
        return url
    if driver == "aiosqlite" and importlib.util.find_spec("aiosqlite") is None:
        raise ConfigError(
            "env.py runs the migrations on an async engine, and SQLite needs the aiosqlite "
            "driver for that, which is not installed",
            hint="pip install aiosqlite, or run with --dialect postgresql",
        )
    return u.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)
