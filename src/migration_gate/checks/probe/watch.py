"""Which statements may have changed rows: what lets the data probe skip untouched tables.

The probe reads each table's row count and probe rows before and after every upgrade. On a
long chain that is most of the walk's time, and almost all of it re-reads tables that no
statement touched. `DataWatch` listens to the statements of the walk's connection and
counts an *epoch* each time one may have changed rows that the snapshots cannot show:
anything but DDL, reads of the catalogs or of the version table, transaction control and
the like (`may_change_rows`). DDL changes rows only of the tables it alters, and the
snapshots show those: a table that a statement altered (even back to the same schema, as a
column dropped and added again) or dropped and created again is a new object there.
So a table whose `Table` object and epoch are those of the probe's last read holds the
rows the probe read; everything else is read again. When in doubt, a statement counts.

The watch also keeps the statements that delete, update or change tables (`Sent`, with the
rows the database says they touched), so that a finding can name what happened ("3 rows
deleted by DELETE FROM orders WHERE ..."). It sees only the walk's own connection: what an
env.py sends through a connection of its own is counted (`bump`) but not named.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

__all__ = ["DataWatch", "Sent", "may_change_rows"]

#: first words of statements that change no rows (transaction control, settings, reads of
#: settings, locks, maintenance)
_QUIET = frozenset(
    {
        "begin",
        "start",
        "commit",
        "end",
        "rollback",
        "savepoint",
        "release",
        "set",
        "reset",
        "show",
        "pragma",
        "explain",
        "listen",
        "unlisten",
        "notify",
        "lock",
        "analyze",
        "analyse",
        "vacuum",
        "checkpoint",
        "prepare",
        "deallocate",
    }
)
#: DDL: changes rows only of the tables whose schema it changes (the snapshots show those)
_DDL = frozenset({"create", "alter", "drop", "comment", "grant", "revoke", "reindex", "cluster"})
_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([a-z]+)", re.IGNORECASE | re.DOTALL)
_CATALOG = re.compile(
    r"\b(?:pg_catalog|information_schema|sqlite_master|sqlite_schema|pg_(?:namespace|class|"
    r"attribute|attrdef|type|constraint|index|proc|depend|trigger|enum|sequence|extension))\b",
    re.IGNORECASE,
)
_WRITES = re.compile(r"\b(?:insert|update|delete|merge)\b", re.IGNORECASE)
#: DDL that rewrites values in place (ALTER COLUMN ... TYPE ... USING)
_USING = re.compile(r"\busing\b", re.IGNORECASE)
#: first words of the statements the watch keeps for the findings to name
_KEPT = frozenset({"delete", "truncate", "update", "drop", "create", "alter", "with", "merge"})
#: statements kept per revision at most: UPDATEs (a data migration may update row by row)
#: up to `_KEEP`, the others (what deletes, drops or creates) up to twice that
_KEEP = 500


@dataclass(frozen=True)
class Sent:
    """A statement that may have removed or rewritten rows, as the driver received it."""

    sql: str
    parameters: Any
    #: rows the database says it touched (the cursor's rowcount), -1 when it does not say
    rowcount: int


def may_change_rows(statement: str, version_table: str = "alembic_version") -> bool:
    """Whether a statement may change rows in a way the schema snapshots do not show."""
    for part in statement.split(";"):  # strings with ";" split badly: they only count more
        if part.strip() and _part_may_change_rows(part, version_table):
            return True
    return False


def _part_may_change_rows(part: str, version_table: str) -> bool:
    match = _WORD.match(part)
    if match is None:
        return True
    word = match.group(1).lower()
    if word in _QUIET:
        return False
    if word in _DDL:
        return bool(_USING.search(part)) and word == "alter"
    if word in ("select", "with"):
        # reads of the catalogs (Alembic's own, the snapshots'); a data-modifying WITH, or a
        # SELECT that calls functions of the user's, may write
        if word == "with" and _WRITES.search(part):
            return True
        return "(" in part and not _CATALOG.search(part)
    if word in ("insert", "update", "delete"):
        target = re.match(
            r"\s*(?:insert\s+into|update|delete\s+from)\s+(?:\"?\w+\"?\.)?\"?(\w+)\"?",
            part[match.start(1) :],
            re.IGNORECASE,
        )
        return target is None or target.group(1).lower() != version_table.lower()
    return True  # WITH (maybe data-modifying), TRUNCATE, COPY, CALL, DO, MERGE, anything else


class DataWatch:
    """Counts the statements of one connection that may have changed rows."""

    def __init__(self, connection: Connection, version_table: str = "alembic_version") -> None:
        self.connection = connection
        self.version_table = version_table
        self.epoch = 0
        self._quiet = 0
        self._sent: list[Sent] = []
        event.listen(connection, "before_cursor_execute", self._seen)
        event.listen(connection, "after_cursor_execute", self._done)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self._quiet and may_change_rows(statement, self.version_table):
            self.epoch += 1

    def _done(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if self._quiet or len(self._sent) >= 2 * _KEEP:
            return
        match = _WORD.match(statement)
        word = match.group(1).lower() if match is not None else ""
        if word in _KEPT and (word != "update" or len(self._sent) < _KEEP):
            rowcount = getattr(cursor, "rowcount", -1)
            count = rowcount if isinstance(rowcount, int) else -1
            self._sent.append(Sent(statement, parameters, count))

    def take(self) -> list[Sent]:
        """The statements kept since the last `take` (the probe's own are never kept)."""
        sent, self._sent = self._sent, []
        return sent

    def bump(self) -> None:
        """Something may have changed rows (a step through another connection, a trigger)."""
        self.epoch += 1

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """The probe's own reads and inserts, which it accounts for itself."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def close(self) -> None:
        for name, fn in (
            ("before_cursor_execute", self._seen),
            ("after_cursor_execute", self._done),
        ):
            if event.contains(self.connection, name, fn):
                event.remove(self.connection, name, fn)
