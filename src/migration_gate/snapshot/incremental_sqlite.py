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

from migration_gate.snapshot import capture_sqlite as cs
from migration_gate.snapshot import normalize
from migration_gate.snapshot.model import SchemaSnapshot, Table, Trigger, View

__all__ = ["SqliteTracker"]

MasterRow = tuple[Any, ...]

#: the scope: the changed tables and the tables their foreign keys name (lower-cased)
_SCOPE = """
WITH scope0(name) AS (SELECT lower(value) FROM json_each(?)),
scope(name) AS (
    SELECT name FROM scope0
    UNION SELECT lower(f."table") FROM scope0 s JOIN pragma_foreign_key_list(s.name) f
)
"""


def _scoped(sql: str) -> str | None:
    """One of `capture_sqlite`'s pragma queries, limited to the tables in scope; None when
    its shape is not the one this module extends (then every snapshot is a full read)."""
    text = sql.strip()
    if not text.upper().startswith("SELECT") or " WHERE " not in text.upper() or any(
            word in text.upper() for word in ("ORDER BY", "GROUP BY", "LIMIT", "UNION")):
        return None
    return f"{_SCOPE}{text}\n  AND lower(m.name) IN (SELECT name FROM scope)"


@dataclass
class SqliteTracker:
    """Keeps the last snapshot of one SQLite connection and refreshes what changed."""

    connection: Connection
    enabled: bool = True
    _master: list[MasterRow] | None = None
    _master_set: frozenset[MasterRow] = frozenset()
    _tables: dict[str, Table] = field(default_factory=dict)
    _triggers: dict[str, tuple[Trigger, ...]] = field(default_factory=dict)
    _views: tuple[View, ...] = ()
    _views_sql: tuple[MasterRow, ...] = ()
    #: lower-cased table name → lower-cased names of the tables that reference it
    _referenced_by: dict[str, set[str]] = field(default_factory=dict)
    _queries: tuple[str, str, str] | None = None
    _alarm: bool = True

    def start(self) -> None:
        queries = tuple(_scoped(getattr(cs, name, "")) for name in
                        ("_COLUMNS", "_FOREIGN_KEYS", "_INDEX_COLUMNS"))
        master = getattr(cs, "_MASTER", None)
        self.enabled = master is not None and all(q is not None for q in queries)
        if self.enabled:
            self._queries = (queries[0] or "", queries[1] or "", queries[2] or "")

    def stop(self) -> None:
        self.enabled = False

    def invalidate(self) -> None:
        self._alarm = True

    def snapshot(self, ignored: frozenset[str]) -> SchemaSnapshot:
        conn = self.connection
        master = [tuple(r) for r in conn.exec_driver_sql(cs._MASTER).fetchall()]
        if self._alarm or self._master is None:
            self._alarm = False
            self._full(master)
        elif master != self._master:
            self._refresh(master)
        if conn.in_transaction():
            conn.commit()
        return self._assemble(ignored)

    def _full(self, master: list[MasterRow]) -> None:
        snap = cs.capture_sqlite(self.connection)
        self._tables.clear()
        self._triggers.clear()
        self._referenced_by.clear()
        for table in snap.tables:
            self._set_table(table, tuple(t for t in snap.triggers if t.table == table.name))
        self._views = snap.views
        self._views_sql = tuple(r for r in master if r[0] == "view")
        self._remember(master)

    def _remember(self, master: list[MasterRow]) -> None:
        self._master = master
        self._master_set = frozenset(master)

    def _refresh(self, master: list[MasterRow]) -> None:
        assert self._queries is not None
        now = frozenset(master)
        changed = now ^ self._master_set
        touched = {str(r[2]).lower() for r in changed if r[0] != "view"}
        for name in list(touched):  # a referrer's foreign keys may name it by its key
            touched |= self._referenced_by.get(name, set())
        tables = {str(r[1]).lower(): str(r[1]) for r in master if r[0] == "table"}
        for name in [n for n in self._tables if n.lower() in touched and tables.get(n.lower()) != n]:
            self._drop_table(name)  # dropped, or renamed to another case
        scope = sorted(touched & tables.keys())
        if scope:
            self._read_tables(master, scope)
        views = tuple(r for r in master if r[0] == "view")
        if views != self._views_sql:
            self._views = tuple(
                View(str(name), normalize.view_definition(str(sql or ""), dialect="sqlite"))
                for _, name, _, sql in views
            ) if views else ()
            self._views_sql = views
        self._remember(master)

    def _read_tables(self, master: list[MasterRow], scope: Sequence[str]) -> None:
        assert self._queries is not None
        param = (json.dumps(list(scope)),)
        conn = self.connection
        columns, foreign_keys, index_columns = (
            [tuple(r) for r in conn.exec_driver_sql(q, param).fetchall()] for q in self._queries)
        names = {str(r[0]).lower() for r in columns}  # the scope, with the named tables
        subset = [r for r in master if r[0] != "view" and str(r[2]).lower() in names]
        snap = cs.snapshot_from_rows(subset, columns=columns, foreign_keys=foreign_keys,
                                     index_columns=index_columns)
        for table in snap.tables:
            self._set_table(table, tuple(t for t in snap.triggers if t.table == table.name))

    def _set_table(self, table: Table, triggers: tuple[Trigger, ...]) -> None:
        old = self._tables.get(table.name)
        if old is not None:
            self._unrefer(old)
            if old == table:
                table = old  # keep the very object: later diffs compare by identity first
        for fk in table.foreign_keys:
            self._referenced_by.setdefault(fk.ref_table.lower(), set()).add(table.name.lower())
        self._tables[table.name] = table
        if triggers:
            self._triggers[table.name] = triggers
        else:
            self._triggers.pop(table.name, None)

    def _unrefer(self, table: Table) -> None:
        for fk in table.foreign_keys:
            self._referenced_by.get(fk.ref_table.lower(), set()).discard(table.name.lower())

    def _drop_table(self, name: str) -> None:
        old = self._tables.pop(name)
        self._unrefer(old)
        self._triggers.pop(name, None)

    def _assemble(self, ignored: frozenset[str]) -> SchemaSnapshot:
        tables = self._tables
        if not ignored.isdisjoint(tables):
            tables = {k: v for k, v in tables.items() if k not in ignored}
        triggers = [t for name, ts in self._triggers.items() if name not in ignored for t in ts]
        return SchemaSnapshot(dialect="sqlite", tables=tuple(tables.values()), views=self._views,
                              triggers=tuple(triggers))
