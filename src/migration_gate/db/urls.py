"""Database URLs: masking passwords for output, and telling dialects and drivers apart.

Every URL that reaches a message, a log line or a report goes through `mask` first.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from migration_gate.errors import ConfigError

__all__ = ["dialect_of", "mask", "mask_text", "parse", "sync_url"]

_ASYNC_TO_SYNC = {
    "asyncpg": "psycopg",
    "psycopg_async": "psycopg",
    "aiosqlite": "pysqlite",
}
_PASSWORD_IN_TEXT = re.compile(
    r"(?P<pre>[a-z0-9+_.-]+://[^:/@\s]*:)(?P<pw>[^@\s]+)(?P<post>@)", re.I
)
#: a `user:password@host` fragment without a scheme (a malformed URL)
_USERINFO = re.compile(r"(?P<pre>[^\s:/@]+:)(?P<pw>[^\s@/]+)(?P<post>@)")


def parse(url: str | URL) -> URL:
    """Parse a URL or raise a ConfigError that names the problem (with the password masked)."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"not a database URL: {mask_text(url)!r}",
            hint="use e.g. postgresql://user:password@host:5432/db or sqlite:///path.db",
        ) from None


def mask(url: str | URL) -> str:
    """The URL as text with its password replaced by ***."""
    try:
        return parse(url).render_as_string(hide_password=True)
    except ConfigError:
        return mask_text(str(url))


def mask_text(text: str) -> str:
    """Mask every `scheme://user:password@` password that appears in free text."""
    text = _PASSWORD_IN_TEXT.sub(lambda m: f"{m['pre']}***{m['post']}", text)
    return _USERINFO.sub(lambda m: f"{m['pre']}***{m['post']}", text)


def dialect_of(url: str | URL) -> str:
    """'postgresql' or 'sqlite' (or whatever the backend name is)."""
    return parse(url).get_backend_name()


def sync_url(url: str | URL) -> URL:
    """The same database through a synchronous driver (asyncpg → psycopg, aiosqlite → pysqlite),
    and psycopg 3 for a plain postgresql:// URL, since that is the driver we ship."""
    u = parse(url)
    backend, driver = u.get_backend_name(), u.get_driver_name()
    if driver in _ASYNC_TO_SYNC:
        return u.set(drivername=f"{backend}+{_ASYNC_TO_SYNC[driver]}")
    if backend == "postgresql" and "+" not in u.drivername:
        return u.set(drivername="postgresql+psycopg")
    return u
