"""A database error as one line and a code: what every message quotes of a failed statement.

`error_text` gives the database's own error when there is one (else the Python exception),
one line per fact, passwords masked; `error_code` gives the code behind it, PostgreSQL's
SQLSTATE or SQLite's extended result name, so callers decide on codes, not on wording.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from migration_gate.db import urls

__all__ = ["error_code", "error_text"]


def error_text(exc: BaseException) -> str:
    """The database's own error when there is one, else the Python exception, one line
    per fact, passwords masked."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig).strip()
        name = type(exc.orig).__name__
    else:
        text = str(exc).strip()
        name = type(exc).__name__
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()][:4]
    return urls.mask_text(f"{name}: {' | '.join(lines)}" if lines else name)


def error_code(exc: BaseException) -> str | None:
    """The database's code for the error that `exc` is or wraps: PostgreSQL's SQLSTATE
    (`23502`), SQLite's extended result name (`SQLITE_CONSTRAINT_NOTNULL`); None when no
    database error is behind it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = current.orig if isinstance(current, DBAPIError) else current
        for attr in ("sqlstate", "pgcode", "sqlite_errorname"):  # psycopg, psycopg2, sqlite3
            code = getattr(orig, attr, None)
            if isinstance(code, str) and code:
                return code
        current = current.__cause__ or current.__context__
    return None
