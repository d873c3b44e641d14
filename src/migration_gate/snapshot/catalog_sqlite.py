"""The SQLite catalog queries, described once: the full capture and the incremental one.

`capture_sqlite` reads `sqlite_master` and, joined with it, three pragma table-valued
functions; `incremental_sqlite` reads the same rows for the tables whose `CREATE` text
changed, and their neighbours. Each query is a frozen `SqliteQuery`: its SELECT, its
conditions, and the condition that limits it to the tables of a `scope` CTE (the names
passed as the statement's one parameter, a JSON array, with the tables their foreign keys
name). `full()` and `scoped()` compose the statement from those pieces: plain code over
constants, which cannot fail at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOG", "SqliteCatalog", "SqliteQuery"]

#: objects of the user (not SQLite's own `sqlite_*` tables and indexes)
_USER = r"name NOT LIKE 'sqlite\_%' ESCAPE '\'"

# The tables named by the parameter (lower-cased) and the tables their foreign keys name.
_SCOPE = """
WITH scope0(name) AS (SELECT lower(value) FROM json_each(?)),
scope(name) AS (
    SELECT name FROM scope0
    UNION SELECT lower(f."table") FROM scope0 s JOIN pragma_foreign_key_list(s.name) f
)
"""


@dataclass(frozen=True)
class SqliteQuery:
    """One catalog query: a SELECT, its conditions, and the condition that scopes it."""

    select: str
    where: tuple[str, ...]
    #: the condition that limits the rows to the tables of the `scope` CTE
    in_scope: str

    def full(self) -> str:
        """The statement for every table (no parameter)."""
        return f"{self.select.strip()}\nWHERE {' AND '.join(self.where)}"

    def scoped(self) -> str:
        """The statement for the tables named by its one parameter (a JSON array of names)
        and the tables their foreign keys name."""
        return f"{_SCOPE}{self.full()}\n  AND {self.in_scope}"


_TABLE_IN_SCOPE = "lower(m.name) IN (SELECT name FROM scope)"
_TABLES = ("m.type = 'table'", f"m.{_USER}")


@dataclass(frozen=True)
class SqliteCatalog:
    """The four queries a SQLite snapshot is assembled from (`capture_sqlite.snapshot_from_rows`)."""

    #: type, name, tbl_name, sql of every object; scoped: the objects of the tables in scope
    master: SqliteQuery
    columns: SqliteQuery
    foreign_keys: SqliteQuery
    index_columns: SqliteQuery


CATALOG = SqliteCatalog(
    master=SqliteQuery(
        "SELECT type, name, tbl_name, sql FROM sqlite_master",
        (_USER,),
        "type <> 'view' AND lower(tbl_name) IN (SELECT name FROM scope)",
    ),
    columns=SqliteQuery(
        """
        SELECT m.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden
        FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
        """,
        _TABLES,
        _TABLE_IN_SCOPE,
    ),
    foreign_keys=SqliteQuery(
        """
        SELECT m.name, p.id, p.seq, p."table", p."from", p."to", p.on_update, p.on_delete
        FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) p
        """,
        _TABLES,
        _TABLE_IN_SCOPE,
    ),
    index_columns=SqliteQuery(
        """
        SELECT m.name, il.name, il."unique", il.origin, ix.seqno, ix.name, ix."desc", ix.coll
        FROM sqlite_master m
        JOIN pragma_index_list(m.name) il
        JOIN pragma_index_xinfo(il.name) ix
        """,
        (*_TABLES, 'ix."key" = 1'),
        _TABLE_IN_SCOPE,
    ),
)
