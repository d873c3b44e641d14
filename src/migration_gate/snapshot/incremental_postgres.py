"""Incremental PostgreSQL snapshots: re-read only the relations that DDL touched.

A full catalog read costs time in proportion to the schema, so a walk that snapshots after
every step of a long chain would grow quadratically. Instead the tracker installs, for its
own session, two event triggers (``ddl_command_end``, ``sql_drop``) on a function in
``pg_temp``: each DDL command appends the relations it created, altered or dropped to a
session setting, which the next snapshot reads and resets. That snapshot then re-reads
only those relations (plus the tables their foreign keys name, and whatever names them)
with the same catalog parts as `capture_postgres`, scoped by oid, and reuses every other
`Table` object as it was. The log is transactional: a rolled-back step leaves no entry.

Anything the log cannot place falls back to a full read: functions, extensions, schemas,
types other than a new or dropped enum, a changed `current_schema()`, DDL from another
session (the trigger notifies instead), a lost trigger (``DISCARD``), a statement that
writes the catalogs directly or resets settings, or a server that refuses the event
triggers (they need a superuser). Every shortcut is checked against a full read in the
test suite (`IncrementalCapture(verify=True)`).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from migration_gate.snapshot import capture_postgres as cp
from migration_gate.snapshot.model import (
    EnumType,
    Function,
    SchemaSnapshot,
    Sequence,
    Table,
    Trigger,
    View,
)

__all__ = ["PostgresTracker"]

_CHANNEL = "migration_gate_ddl"
_SETTING = "migration_gate.ddl"

# No "%" in any statement (every driver passes them through as is); the function body is a
# plain quoted literal, doubled quotes and all.
_FUNCTION = """
DECLARE
  r record;
  acc text := '';
BEGIN
  IF pg_backend_pid() <> {pid} THEN
    PERFORM pg_notify('{channel}', '');
    RETURN;
  END IF;
  BEGIN
    IF TG_EVENT = 'sql_drop' THEN
      FOR r IN SELECT d.classid, d.objid, d.objsubid, d.address_names
               FROM pg_event_trigger_dropped_objects() d
               WHERE d.schema_name IS NULL OR d.schema_name !~ '^pg_' LOOP
        -- a dropped column (objsubid) changes its table; it does not drop it
        acc := acc || CASE WHEN r.objsubid <> 0 THEN 'C ' ELSE 'D ' END || r.classid::regclass::text || ' ' || r.objid::text || ' ' || coalesce(
          CASE WHEN r.classid <> 'pg_class'::regclass AND cardinality(r.address_names) >= 3
               THEN to_regclass(quote_ident(r.address_names[1]) || '.'
                                || quote_ident(r.address_names[2]))::oid::text END, '-') || ' -;';
      END LOOP;
    ELSE
      FOR r IN SELECT c.classid, c.objid, c.command_tag FROM pg_event_trigger_ddl_commands() c
               WHERE c.schema_name IS NULL OR c.schema_name !~ '^pg_' LOOP
        acc := acc || 'C ' || r.classid::regclass::text || ' ' || r.objid::text || ' ' || coalesce(
          CASE r.classid
            WHEN 'pg_constraint'::regclass THEN
              (SELECT nullif(conrelid, 0)::text FROM pg_constraint WHERE oid = r.objid)
            WHEN 'pg_trigger'::regclass THEN (SELECT tgrelid::text FROM pg_trigger WHERE oid = r.objid)
            WHEN 'pg_attrdef'::regclass THEN (SELECT adrelid::text FROM pg_attrdef WHERE oid = r.objid)
            WHEN 'pg_rewrite'::regclass THEN (SELECT ev_class::text FROM pg_rewrite WHERE oid = r.objid)
            WHEN 'pg_policy'::regclass THEN (SELECT polrelid::text FROM pg_policy WHERE oid = r.objid)
          END, '-') || ' ' || replace(coalesce(r.command_tag, '-'), ' ', '_') || ';';
      END LOOP;
    END IF;
    PERFORM set_config('{setting}', coalesce(current_setting('{setting}', true), '') || acc, false);
  EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('{setting}', 'X;', false);
  END;
END
"""

#: settings of the walk's session that change what the catalog functions return
_MIRRORED = (
    "search_path",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "extra_float_digits",
    "bytea_output",
    "quote_all_identifiers",
    "standard_conforming_strings",
)
#: classes whose objects belong to a relation (the trigger function names it)
_OWNED = frozenset({"pg_constraint", "pg_trigger", "pg_attrdef", "pg_rewrite", "pg_policy"})
#: statements that change the schema behind the event triggers' back, or lose their log
_UNTRACKED = re.compile(
    r"\b(?:insert\s+into|update|delete\s+from)\s+(?:pg_catalog\s*\.\s*)?\"?pg_|\breset\s+all\b"
    r"|\bdiscard\b|\bset\s+(?:session\s+)?session_authorization\b",
    re.IGNORECASE,
)

# Scoping the parts of `catalog_query` to a set of relations: the scope is the relations
# the log names, the indexes' tables, the tables their foreign keys reference and the
# tables that own their sequences (so that every name the parts need is in `tbl`).
_REL_FILTER = "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')"
_SCOPE = """
WITH scope0 AS (SELECT unnest(%s::oid[]) AS oid),
scope AS (
    SELECT oid FROM scope0
    UNION SELECT x.oid FROM scope0 s CROSS JOIN LATERAL (
        SELECT i.indrelid AS oid FROM pg_index i WHERE i.indexrelid = s.oid
        UNION ALL SELECT co.confrelid FROM pg_constraint co
            WHERE co.conrelid = s.oid AND co.contype = 'f'
        UNION ALL SELECT d.refobjid FROM pg_depend d
            WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) x
),
"""
_RELS = "SELECT json_agg(ARRAY[oid::text, name, relkind::text]) FROM rel"
_SCOPED_PARTS = (
    "tables",
    "columns",
    "constraints",
    "indexes",
    "index_expressions",
    "sequences",
    "views",
    "triggers",
)


@dataclass(frozen=True)
class _Queries:
    """The full catalog query (with relation oids) and the pieces of a scoped one."""

    full: str
    ctes: str
    parts: Mapping[str, str]
    enums: str

    def scoped(self, *, enums: bool) -> str:
        """The scoped query; its one parameter is the array of relation oids. The text does
        not depend on them, so the server plans it once (a generic plan: index lookups)."""
        parts = {**self.parts, "enums": self.enums} if enums else self.parts
        fields = ",\n".join(f"'{key}', ({sql})" for key, sql in parts.items())
        return f"{_SCOPE}{self.ctes}SELECT json_build_object({fields})::text"


def _queries(version: tuple[int, ...]) -> _Queries | None:
    """The queries, or None when `capture_postgres` no longer has the shape this module
    scopes (then every snapshot is a full read, which is always right)."""
    anchor = "SELECT json_build_object("
    try:
        full = cp.catalog_query(version)
        ctes: str = cp._CTES.lstrip()
        parts: dict[str, str] = {name: getattr(cp, f"_{name.upper()}") for name in _SCOPED_PARTS}
        enums: str = cp._ENUMS
    except AttributeError:
        return None
    if full.count(anchor) != 1 or ctes.count(_REL_FILTER) != 1 or not ctes.startswith("WITH "):
        return None
    if "%" in ctes or any("%" in sql for sql in (*parts.values(), enums)):
        return None  # the scoped query binds a parameter
    scoped_ctes = ctes[len("WITH ") :].replace(
        _REL_FILTER,
        "WHERE c.oid = ANY(ARRAY(SELECT oid FROM scope)) AND c.relkind IN ('r', 'p', 'v', 'm', 'S')",
    )
    return _Queries(
        full=full.replace(anchor, f"{anchor}'rels', ({_RELS}),\n"),
        ctes=scoped_ctes,
        parts={**parts, "rels": _RELS},
        enums=enums,
    )


@dataclass
class _Changes:
    """What the log says since the last snapshot."""

    full: bool = False
    relations: set[int] = field(default_factory=set)
    #: relations a statement was run on itself (ALTER TABLE, a column dropped): these may
    #: hold other values now; the rest of `relations` changed only in objects they own
    #: (constraints, triggers, defaults), which leave the rows as they were
    altered: set[int] = field(default_factory=set)
    dropped: set[int] = field(default_factory=set)
    enums: bool = False


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
    _pid: int = 0
    _queries: _Queries | None = None
    _alarm: bool = True
    _settings: list[str] | None = None
    _cache: _Cache = field(default_factory=_Cache)
    _session: Any = None  # the walk's own psycopg connection (the log is in its session)
    _reader: Any = None  # a second connection that reads the catalogs

    # -- setup ------------------------------------------------------------------------------
    def start(self) -> None:
        """Install the event triggers for this session; without them every read is full."""
        info = self.connection.dialect.server_version_info or (18,)
        version = tuple(v for v in info if isinstance(v, int))
        self._queries = _queries(version)
        self.enabled = self._queries is not None and version >= (12,) and self._install()
        if self.enabled:
            event.listen(self.connection, "before_cursor_execute", self._watch)

    def _install(self) -> bool:
        conn = self.connection
        if conn.in_transaction():
            conn.commit()
        session: Any = conn.connection.dbapi_connection
        if not hasattr(session, "add_notify_handler"):  # a driver other than psycopg 3
            return False
        try:
            self._pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            body = _FUNCTION.format(pid=self._pid, channel=_CHANNEL, setting=_SETTING)
            name = f"migration_gate_ddl_{self._pid}"
            conn.exec_driver_sql(
                f"CREATE OR REPLACE FUNCTION pg_temp.{name}() RETURNS event_trigger "
                f"LANGUAGE plpgsql AS '{body.replace(chr(39), chr(39) * 2)}'"
            )
            for suffix, on in (("end", "ddl_command_end"), ("drop", "sql_drop")):
                conn.exec_driver_sql(f"DROP EVENT TRIGGER IF EXISTS {name}_{suffix}")
                conn.exec_driver_sql(
                    f"CREATE EVENT TRIGGER {name}_{suffix} ON {on} "
                    f"EXECUTE FUNCTION pg_temp.{name}()"
                )
                conn.exec_driver_sql(f"ALTER EVENT TRIGGER {name}_{suffix} ENABLE ALWAYS")
            conn.exec_driver_sql(f"LISTEN {_CHANNEL}")
            conn.commit()
        except DBAPIError:  # not a superuser, most likely
            conn.rollback()
            return False
        # The catalog reads go through a connection of their own: psycopg deallocates every
        # prepared statement of a connection that runs a DROP, and the migrations do; there,
        # the scoped query is planned once and stays planned.
        reader = conn.engine.raw_connection()
        try:
            driver: Any = reader.dbapi_connection
            driver.autocommit = True
            driver.execute("SET plan_cache_mode = force_generic_plan")
        except Exception:
            reader.close()
            self._uninstall()
            return False
        self._reader = reader
        session.add_notify_handler(self._notified)
        self._session = session
        return True

    def stop(self) -> None:
        """Remove the event triggers (they would go with the session anyway)."""
        if not self.enabled:
            return
        self.enabled = False
        event.remove(self.connection, "before_cursor_execute", self._watch)
        if self._session is not None:
            self._session.remove_notify_handler(self._notified)
            self._session = None
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()
            self._reader = None
        self._uninstall()

    def _uninstall(self) -> None:
        conn = self.connection
        try:
            if conn.in_transaction():
                conn.rollback()
            for suffix in ("end", "drop"):
                conn.exec_driver_sql(
                    f"DROP EVENT TRIGGER IF EXISTS migration_gate_ddl_{self._pid}_{suffix}"
                )
            conn.exec_driver_sql(f"UNLISTEN {_CHANNEL}")
            conn.commit()
        except DBAPIError:  # the connection is going away anyway, and the triggers with it
            with contextlib.suppress(DBAPIError):
                conn.rollback()

    def _notified(self, *args: Any) -> None:
        self._alarm = True

    def _watch(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if _UNTRACKED.search(statement):
            self._alarm = True

    def invalidate(self) -> None:
        """The next snapshot reads everything (something happened that the log cannot see)."""
        self._alarm = True

    # -- snapshots --------------------------------------------------------------------------
    def snapshot(self, ignored: frozenset[str]) -> SchemaSnapshot:
        """The schema now, re-reading only what the log names since the last snapshot."""
        try:
            changes = self._read_log()
            if changes.full or self._alarm:
                self._alarm = False
                self._full()
            elif changes.relations or changes.dropped or changes.enums:
                self._refresh(changes)
        except BaseException:
            self._alarm = True
            raise
        return self._cache.assemble(ignored)

    def _read_log(self) -> _Changes:
        """Read and reset the log, in the walk's session (where the triggers write it)."""
        session = self._session
        try:
            log, _, triggers, *settings = session.execute(
                f"SELECT current_setting('{_SETTING}', true), set_config('{_SETTING}', '', false), "
                "(SELECT count(*) FROM pg_event_trigger "
                f"WHERE evtname IN ('migration_gate_ddl_{self._pid}_end', "
                f"'migration_gate_ddl_{self._pid}_drop') AND evtenabled = 'A'), "
                + ", ".join(f"current_setting('{name}')" for name in _MIRRORED),
                prepare=False,
            ).fetchone()
            session.commit()
        except BaseException:
            session.rollback()
            raise
        changes = _Changes(full=triggers != 2)
        if settings != self._settings:  # the reader must render names and values alike
            for name, value in zip(_MIRRORED, settings, strict=True):
                self._reader.dbapi_connection.execute(
                    "SELECT set_config(%s, %s, false)", (name, value)
                )
            self._settings = settings
            changes.full = True
        for entry in (log or "").split(";"):
            if entry:
                self._classify(entry.split(" "), changes)
        return changes

    def _classify(self, parts: list[str], changes: _Changes) -> None:
        kind, klass, objid, owner, tag = (*parts, "-", "-", "-", "-", "-")[:5]
        if kind not in ("C", "D") or not objid.isdigit():
            changes.full = True
            return
        oid = int(objid)
        if klass == "pg_class":
            if kind == "C":
                changes.relations.add(oid)
                changes.altered.add(oid)
            elif oid in self._cache.index_owner:
                changes.relations.add(self._cache.index_owner[oid])
            elif oid in self._cache.rels:
                changes.dropped.add(oid)
        elif klass in _OWNED:
            if owner.isdigit():
                changes.relations.add(int(owner))
            elif kind == "C":
                changes.full = True  # a constraint of a domain, say
        elif klass == "pg_type" and (kind == "D" or tag.startswith("CREATE_")):
            changes.enums = True
        else:  # functions, types altered, schemas, extensions, grants, anything else
            changes.full = True

    def _query(self, sql: str, params: tuple[Any, ...] | None = None) -> dict[str, Any]:
        row = self._reader.dbapi_connection.execute(sql, params, prepare=True).fetchone()
        doc: dict[str, Any] = json.loads(row[0])
        return doc

    def _full(self) -> None:
        assert self._queries is not None
        doc = self._query(self._queries.full)
        snap = cp.snapshot_from_catalog(doc)
        self._cache = _Cache(enums=snap.enums, functions=snap.functions, extensions=snap.extensions)
        self._absorb(doc, snap, touched=None)

    def _refresh(self, changes: _Changes) -> None:
        assert self._queries is not None
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
            return
        doc = self._query(self._queries.scoped(enums=changes.enums), (sorted(scope),))
        for key in ("enums", "functions", "extensions"):
            doc.setdefault(key, None)
        snap = cp.snapshot_from_catalog(doc)
        if changes.enums:
            cache.enums = snap.enums
        seen = {int(oid) for oid, _, _ in doc.get("rels") or ()}
        for oid in scope - seen:  # created and dropped again, dropped with its owner, an index
            cache.forget(oid)
        self._absorb(doc, snap, touched=changes.altered)

    def _absorb(
        self, doc: Mapping[str, Any], snap: SchemaSnapshot, *, touched: set[int] | None
    ) -> None:
        """Take the relations of a (scoped or full) read into the cache. `touched`: the
        relations a statement altered (None: all of them, a full read)."""
        cache = self._cache
        for oid_text, name, kind in doc.get("rels") or ():
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
