"""The PostgreSQL catalog queries, described once: the full capture and the incremental one.

`capture_postgres` reads the whole schema with one SELECT that builds a JSON document
from named parts (a `json_agg` subquery per kind of object); `incremental_postgres`
re-reads only the relations that DDL touched, with the same parts. Both compose their
statement here, from one frozen description (`PostgresCatalog`):

- the common CTEs (`nsp`: the user's schemas, `rel`: their relations, `tbl`: the tables),
  whose `rel` has a relation-scope slot: every relation, or the relations of a `scope` CTE
  (the oids passed as the statement's one parameter, with the tables their indexes belong
  to, the tables their foreign keys reference and the tables that own their sequences);
- the named parts, each saying whether its rows come from the relations in `rel` only
  (`per_relation`: scoping `rel` scopes the part) or from the whole database.

Composing is plain code over constants: it cannot fail at run time, and a part that does
not depend on the relations can only be asked for in a scoped query deliberately. No "%",
"?" or "$" in the parts, so that every driver passes them through as they are; the scoped
query's parameter is psycopg's `%s`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

__all__ = [
    "PER_RELATION",
    "SNAPSHOT_PARTS",
    "CatalogPart",
    "PostgresCatalog",
    "catalog",
]

_ALL_RELATIONS = "TRUE"
_SCOPED_RELATIONS = "c.oid = ANY(ARRAY(SELECT oid FROM scope))"

_CTES = """
nsp AS (
    SELECT oid,
           CASE WHEN nspname = current_schema() THEN '' ELSE nspname || '.' END AS prefix
    FROM pg_namespace
    WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
),
rel AS (
    SELECT c.oid, nsp.prefix || c.relname AS name, c.relkind
    FROM pg_class c JOIN nsp ON nsp.oid = c.relnamespace
    WHERE {relations} AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND NOT EXISTS (
          SELECT 1 FROM pg_depend e
          WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
),
tbl AS (
    SELECT oid, name FROM rel WHERE relkind IN ('r', 'p')
)
"""

# The relations named by the statement's parameter (an oid array), and what they name:
# an index's table, the tables a table's foreign keys reference, a sequence's owner.
_SCOPE = """
scope0 AS (SELECT unnest(%s::oid[]) AS oid),
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


@dataclass(frozen=True)
class CatalogPart:
    """One key of the catalog document: a subquery returning a JSON array of rows."""

    name: str
    sql: str
    #: its rows come only from the relations of `rel`, so scoping `rel` scopes it
    per_relation: bool


# Each part is a json_agg of text arrays: far cheaper for the server than json_build_array,
# which looks up the output function of every argument of every row.
_RELATIONS = "SELECT json_agg(ARRAY[oid::text, name, relkind::text]) FROM rel"

_TABLES = """
SELECT json_agg(ARRAY[t.oid::text, t.name, d.description])
FROM tbl t
LEFT JOIN pg_description d
       ON d.objoid = t.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
"""

# pg_get_expr with a relation opens (and locks) it for every call; a default never refers
# to a column (only a generated column's expression does), so most go without one: 5x faster.
_COLUMNS = """
SELECT json_agg(ARRAY[
           a.attrelid::text, a.attnum::text, a.attname, format_type(a.atttypid, a.atttypmod),
           a.attnotnull::text,
           pg_get_expr(d.adbin, CASE WHEN a.attgenerated = '' THEN 0 ELSE d.adrelid END, true),
           a.attidentity::text, a.attgenerated::text, c.description])
FROM tbl t
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_description c
       ON c.objoid = a.attrelid AND c.classoid = 'pg_class'::regclass AND c.objsubid = a.attnum
"""

# Key columns are attnums ("{1,2}"), named in Python from the columns; the referenced
# table is one of ours but for a table of an extension, which is named here instead.
_CONSTRAINTS = """
SELECT json_agg(ARRAY[
           co.conrelid::text, co.conname, co.contype::text, co.conkey::text,
           co.confrelid::text, co.confkey::text, co.confdeltype::text, co.confupdtype::text,
           co.condeferrable::text, co.conindid::text,
           CASE WHEN co.contype = 'c' THEN pg_get_expr(co.conbin, co.conrelid, true)
                WHEN co.contype = 'x' OR (co.contype = 'f' AND r.oid IS NULL)
                THEN pg_get_constraintdef(co.oid, true) END])
FROM tbl t
JOIN pg_constraint co ON co.conrelid = t.oid AND co.contype IN ('p', 'u', 'f', 'c', 'x')
LEFT JOIN tbl r ON r.oid = co.confrelid
"""

# Key columns as attnums ("2 1") named in Python; the text of expression elements only;
# per key its options (bit 0: DESC, bit 1: NULLS FIRST) and its collation's oid.
# Indexes that implement a constraint are left out in Python (by the constraints' conindid).
_INDEXES = """
SELECT json_agg(ARRAY[
           i.indexrelid::text, i.indrelid::text, ic.relname, i.indisunique::text,
           i.indkey::text, i.indoption::text, i.indnkeyatts::text,
           pg_get_expr(i.indpred, i.indrelid, true), am.amname::text, i.indcollation::text])
FROM tbl t
JOIN pg_index i ON i.indrelid = t.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
"""

_INDEX_EXPRESSIONS = """
SELECT json_agg(ARRAY[i.indexrelid::text, k::text, pg_get_indexdef(i.indexrelid, k, true)])
FROM tbl t
JOIN pg_index i ON i.indrelid = t.oid AND i.indexprs IS NOT NULL
CROSS JOIN generate_series(1, i.indnkeyatts) k
WHERE i.indkey[k - 1] = 0
"""

# The names of the collations the indexes use, but for the database's default (oid 100).
_COLLATIONS = """
SELECT json_agg(ARRAY[co.oid::text, co.collname::text])
FROM pg_collation co
WHERE co.oid <> 100 AND co.oid IN (
    SELECT unnest(i.indcollation::oid[]) FROM tbl t JOIN pg_index i ON i.indrelid = t.oid)
"""

_ENUMS = """
SELECT json_agg(ARRAY[nsp.prefix || ty.typname, e.enumsortorder::text, e.enumlabel::text])
FROM pg_type ty
JOIN nsp ON nsp.oid = ty.typnamespace
JOIN pg_enum e ON e.enumtypid = ty.oid
WHERE ty.typtype = 'e'
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_type'::regclass AND e.objid = ty.oid AND e.deptype = 'e')
"""

# deptype 'i': the sequence of an identity column (skipped); 'a': OWNED BY (serial)
_SEQUENCES = """
SELECT json_agg(ARRAY[
           r.name, format_type(s.seqtypid, NULL), s.seqstart::text, s.seqincrement::text,
           dep.refobjid::text, dep.refobjsubid::text])
FROM rel r
JOIN pg_sequence s ON s.seqrelid = r.oid
LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = r.oid
     AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
WHERE dep.deptype IS DISTINCT FROM 'i'
"""

_VIEWS = """
SELECT json_agg(ARRAY[r.name, pg_get_viewdef(r.oid, true), (r.relkind = 'm')::text])
FROM rel r WHERE r.relkind IN ('v', 'm')
"""

_FUNCTIONS = """
SELECT json_agg(ARRAY[
           nsp.prefix || p.proname, oidvectortypes(p.proargtypes),
           pg_get_function_result(p.oid), l.lanname::text, {body}])
FROM pg_proc p
JOIN nsp ON nsp.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.prokind <> 'a'
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
"""

_TRIGGERS = """
SELECT json_agg(ARRAY[r.name, tg.tgname::text, pg_get_triggerdef(tg.oid, true)])
FROM pg_trigger tg JOIN rel r ON r.oid = tg.tgrelid
WHERE NOT tg.tgisinternal
"""

_EXTENSIONS = """
SELECT json_agg(extname) FROM pg_extension WHERE extname <> 'plpgsql'
"""

#: the parts `capture_postgres.snapshot_from_catalog` reads, in the order of the document
SNAPSHOT_PARTS = (
    "tables",
    "columns",
    "constraints",
    "indexes",
    "index_expressions",
    "collations",
    "enums",
    "sequences",
    "views",
    "functions",
    "triggers",
    "extensions",
)


@dataclass(frozen=True)
class PostgresCatalog:
    """The catalog queries of one server version: the CTEs and the named parts."""

    parts: Mapping[str, CatalogPart]

    def query(self, names: Iterable[str] = SNAPSHOT_PARTS) -> str:
        """The statement that reads the named parts for every relation (no parameter)."""
        return self._compose(_CTES.format(relations=_ALL_RELATIONS), names)

    def scoped_query(self, names: Iterable[str]) -> str:
        """The statement that reads the named parts for the relations whose oids are its
        one parameter (an array) and those they name. Its text does not depend on the
        oids, so the server can plan it once. Parts that are not `per_relation` (enum
        types, say) are read whole, as in `query`."""
        ctes = _SCOPE + _CTES.format(relations=_SCOPED_RELATIONS)
        return self._compose(ctes, names)

    def _compose(self, ctes: str, names: Iterable[str]) -> str:
        fields = ",\n".join(f"'{name}', ({self.parts[name].sql})" for name in names)
        return f"WITH {ctes.strip()}\nSELECT json_build_object({fields})::text"

    @property
    def per_relation(self) -> tuple[str, ...]:
        """The names of the parts that scoping the relations scopes."""
        return tuple(name for name, part in self.parts.items() if part.per_relation)


@lru_cache(maxsize=8)
def catalog(server_version: tuple[int, ...] = (18,)) -> PostgresCatalog:
    """The catalog queries for a server (PostgreSQL 12 or later)."""
    # SQL-standard bodies (BEGIN ATOMIC, PostgreSQL 14+) are not in prosrc
    body = (
        "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END"
        if server_version >= (14,)
        else "p.prosrc"
    )
    parts = (
        CatalogPart("relations", _RELATIONS, per_relation=True),
        CatalogPart("tables", _TABLES, per_relation=True),
        CatalogPart("columns", _COLUMNS, per_relation=True),
        CatalogPart("constraints", _CONSTRAINTS, per_relation=True),
        CatalogPart("indexes", _INDEXES, per_relation=True),
        CatalogPart("index_expressions", _INDEX_EXPRESSIONS, per_relation=True),
        CatalogPart("collations", _COLLATIONS, per_relation=True),
        CatalogPart("enums", _ENUMS, per_relation=False),
        CatalogPart("sequences", _SEQUENCES, per_relation=True),
        CatalogPart("views", _VIEWS, per_relation=True),
        CatalogPart("functions", _FUNCTIONS.format(body=body), per_relation=False),
        CatalogPart("triggers", _TRIGGERS, per_relation=True),
        CatalogPart("extensions", _EXTENSIONS, per_relation=False),
    )
    return PostgresCatalog(MappingProxyType({part.name: part for part in parts}))


#: the parts a scoped read takes again (every part that scoping the relations scopes)
PER_RELATION = catalog().per_relation
