"""Incremental SQLite snapshots: re-read only the tables whose `sqlite_master` rows changed.

SQLite keeps its whole schema as the `CREATE` text of each object in `sqlite_master`, and
every pragma `capture_sqlite` reads is derived from that text. So the tracker reads
`sqlite_master` (one cheap query), compares it with the rows of the last snapshot, and
re-reads with the pragmas only the tables whose rows (their own, their indexes', their
triggers') changed, plus the tables that name them in a foreign key (a `REFERENCES t`
without columns means t's primary key) and the tables they name. Every other `Table`
object is reused as it was. Views are rebuilt from their text whenever anything changed.
Nothing here can miss a change: the comparison is with the schema's own text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from migration_gate.snapshot import normalize
from migration_gate.snapshot.capture_sqlite import capture_sqlite, snapshot_from_rows
from migration_gate.snapshot.catalog_sqlite import CATALOG
from migration_gate.snapshot.model import SchemaSnapshot, Table, Trigger, View
from migration_gate.snapshot.read_stats import ReadStats

__all__ = ["SqliteTracker"]

MasterRow = tuple[Any, ...]

_MASTER = CATALOG.master.full()
#: the four queries, scoped to the tables named by their parameter and their neighbours
_SCOPED = (
    CATALOG.master.scoped(),
    CATALOG.columns.scoped(),
    CATALOG.foreign_keys.scoped(),
    CATALOG.index_columns.scoped(),
)


def _unchanged_ends(old: list[MasterRow], new: list[MasterRow]) -> tuple[int, int]:
    """How many rows at the start and at the end of both lists are the same. Rows come in
    rowid order and a step changes a few of them, so the rest is compared in bulk (a list
    comparison runs in C) by bisecting on the length of the equal prefix and suffix."""
    limit = min(len(old), len(new))
    lo, hi = 0, limit
    guess = max(limit - 8, 0)  # most often a step adds or drops the last few rows
    if old[:guess] == new[:guess]:
        lo = guess
        while lo < limit and old[lo] == new[lo]:
            lo += 1
        hi = lo
    while lo < hi:  # the longest k with old[:k] == new[:k]
        mid = (lo + hi + 1) // 2
        if old[:mid] == new[:mid]:
            lo = mid
        else:
            hi = mid - 1
    start = lo
    lo, hi = 0, limit - start
    while lo < hi:  # the longest k with equal last k rows, not overlapping the prefix
        mid = (lo + hi + 1) // 2
        if old[len(old) - mid :] == new[len(new) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return start, lo


@dataclass
class SqliteTracker:
    """Keeps the last snapshot of one SQLite connection and refreshes what changed."""

    connection: Connection
    enabled: bool = True
    #: why every snapshot is a full read (never, on SQLite: the text is always there)
    reason: str | None = None
    stats: ReadStats = field(default_factory=ReadStats)
    _master: list[MasterRow] | None = None
    _tables: dict[str, Table] = field(default_factory=dict)
    _triggers: dict[str, tuple[Trigger, ...]] = field(default_factory=dict)
    _views: tuple[View, ...] = ()
    #: lower-cased table name → lower-cased names of the tables that reference it
    _referenced_by: dict[str, set[str]] = field(default_factory=dict)
    _lower: dict[str, str] = field(default_factory=dict)  # lower-cased name → table name
    _alarm: bool = True

    def start(self) -> None:
        """Nothing to install: `sqlite_master` is the log."""

    def stop(self) -> None:
        self.enabled = False

    def invalidate(self) -> None:
        self._alarm = True

    def snapshot(self, ignored: frozenset[str]) -> SchemaSnapshot:
        conn = self.connection
        master = self._rows(_MASTER)
        if self._alarm or self._master is None:
            self._alarm = False
            self._full(master)
        elif master != self._master:
            self._refresh(master)
        else:
            self.stats = self.stats.same()
        if conn.in_transaction():
            conn.commit()
        return self._assemble(ignored)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[MasterRow]:
        """Rows straight from the driver (a SELECT opens no transaction in sqlite3)."""
        driver: Any = self.connection.connection.dbapi_connection
        rows: list[MasterRow] = driver.execute(sql, params).fetchall()
        return rows

    def _full(self, master: list[MasterRow]) -> None:
        snap = capture_sqlite(self.connection)
        self.stats = self.stats.full()
        self._tables.clear()
        self._triggers.clear()
        self._referenced_by.clear()
        self._lower.clear()
        for table in snap.tables:
            self._set_table(
                table, tuple(t for t in snap.triggers if t.table == table.name), keep=False
            )
        self._views = snap.views
        self._master = master

    def _refresh(self, master: list[MasterRow]) -> None:
        old = self._master or []
        start, end = _unchanged_ends(old, master)
        mid_new, mid_old = master[start : len(master) - end], old[start : len(old) - end]
        now = {str(r[1]): r for r in mid_new}  # names are unique in sqlite_master
        before = {str(r[1]): r for r in mid_old}
        changed = [r for name, r in now.items() if before.get(name) != r]
        changed += [r for name, r in before.items() if name not in now]
        touched = {str(r[2]).lower() for r in changed if r[0] != "view"}
        # tables whose own text changed (not only an index's): they may hold other values
        direct = frozenset(str(r[2]).lower() for r in changed if r[0] == "table")
        for name in list(touched):  # a referrer's foreign keys may name it by its key
            touched |= self._referenced_by.get(name, set())
        created = {str(r[1]).lower(): str(r[1]) for r in mid_new if r[0] == "table"}
        removed = {str(r[1]).lower() for r in mid_old if r[0] == "table"} - created.keys()
        scope = sorted(
            n for n in touched if n in created or (n in self._lower and n not in removed)
        )
        for name in touched:
            cached = self._lower.get(name)
            if cached is not None and (name not in scope or created.get(name, cached) != cached):
                self._drop_table(cached)  # dropped, or renamed to another case
        if scope:
            self._read_tables(scope, direct)
        else:
            self.stats = self.stats.scoped(())
        if any(r[0] == "view" for r in changed):
            views = [r for r in master if r[0] == "view"]
            self._views = tuple(
                View(str(name), normalize.view_definition(str(sql or ""), dialect="sqlite"))
                for _, name, _, sql in views
            )
        self._master = master

    def _read_tables(self, scope: Sequence[str], direct: frozenset[str]) -> None:
        """Read `scope` (lower-case names); `direct`: those whose own text changed."""
        param = (json.dumps(list(scope)),)
        master, columns, foreign_keys, index_columns = (self._rows(q, param) for q in _SCOPED)
        snap = snapshot_from_rows(
            master, columns=columns, foreign_keys=foreign_keys, index_columns=index_columns
        )
        self.stats = self.stats.scoped(t.name for t in snap.tables)
        for table in snap.tables:
            triggers = tuple(t for t in snap.triggers if t.table == table.name)
            self._set_table(table, triggers, keep=table.name.lower() not in direct)

    def _set_table(self, table: Table, triggers: tuple[Trigger, ...], *, keep: bool) -> None:
        """As `PostgresTracker`'s cache: an equal table stays the cached object only when
        it was read for a neighbour's sake (`keep`); one whose text changed is new."""
        old = self._tables.get(table.name)
        if old is not None:
            self._unrefer(old)
            if keep and old == table:
                table = old
        for fk in table.foreign_keys:
            self._referenced_by.setdefault(fk.ref_table.lower(), set()).add(table.name.lower())
        self._tables[table.name] = table
        self._lower[table.name.lower()] = table.name
        if triggers:
            self._triggers[table.name] = triggers
        else:
            self._triggers.pop(table.name, None)

    def _unrefer(self, table: Table) -> None:
        for fk in table.foreign_keys:
            self._referenced_by.get(fk.ref_table.lower(), set()).discard(table.name.lower())

    def _drop_table(self, name: str) -> None:
        old = self._tables.pop(name)
        if self._lower.get(name.lower()) == name:
            del self._lower[name.lower()]
        self._unrefer(old)
        self._triggers.pop(name, None)

    def _assemble(self, ignored: frozenset[str]) -> SchemaSnapshot:
        tables = self._tables
        if not ignored.isdisjoint(tables):
            tables = {k: v for k, v in tables.items() if k not in ignored}
        triggers = [t for name, ts in self._triggers.items() if name not in ignored for t in ts]
        return SchemaSnapshot(
            dialect="sqlite",
            tables=tuple(tables.values()),
            views=self._views,
            triggers=tuple(triggers),
        )
