"""Incremental PostgreSQL snapshots: re-read only the relations that DDL touched.

A full catalog read costs time in proportion to the schema, so a walk that snapshots after
every step of a long chain would grow quadratically. Instead the tracker keeps a log of the
session's DDL (`pg_ddl_log`: event triggers record the relations each command created,
altered or dropped), and each snapshot re-reads only those relations (plus the tables
their foreign keys name, and whatever names them) with the scoped query of
`catalog_postgres` (the same parts as the full capture, scoped by oid), reusing every other
`Table` object as it was.

Anything the log cannot place is a full read: functions, extensions, schemas, types other
than a new or dropped enum, a changed `current_schema()`, DDL from another session, a lost
trigger (``DISCARD``), a statement that writes the catalogs directly or resets settings.
A server that refuses the event triggers (they need a superuser) makes every snapshot a
full read, and `reason` says so. Every shortcut is checked against a full read in the test
suite (`IncrementalCapture(verify=True)`), and `stats` counts the reads.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from migration_gate.snapshot.capture_postgres import server_version, snapshot_from_catalog
from migration_gate.snapshot.catalog_postgres import (
    PER_RELATION,
    SNAPSHOT_PARTS,
    PostgresCatalog,
    catalog,
)
from migration_gate.snapshot.model import (
    EnumType,
    Function,
    SchemaSnapshot,
    Sequence,
    Table,
    Trigger,
    View,
)
from migration_gate.snapshot.pg_ddl_log import MIRRORED, Changes, DdlLog, classify
from migration_gate.snapshot.read_stats import ReadStats

__all__ = ["PostgresTracker"]


@dataclass
class _Cache:
    """The last snapshot, by object, with the oids that tie the log to it."""

    rels: dict[int, tuple[str, str]] = field(default_factory=dict)  # oid → (name, relkind)
    oids: dict[str, int] = field(default_factory=dict)  # relation name → oid
    tables: dict[str, Table] = field(default_factory=dict)
    triggers: dict[str, tuple[Trigger, ...]] = field(default_factory=dict)  # by table
    sequences: dict[str, Sequence] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    enums: tuple[EnumType, ...] = ()
    functions: tuple[Function, ...] = ()
    extensions: tuple[str, ...] = ()
    index_owner: dict[int, int] = field(default_factory=dict)
    indexes_of: dict[int, set[int]] = field(default_factory=dict)
    referenced_by: dict[str, set[str]] = field(default_factory=dict)  # table → tables naming it
    sequences_of: dict[str, set[str]] = field(default_factory=dict)  # table → sequences it owns

    def set_table(self, table: Table, triggers: tuple[Trigger, ...], *, keep: bool) -> None:
        """`keep`: no statement altered the table itself (it was read again for a
        neighbour's sake, or for an object it owns); when it is equal, the cached object
        stays (diffs compare by identity first, and the data probe trusts an object it has
        seen to hold the rows it read). A table that a statement altered is always a new
        object, equal or not: dropping a column and adding it again, or `ALTER COLUMN ...
        TYPE ... USING`, can rewrite every value and leave the schema as it was."""
        name = table.name
        old = self.tables.get(name)
        if old is not None:
            for fk in old.foreign_keys:
                self.referenced_by.get(fk.ref_table, set()).discard(name)
            if keep and old == table:
                table = old
        for fk in table.foreign_keys:
            self.referenced_by.setdefault(fk.ref_table, set()).add(name)
        self.tables[name] = table
        if triggers:
            self.triggers[name] = triggers
        else:
            self.triggers.pop(name, None)

    def set_sequence(self, seq: Sequence) -> None:
        self._unown(seq.name)
        self.sequences[seq.name] = seq
        if seq.owned_by:
            self.sequences_of.setdefault(seq.owned_by.rsplit(".", 1)[0], set()).add(seq.name)

    def _unown(self, name: str) -> None:
        old = self.sequences.get(name)
        if old is not None and old.owned_by:
            self.sequences_of.get(old.owned_by.rsplit(".", 1)[0], set()).discard(name)

    def set_indexes(self, owner: int, indexes: set[int]) -> None:
        for index in self.indexes_of.pop(owner, ()):
            self.index_owner.pop(index, None)
        self.indexes_of[owner] = indexes
        for index in indexes:
            self.index_owner[index] = owner

    def forget(self, oid: int) -> None:
        """A relation that is gone (or renamed: it comes back under its new name)."""
        name, kind = self.rels.pop(oid, ("", ""))
        if self.oids.get(name) == oid:
            del self.oids[name]
        if kind in ("r", "p"):
            old = self.tables.pop(name, None)
            for fk in old.foreign_keys if old is not None else ():
                self.referenced_by.get(fk.ref_table, set()).discard(name)
            self.triggers.pop(name, None)
            for index in self.indexes_of.pop(oid, ()):
                self.index_owner.pop(index, None)
        elif kind == "S":
            self._unown(name)
            self.sequences.pop(name, None)
        elif kind in ("v", "m"):
            self.views.pop(name, None)

    def views_oids(self) -> set[int]:
        return {self.oids[name] for name in self.views if name in self.oids}

    def assemble(self, ignored: frozenset[str]) -> SchemaSnapshot:
        tables = self.tables
        if not ignored.isdisjoint(tables):
            tables = {k: v for k, v in tables.items() if k not in ignored}
        triggers = [t for name, ts in self.triggers.items() if name not in ignored for t in ts]
        return SchemaSnapshot(
            dialect="postgresql",
            tables=tuple(tables.values()),
            enums=self.enums,
            sequences=tuple(self.sequences.values()),
            views=tuple(self.views.values()),
            functions=self.functions,
            triggers=tuple(triggers),
            extensions=self.extensions,
        )


@dataclass
class PostgresTracker:
    """Keeps the last snapshot of one connection's database and refreshes what DDL touched."""

    connection: Connection
    enabled: bool = False
    #: why every snapshot is a full read (None while the tracker works)
    reason: str | None = "not started"
    stats: ReadStats = field(default_factory=ReadStats)
    _catalog: PostgresCatalog = field(default_factory=catalog)
    _log: DdlLog | None = None
    _settings: list[str] | None = None
    _cache: _Cache = field(default_factory=_Cache)
    _reader: Any = None  # a second connection that reads the catalogs

    # -- setup ------------------------------------------------------------------------------
    def start(self) -> None:
        """Install the event triggers for this session; without them every read is full."""
        version = server_version(self.connection)
        if version < (12,):
            self.reason = f"PostgreSQL {'.'.join(map(str, version))} is older than 12"
            return
        self._catalog = catalog(version)
        log = DdlLog(self.connection)
        self.reason = log.install()
        if self.reason is not None:
            return
        # The catalog reads go through a connection of their own: psycopg deallocates every
        # prepared statement of a connection that runs a DROP, and the migrations do; there,
        # the scoped query is planned once and stays planned. The engine's connections
        # prepare nothing (`prepare_threshold=None`, see chain.runner): this one must, or
        # every read parses and plans the whole catalog query again (about 10x its run
        # time); its one text column cannot change type under it.
        reader = self.connection.engine.raw_connection()
        try:
            driver: Any = reader.dbapi_connection
            driver.autocommit = True
            if hasattr(driver, "prepare_threshold"):  # psycopg 3 (not psycopg2)
                driver.prepare_threshold = 5
            driver.execute("SET plan_cache_mode = force_generic_plan")
        except DBAPIError as exc:
            reader.close()
            log.uninstall()
            self.reason = f"the catalog reader could not be set up: {exc.orig or exc}"
            return
        self._reader = reader
        self._log = log
        event.listen(self.connection, "before_cursor_execute", log.watch)
        self.enabled = True

    def stop(self) -> None:
        """Remove the event triggers and close the reader."""
        if not self.enabled:
            return
        self.enabled = False
        self.reason = "stopped"
        if self._log is not None:
            event.remove(self.connection, "before_cursor_execute", self._log.watch)
            self._log.uninstall()
            self._log = None
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()
            self._reader = None

    def invalidate(self) -> None:
        """The next snapshot reads everything (something happened that the log cannot see)."""
        if self._log is not None:
            self._log.alarm = True

    # -- snapshots --------------------------------------------------------------------------
    def snapshot(self, ignored: frozenset[str]) -> SchemaSnapshot:
        """The schema now, re-reading only what the log names since the last snapshot."""
        log = self._log
        assert log is not None, "snapshot() of a tracker that is not enabled"
        try:
            changes = self._read_log(log)
            if changes.full or log.alarm:
                log.alarm = False
                self._full()
            elif changes.relations or changes.dropped or changes.enums:
                self._refresh(changes)
            else:
                self.stats = self.stats.same()
        except BaseException:
            log.alarm = True
            raise
        return self._cache.assemble(ignored)

    def _read_log(self, log: DdlLog) -> Changes:
        text, triggers_alive, settings = log.read()
        changes = Changes(full=not triggers_alive)
        if settings != self._settings:  # the reader must render names and values alike
            for name, value in zip(MIRRORED, settings, strict=True):
                self._reader.dbapi_connection.execute(
                    "SELECT set_config(%s, %s, false)", (name, value)
                )
            self._settings = settings
            changes.full = True
        cache = self._cache
        return classify(text, index_owner=cache.index_owner, known=cache.rels, changes=changes)

    def _query(self, sql: str, params: tuple[Any, ...] | None = None) -> dict[str, Any]:
        row = self._reader.dbapi_connection.execute(sql, params, prepare=True).fetchone()
        doc: dict[str, Any] = json.loads(row[0])
        return doc

    def _full(self) -> None:
        doc = self._query(self._catalog.query(("relations", *SNAPSHOT_PARTS)))
        snap = snapshot_from_catalog(doc)
        self._cache = _Cache(enums=snap.enums, functions=snap.functions, extensions=snap.extensions)
        self._absorb(doc, snap, touched=None)
        self.stats = self.stats.full()

    def _refresh(self, changes: Changes) -> None:
        cache = self._cache
        for oid in changes.dropped:
            cache.forget(oid)
        scope = changes.relations - changes.dropped
        for oid in list(scope):  # what names a changed table: its referrers, its sequences
            name, kind = cache.rels.get(oid, ("", ""))
            if kind in ("r", "p"):
                names = cache.referenced_by.get(name, set()) | cache.sequences_of.get(name, set())
                scope.update(cache.oids[n] for n in names if n in cache.oids)
        if cache.views and (scope or changes.dropped):
            scope.update(cache.views_oids())
        if not scope and not changes.enums:
            self.stats = self.stats.scoped(())
            return
        parts = (*PER_RELATION, "enums") if changes.enums else PER_RELATION
        doc = self._query(self._catalog.scoped_query(parts), (sorted(scope),))
        snap = snapshot_from_catalog(doc)
        if changes.enums:
            cache.enums = snap.enums
        seen = {int(oid) for oid, _, _ in doc.get("relations") or ()}
        for oid in scope - seen:  # created and dropped again, dropped with its owner, an index
            cache.forget(oid)
        self._absorb(doc, snap, touched=changes.altered)
        self.stats = self.stats.scoped(name for _, name, _ in doc.get("relations") or ())

    def _absorb(
        self, doc: Mapping[str, Any], snap: SchemaSnapshot, *, touched: set[int] | None
    ) -> None:
        """Take the relations of a (scoped or full) read into the cache. `touched`: the
        relations a statement altered (None: all of them, a full read)."""
        cache = self._cache
        for oid_text, name, kind in doc.get("relations") or ():
            oid = int(oid_text)
            old = cache.rels.get(oid)
            if old is not None and old[0] != name:
                cache.forget(oid)
            cache.rels[oid] = (name, kind)
            cache.oids[name] = oid
        triggers: dict[str, list[Trigger]] = {}
        for trigger in snap.triggers:
            triggers.setdefault(trigger.table, []).append(trigger)
        for table in snap.tables:
            keep = touched is not None and cache.oids.get(table.name) not in touched
            cache.set_table(table, tuple(triggers.get(table.name, ())), keep=keep)
        indexes: dict[int, set[int]] = {
            cache.oids[t.name]: set() for t in snap.tables if t.name in cache.oids
        }
        for row in doc.get("indexes") or ():
            indexes.setdefault(int(row[1]), set()).add(int(row[0]))
        for owner, owned in indexes.items():
            cache.set_indexes(owner, owned)
        for seq in snap.sequences:
            cache.set_sequence(seq)
        cache.views.update((v.name, v) for v in snap.views)
