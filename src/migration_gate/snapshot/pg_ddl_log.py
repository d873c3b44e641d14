"""The PostgreSQL DDL log of one session: event triggers that record what each command touched.

`incremental_postgres` needs to know, at each snapshot, which relations DDL created,
altered or dropped since the last one. `DdlLog.install` creates, for its own session, two
event triggers (``ddl_command_end``, ``sql_drop``) on a function in ``pg_temp``: each DDL
command appends its objects (class, oid, owning relation, command tag) to a session
setting, which `DdlLog.read` returns and resets. The log is transactional: a rolled-back
step leaves no entry. A command from another session notifies the channel instead (the
walk then reads everything), and so does a statement that changes the catalogs behind the
triggers' back (`DdlLog.watch`). `classify` turns the entries into `Changes` (pure).

Event triggers need a superuser; `install` returns why it could not install them, and the
caller says so (every snapshot is then a full read).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["MIRRORED", "Changes", "DdlLog", "classify"]

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
MIRRORED = (
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
#: commands on a relation that change what it says about itself, not what it holds
_DESCRIBING = frozenset({"COMMENT"})
#: statements that change the schema behind the event triggers' back, or lose their log
_UNTRACKED = re.compile(
    r"\b(?:insert\s+into|update|delete\s+from)\s+(?:pg_catalog\s*\.\s*)?\"?pg_|\breset\s+all\b"
    r"|\bdiscard\b|\bset\s+(?:session\s+)?session_authorization\b",
    re.IGNORECASE,
)


@dataclass
class Changes:
    """What the log says since the last snapshot."""

    full: bool = False
    relations: set[int] = field(default_factory=set)
    #: relations a statement was run on itself (ALTER TABLE, a column dropped): these may
    #: hold other values now; the rest of `relations` changed only in objects they own
    #: (constraints, triggers, defaults) or in their comments, which leave the rows as they were
    altered: set[int] = field(default_factory=set)
    dropped: set[int] = field(default_factory=set)
    enums: bool = False


def classify(
    log: str, *, index_owner: Mapping[int, int], known: Container[int], changes: Changes
) -> Changes:
    """Add the entries of `log` to `changes` (pure). `index_owner`: index oid → table oid
    of the last snapshot; `known`: the oids of its relations."""
    for entry in log.split(";"):
        if entry:
            _classify(entry.split(" "), index_owner, known, changes)
    return changes


def _classify(
    parts: list[str], index_owner: Mapping[int, int], known: Container[int], changes: Changes
) -> None:
    kind, klass, objid, owner, tag = (*parts, "-", "-", "-", "-", "-")[:5]
    if kind not in ("C", "D") or not objid.isdigit():
        changes.full = True
        return
    oid = int(objid)
    if klass == "pg_class":
        if kind == "C":
            changes.relations.add(oid)
            if tag not in _DESCRIBING:
                changes.altered.add(oid)
        elif oid in index_owner:
            changes.relations.add(index_owner[oid])
        elif oid in known:
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


@dataclass
class DdlLog:
    """The event triggers of one session (the connection's), and reading their log."""

    connection: Connection
    #: something happened that the log cannot tell: the next read must be a full one
    alarm: bool = True
    _pid: int = 0
    _session: Any = None  # the walk's own psycopg connection (the log is in its session)

    def install(self) -> str | None:
        """Install the triggers; None when done, else why not (the server or the driver)."""
        conn = self.connection
        if conn.in_transaction():
            conn.commit()
        session: Any = conn.connection.dbapi_connection
        if not hasattr(session, "add_notify_handler"):
            return f"the driver {conn.dialect.driver!r} is not psycopg 3"
        try:
            self._pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            body = _FUNCTION.format(pid=self._pid, channel=_CHANNEL, setting=_SETTING)
            name = self._name
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
        except DBAPIError as exc:  # not a superuser, most likely
            conn.rollback()
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            return f"the server refused the event triggers ({first}); they need a superuser"
        session.add_notify_handler(self._notified)
        self._session = session
        return None

    @property
    def _name(self) -> str:
        return f"migration_gate_ddl_{self._pid}"

    def uninstall(self) -> None:
        """Remove the triggers (they would go with the session anyway)."""
        if self._session is not None:
            self._session.remove_notify_handler(self._notified)
            self._session = None
        conn = self.connection
        try:
            if conn.in_transaction():
                conn.rollback()
            for suffix in ("end", "drop"):
                conn.exec_driver_sql(f"DROP EVENT TRIGGER IF EXISTS {self._name}_{suffix}")
            conn.exec_driver_sql(f"UNLISTEN {_CHANNEL}")
            conn.commit()
        except DBAPIError:  # the connection is going away anyway, and the triggers with it
            with contextlib.suppress(DBAPIError):
                conn.rollback()

    def _notified(self, *args: Any) -> None:
        self.alarm = True

    def watch(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """A `before_cursor_execute` listener: raise the alarm on untracked statements."""
        if _UNTRACKED.search(statement):
            self.alarm = True

    def read(self) -> tuple[str, bool, list[str]]:
        """Read and reset the log in the walk's session (where the triggers write it): the
        log, whether both triggers are still there and enabled, and the `MIRRORED`
        settings' values."""
        session = self._session
        try:
            log, _, triggers, *settings = session.execute(
                f"SELECT current_setting('{_SETTING}', true), set_config('{_SETTING}', '', false), "
                "(SELECT count(*) FROM pg_event_trigger "
                f"WHERE evtname IN ('{self._name}_end', '{self._name}_drop') "
                "AND evtenabled = 'A'), "
                + ", ".join(f"current_setting('{name}')" for name in MIRRORED),
                prepare=False,
            ).fetchone()
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return log or "", triggers == 2, list(settings)
