"""Capture the SQL a revision really sends, statement by statement, while the step runner runs it.

Alembic's offline ``--sql`` mode renders what a migration *would* send and aborts on migrations
that read from the database; this module records what it *does* send instead. A `SqlCapture`
listens to SQLAlchemy's ``before_cursor_execute`` event on every engine (so an env.py that opens
its own engine is seen too) only inside the window of one step, and keeps each statement with
its parameters rendered inline, the line of the revision file that issued it, and how many
parameter sets an ``executemany`` had. Bookkeeping is left out: the version table, and the
catalog queries SQLAlchemy and Alembic make to look around (``pg_catalog``, ``information_schema``,
``SHOW``, the dialect's first-connect probes).

`rendered_script` turns a revision's statements into one SQL text, each statement ending with
``;``, and returns where each statement starts, so a line reported by a SQL linter maps back.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import os
import re
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "CapturedStatement",
    "SqlCapture",
    "is_bookkeeping",
    "render_literal",
    "render_statement",
    "rendered_script",
    "statement_at",
]

#: SQL-standard catalogs and probes that only look around; never part of what a revision does
_CATALOG = re.compile(
    r"^\s*(select|with)\b.*\b(pg_catalog\.|information_schema\.|pg_class\b|pg_namespace\b|"
    r"pg_type\b|pg_attribute\b|pg_index\b|pg_constraint\b|pg_enum\b)",
    re.I | re.S,
)
_PROBES = re.compile(
    r"^\s*(show\s|select\s+(pg_catalog\.)?version\(\)|select\s+current_schema\(\)|"
    r"select\s+current_setting\(|pragma\s)",
    re.I,
)


@dataclass(frozen=True)
class CapturedStatement:
    """One statement sent to the database during a step."""

    sql: str
    #: line of the revision file that sent it (innermost frame in that file), if any
    line: int | None = None
    #: number of parameter sets of an executemany (the SQL shows the first one)
    executemany: int = 0
    #: sent outside the migration's transaction (Alembic's ``autocommit_block``)
    autocommit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "line": self.line,
            "executemany": self.executemany,
            "autocommit": self.autocommit,
        }


def is_bookkeeping(sql: str, version_table: str = "alembic_version") -> bool:
    """True for the version table's upkeep and for read-only catalog queries and probes."""
    if re.search(rf"\b{re.escape(version_table)}\b", sql, re.I):
        return True
    return bool(_CATALOG.match(sql) or _PROBES.match(sql))


def render_literal(value: Any) -> str:
    """A Python parameter value as a PostgreSQL literal, for reading (not for executing)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "'\\x" + bytes(value).hex() + "'::bytea"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _quote(value.isoformat())
    if isinstance(value, (dict, list)):
        return _quote(json.dumps(value, sort_keys=True, default=str))
    if isinstance(value, (tuple, set, frozenset)):
        return "(" + ", ".join(render_literal(v) for v in value) + ")"
    if isinstance(value, uuid.UUID):
        return _quote(str(value))
    return _quote(str(value))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_NAMED = re.compile(r"%\((\w+)\)s")
_POSITIONAL = re.compile(r"%s")


def render_statement(statement: str, parameters: Any) -> str:
    """`statement` with its pyformat / format parameters (psycopg) written inline."""
    if parameters is None:
        return statement
    if isinstance(parameters, Mapping):
        text = _NAMED.sub(
            lambda m: (
                render_literal(parameters[m.group(1)]) if m.group(1) in parameters else m.group(0)
            ),
            statement,
        )
        return text.replace("%%", "%")
    if isinstance(parameters, Sequence) and not isinstance(parameters, (str, bytes)):
        values = iter(parameters)
        text = _POSITIONAL.sub(lambda m: render_literal(next(values, None)), statement)
        return text.replace("%%", "%")
    return statement


def _source_line(path: str | None) -> int | None:
    """Line of the innermost frame running `path` (the revision file), if it is on the stack."""
    if not path:
        return None
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name == path or _real(name) == path:
            return frame.f_lineno
        frame = frame.f_back
    return None


@functools.lru_cache(maxsize=1024)
def _real(filename: str) -> str:
    """A code object's file name as an absolute path (Alembic may load a relative one)."""
    return os.path.realpath(filename)


class SqlCapture:
    """Records statements sent by any engine while `window(path)` is open.

    Use as a context manager around a whole walk; open one `window` per step::

        with SqlCapture() as cap:
            with cap.window(revision_file):
                runner.upgrade(rev)
            statements = cap.take()
    """

    def __init__(self, *, version_table: str = "alembic_version") -> None:
        self.version_table = version_table
        self._open = False
        self._path: str | None = None
        self._statements: list[CapturedStatement] = []

    def __enter__(self) -> SqlCapture:
        event.listen(Engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        event.remove(Engine, "before_cursor_execute", self._on_execute)

    class _Window:
        def __init__(self, capture: SqlCapture, path: Path | None) -> None:
            self.capture = capture
            self.path = os.path.realpath(path) if path is not None else None

        def __enter__(self) -> None:
            self.capture._open = True
            self.capture._path = self.path

        def __exit__(
            self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
        ) -> None:
            self.capture._open = False
            self.capture._path = None

    def window(self, path: Path | None = None) -> SqlCapture._Window:
        """Record statements while open; `path` is the revision file (for source lines)."""
        return SqlCapture._Window(self, path)

    def take(self) -> list[CapturedStatement]:
        """The statements recorded since the last `take`, and forget them."""
        out, self._statements = self._statements, []
        return out

    def _on_execute(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if not self._open or is_bookkeeping(statement, self.version_table):
            return
        many = 0
        first = parameters
        if executemany and isinstance(parameters, Sequence) and parameters:
            many, first = len(parameters), parameters[0]
        self._statements.append(
            CapturedStatement(
                sql=render_statement(statement, first).strip(),
                line=_source_line(self._path),
                executemany=many,
                autocommit=conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT",
            )
        )


def rendered_script(statements: Sequence[CapturedStatement]) -> tuple[str, list[int]]:
    """(one SQL text, the 1-based line where each statement starts in it).

    Each statement ends with ``;`` and is followed by a blank line; an executemany is
    preceded by a comment saying how many parameter sets ran. Statements sent outside the
    migration's transaction are framed by ``COMMIT;`` and ``BEGIN;``, as they ran.
    """
    lines: list[str] = []
    starts: list[int] = []
    outside = False
    for st in statements:
        if st.autocommit != outside:
            lines.extend(["COMMIT;" if st.autocommit else "BEGIN;", ""])
            outside = st.autocommit
        if st.executemany > 1:
            lines.append(
                f"-- executed {st.executemany} times (executemany); first parameters shown"
            )
        starts.append(len(lines) + 1)
        body = [ln.rstrip() for ln in st.sql.rstrip().rstrip(";").rstrip().splitlines()] or [""]
        lines.extend(body)
        lines[-1] += ";"
        lines.append("")
    if outside:
        lines.extend(["BEGIN;", ""])
    return "\n".join(lines), starts


def statement_at(starts: Sequence[int], line: int) -> int | None:
    """Index of the statement that contains 1-based `line` of a rendered script."""
    index = None
    for i, start in enumerate(starts):
        if start <= line:
            index = i
        else:
            break
    return index
