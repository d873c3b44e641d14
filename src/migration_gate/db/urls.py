"""Database URLs: masking passwords for output, and telling dialects and drivers apart.

Every URL that reaches a message, a log line or a report goes through `mask` first, and every
line the CLI prints through `mask_text`. A password can sit in a URL's userinfo
(`postgresql://u:PW@h/db`), in its query (`?password=PW`), or in a libpq connection string
(`host=h password=PW`); all three are masked. Passwords of the URLs the tool was given are
also remembered (`remember_secrets`) and masked wherever else they appear, encoded or not.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus, unquote

import sqlalchemy
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from migration_gate.errors import ConfigError

__all__ = [
    "PG_ASYNC_DRIVER",
    "PG_DRIVER",
    "SQLALCHEMY_2",
    "dialect_of",
    "mask",
    "mask_text",
    "parse",
    "remember_secrets",
    "scrub_known",
    "sync_url",
]

#: SQLAlchemy 2 speaks psycopg 3; 1.4 (still supported: the tool runs with the user's
#: SQLAlchemy) only psycopg2
SQLALCHEMY_2 = int(sqlalchemy.__version__.split(".")[0]) >= 2
PG_DRIVER = "psycopg" if SQLALCHEMY_2 else "psycopg2"
PG_ASYNC_DRIVER = "psycopg_async" if SQLALCHEMY_2 else "asyncpg"
_ASYNC_TO_SYNC = {
    "asyncpg": PG_DRIVER,
    "psycopg_async": PG_DRIVER,
    "aiosqlite": "pysqlite",
}
_PASSWORD_IN_TEXT = re.compile(
    r"(?P<pre>[a-z0-9+_.-]+://[^:/@\s]*:)(?P<pw>[^@\s]+)(?P<post>@)", re.I
)
#: a `user:password@host` fragment without a scheme (a malformed URL)
_USERINFO = re.compile(r"(?P<pre>[^\s:/@]+:)(?P<pw>[^\s@/]+)(?P<post>@)")
#: `password=...` in a URL's query or a libpq key=value string (quoted or not)
_PASSWORD_PARAM = re.compile(
    r"(?P<pre>\b(?:password|passwd|pwd|sslpassword)\s*=\s*)"
    r"(?P<pw>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;'\"]+)",
    re.I,
)
#: passwords of the URLs this process was given, masked wherever they appear
_SECRETS: set[str] = set()


def remember_secrets(url: str | URL | None) -> None:
    """Remember the password(s) of a URL (or libpq string) the tool was given, so that
    `mask_text` hides them wherever they turn up, plain or percent-encoded."""
    if url is None:
        return
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    found = [m["pw"] for m in _PASSWORD_IN_TEXT.finditer(text)]
    found += [m["pw"].strip("'\"") for m in _PASSWORD_PARAM.finditer(text)]
    for pw in found:
        for form in {pw, unquote(pw), quote(unquote(pw), safe=""), quote_plus(unquote(pw))}:
            if len(form) >= 3:  # a one- or two-letter "password" would mask half the output
                _SECRETS.add(form)


_LIBPQ = re.compile(r"^\s*[a-z_]+\s*=", re.I)


def _from_libpq(text: str) -> URL | None:
    """`host=h port=5432 user=u password=p dbname=d` (a libpq connection string) as a URL."""
    if not _LIBPQ.match(text):
        return None
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = {k: str(v) for k, v in conninfo_to_dict(text).items()}
    except Exception:
        return None
    port = params.pop("port", None)
    return URL.create(
        f"postgresql+{PG_DRIVER}",
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None),
        port=int(port) if port and port.isdigit() else None,
        database=params.pop("dbname", None),
        query=params,
    )


def parse(url: str | URL) -> URL:
    """Parse a URL (or a libpq connection string) or raise a ConfigError that names the
    problem (with the password masked)."""
    if isinstance(url, URL):
        return url
    libpq = _from_libpq(url)
    if libpq is not None:
        return libpq
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"not a database URL: {_shape(url)}",
            hint="use e.g. postgresql://user@host:5432/db (a password goes after the user and a colon) or sqlite:///path.db",
        ) from None


def _shape(text: str) -> str:
    """What can be shown of a value that does not parse (it may hold a password anywhere):
    its scheme, if it has one, and its length."""
    scheme = text.split("://", 1)[0] if "://" in text else None
    shown = f"{scheme}://..." if scheme and scheme.replace("+", "").isalnum() else "a value"
    return f"{shown} of {len(text)} characters (not shown: it may hold a password)"


def mask(url: str | URL) -> str:
    """The URL as text with its password replaced by ***, wherever the password sits."""
    try:
        return mask_text(parse(url).render_as_string(hide_password=True))
    except (ConfigError, ValueError):
        return mask_text(str(url))


def scrub_known(text: str) -> str:
    """Replace the passwords of the URLs this process was given, wherever they appear, by
    ``***``; nothing else changes (safe on JSON, XML and SQL: the last line of defence for
    reports, whose URLs are masked where they are built)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def mask_text(text: str) -> str:
    """Mask every password in free text: URL userinfo, `password=` parameters, and the
    passwords of the URLs this process was given."""
    text = scrub_known(text)
    text = _PASSWORD_IN_TEXT.sub(lambda m: f"{m['pre']}***{m['post']}", text)
    text = _USERINFO.sub(lambda m: f"{m['pre']}***{m['post']}", text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['pre']}***", text)


def dialect_of(url: str | URL) -> str:
    """'postgresql' or 'sqlite' (or whatever the backend name is)."""
    return parse(url).get_backend_name()


def sync_url(url: str | URL) -> URL:
    """The same database through a synchronous driver (asyncpg → psycopg, aiosqlite →
    pysqlite), and for a plain postgresql:// URL the driver we ship (psycopg 3; psycopg2 under
    SQLAlchemy 1.4, which has no psycopg 3 dialect)."""
    u = parse(url)
    backend, driver = u.get_backend_name(), u.get_driver_name()
    if driver in _ASYNC_TO_SYNC:
        return u.set(drivername=f"{backend}+{_ASYNC_TO_SYNC[driver]}")
    if backend == "postgresql" and ("+" not in u.drivername or driver == "psycopg"):
        return u.set(drivername=f"postgresql+{PG_DRIVER}")
    return u
