"""Capture a PostgreSQL schema from the system catalogs in one round trip.

One SELECT builds a JSON document with a `json_agg` subquery per kind of object (tables,
columns, constraints, indexes, enum types, sequences, views, functions, triggers,
extensions); Python then assembles the frozen `SchemaSnapshot`. One round trip and a
handful of catalog scans, where SQLAlchemy's inspector issues several queries per table:
a 200-table schema takes tens of milliseconds, not seconds.

Scope: every schema except PostgreSQL's own (`pg_*`, `information_schema`); objects of
`current_schema()` are named bare, others `schema.name`. Objects that belong to an extension
are left out (the extension itself is recorded). PostgreSQL 18 stores NOT NULL as named
constraints (contype 'n'); those rows are ignored, nullability is a column property.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from migration_gate.snapshot import normalize
from migration_gate.snapshot.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Function,
    Index,
    SchemaSnapshot,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)

__all__ = ["capture_postgres", "catalog_query", "snapshot_from_catalog"]

_DIALECT = "postgresql"

#: confdeltype / confupdtype codes
_FK_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
_IDENTITY = {"a": "always", "d": "by default"}

# The names of the user's schemas, and how objects in them are named in the snapshot.
# No "%", "?" or "$" in the statement, so that every driver passes it through as is.
_CTES = r"""
WITH nsp AS (
    SELECT oid,
           CASE WHEN nspname = current_schema() THEN '' ELSE nspname || '.' END AS prefix
    FROM pg_namespace
    WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
),
rel AS (
    SELECT c.oid, nsp.prefix || c.relname AS name, c.relkind
    FROM pg_class c JOIN nsp ON nsp.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND NOT EXISTS (
          SELECT 1 FROM pg_depend e
          WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
),
tbl AS (
    SELECT oid, name FROM rel WHERE relkind IN ('r', 'p')
)
"""

# Each part is a json_agg of text arrays: far cheaper for the server than json_build_array,
# which looks up the output function of every argument of every row.
_TABLES = "SELECT json_agg(ARRAY[oid::text, name]) FROM tbl"

# pg_get_expr with a relation opens (and locks) it for every call; a default never refers
# to a column (only a generated column's expression does), so most go without one: 5x faster.
_COLUMNS = """
SELECT json_agg(ARRAY[
           a.attrelid::text, a.attnum::text, a.attname, format_type(a.atttypid, a.atttypmod),
           a.attnotnull::text,
           pg_get_expr(d.adbin, CASE WHEN a.attgenerated = '' THEN 0 ELSE d.adrelid END, true),
           a.attidentity::text, a.attgenerated::text])
FROM tbl t
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
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

# Key columns as attnums ("2 1") named in Python; the text of expression elements only.
# Indexes that implement a constraint are left out in Python (by the constraints' conindid).
_INDEXES = """
SELECT json_agg(ARRAY[
           i.indexrelid::text, i.indrelid::text, ic.relname, i.indisunique::text,
           i.indkey::text, i.indoption::text, i.indnkeyatts::text,
           pg_get_expr(i.indpred, i.indrelid, true), am.amname::text])
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


def catalog_query(server_version: tuple[int, ...] = (18,)) -> str:
    """The one statement that reads the whole schema (PostgreSQL 12 or later)."""
    # SQL-standard bodies (BEGIN ATOMIC, PostgreSQL 14+) are not in prosrc
    body = (
        "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END"
        if server_version >= (14,)
        else "p.prosrc"
    )
    parts = {
        "tables": _TABLES,
        "columns": _COLUMNS,
        "constraints": _CONSTRAINTS,
        "indexes": _INDEXES,
        "index_expressions": _INDEX_EXPRESSIONS,
        "enums": _ENUMS,
        "sequences": _SEQUENCES,
        "views": _VIEWS,
        "functions": _FUNCTIONS.format(body=body),
        "triggers": _TRIGGERS,
        "extensions": _EXTENSIONS,
    }
    fields = ",\n".join(f"'{key}', ({sql})" for key, sql in parts.items())
    return f"{_CTES}SELECT json_build_object({fields})::text"


def capture_postgres(connection: Connection) -> SchemaSnapshot:
    """Snapshot the schema of a PostgreSQL database with one catalog query."""
    info = connection.dialect.server_version_info or (18,)
    version = tuple(v for v in info if isinstance(v, int))
    raw = connection.exec_driver_sql(catalog_query(version)).scalar_one()
    return snapshot_from_catalog(json.loads(raw))


#: one row of a part of the catalog document: texts (or None), as `catalog_query` casts them
Row = list[Any]


def snapshot_from_catalog(catalog: Mapping[str, Any]) -> SchemaSnapshot:
    """Assemble a snapshot from the JSON document of `catalog_query` (pure)."""
    rows: dict[str, list[Row]] = {key: value or [] for key, value in catalog.items()}
    names = _Names(rows)
    return SchemaSnapshot(
        dialect=_DIALECT,
        tables=_tables(rows, names),
        enums=_enums(rows["enums"]),
        sequences=tuple(_sequence(row, names) for row in rows["sequences"]),
        views=tuple(
            View(str(name), normalize.view_definition(str(text)), mat == "true")
            for name, text, mat in rows["views"]
        ),
        functions=tuple(_function(*row) for row in rows["functions"]),
        triggers=tuple(
            Trigger(str(name), str(table), normalize.trigger_definition(str(text)))
            for table, name, text in rows["triggers"]
        ),
        extensions=tuple(str(name) for name in rows["extensions"]),
    )


class _Names:
    """Table names by oid and column names by (table oid, attnum), from the catalog rows."""

    def __init__(self, rows: Mapping[str, list[Row]]) -> None:
        self.tables: dict[str, str] = {oid: name for oid, name in rows["tables"]}
        self.columns: dict[tuple[str, str], str] = {
            (oid, attnum): name for oid, attnum, name, *_ in rows["columns"]
        }

    def keys(self, oid: str, attnums: str) -> tuple[str, ...]:
        """`{2,1}` → the column names, in that order."""
        return tuple(self.columns[oid, n] for n in attnums.strip("{}").split(",") if n)


def _tables(rows: Mapping[str, list[Row]], names: _Names) -> tuple[Table, ...]:
    columns: dict[str, list[tuple[int, Column]]] = defaultdict(list)
    for oid, attnum, _name, *col in rows["columns"]:
        columns[oid].append((int(attnum), _column(_name, *col)))
    constraints: dict[str, list[Row]] = defaultdict(list)
    for row in rows["constraints"]:
        constraints[row[0]].append(row)
    indexes = _indexes(rows, names)
    return tuple(
        _table(name, [c for _, c in sorted(columns[oid])], constraints[oid], indexes[oid], names)
        for oid, name in names.tables.items()
    )


@lru_cache(maxsize=8192)
def _column(
    name: str,
    type_: str,
    notnull: str,
    default: str | None,
    identity: str,
    generated: str,
) -> Column:
    expression = normalize.default(_DIALECT, default)
    return Column(
        name=name,
        type=normalize.sql_type(_DIALECT, type_),
        nullable=notnull != "true",
        default=None if generated else expression,
        identity=_IDENTITY.get(identity),
        generated=expression if generated else None,
    )


def _table(
    name: str, columns: list[Column], constraints: list[Row], indexes: list[Index], names: _Names
) -> Table:
    primary_key: tuple[str, ...] = ()
    fks: list[ForeignKey] = []
    uniques: list[UniqueConstraint] = []
    checks: list[CheckConstraint] = []
    for row in constraints:
        oid, cname, kind, conkey, text = row[0], row[1], row[2], row[3], row[-1]
        if kind == "p":
            primary_key = names.keys(oid, conkey)
        elif kind == "u":
            uniques.append(UniqueConstraint(cname, names.keys(oid, conkey)))
        elif kind == "f":
            fks.append(_foreign_key(row, names))
        else:  # 'c' check; 'x' exclusion, kept as a check on its whole definition
            checks.append(CheckConstraint(cname, normalize.sql_expression(text)))
    return Table(
        name=name,
        columns=tuple(columns),
        primary_key=primary_key,
        foreign_keys=tuple(fks),
        unique_constraints=tuple(uniques),
        check_constraints=tuple(checks),
        indexes=tuple(indexes),
    )


def _foreign_key(row: Row, names: _Names) -> ForeignKey:
    oid, name, _, conkey, ref_oid, confkey, on_delete, on_update, deferrable, _, definition = row
    if ref_oid in names.tables:
        ref_table, ref_columns = names.tables[ref_oid], names.keys(ref_oid, confkey)
    else:  # a table outside the snapshot (an extension's): read it from the definition
        ref_table, ref_columns = _referenced(definition or "")
    return ForeignKey(
        name=name,
        columns=names.keys(oid, conkey),
        ref_table=ref_table,
        ref_columns=ref_columns,
        on_delete=_FK_ACTIONS[on_delete],
        on_update=_FK_ACTIONS[on_update],
        deferrable=deferrable == "true",
    )


def _referenced(definition: str) -> tuple[str, tuple[str, ...]]:
    """`FOREIGN KEY (a) REFERENCES s.t(id) ...` → ("s.t", ("id",))."""
    tokens = normalize.tokenize(definition)
    words = [t.text.lower() for t in tokens]
    i = words.index("references") + 1
    end = words.index("(", i)
    table = "".join(t.text for t in tokens[i:end])
    close = normalize.matching_paren(tokens, end)
    return table, tuple(t.text for t in tokens[end + 1 : close] if t.text != ",")


def _indexes(rows: Mapping[str, list[Row]], names: _Names) -> dict[str, list[Index]]:
    backing = {row[9] for row in rows["constraints"] if row[2] in ("p", "u", "x")}
    expressions = {(oid, k): text for oid, k, text in rows["index_expressions"]}
    by_table: dict[str, list[Index]] = defaultdict(list)
    for oid, table_oid, name, unique, indkey, indoption, nkeys, predicate, method in rows[
        "indexes"
    ]:
        if oid in backing:
            continue
        elements = []
        keys = indkey.split()[: int(nkeys)]  # the rest are INCLUDE columns
        for k, (attnum, option) in enumerate(zip(keys, indoption.split(), strict=True), 1):
            text = names.columns[table_oid, attnum] if attnum != "0" else expressions[oid, str(k)]
            desc = " DESC" if int(option) & 1 else ""  # bit 0 of indoption
            elements.append(normalize.sql_expression(text) + desc)
        by_table[table_oid].append(
            Index(
                name=name,
                elements=tuple(elements),
                unique=unique == "true",
                predicate=normalize.sql_expression(predicate) if predicate else None,
                method=None if method == "btree" else method,
            )
        )
    return by_table


def _enums(rows: list[Row]) -> tuple[EnumType, ...]:
    labels: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for name, order, label in rows:
        labels[name].append((float(order), label))
    return tuple(EnumType(name, tuple(lb for _, lb in sorted(v))) for name, v in labels.items())


def _sequence(row: Row, names: _Names) -> Sequence:
    name, data_type, start, increment, owner_oid, owner_attnum = row
    owner = names.tables.get(owner_oid) if owner_oid else None
    column = names.columns.get((owner_oid, owner_attnum))
    return Sequence(
        name=name,
        data_type=normalize.sql_type(_DIALECT, data_type),
        start=int(start),
        increment=int(increment),
        owned_by=f"{owner}.{column}" if owner and column else None,
    )


def _function(name: str, args: str, returns: str, language: str, body: str | None) -> Function:
    signature = ", ".join(normalize.sql_type(_DIALECT, a) for a in args.split(", ") if a)
    return Function(
        name=f"{name}({signature})",
        returns=_return_type(returns),
        language=language,
        body=normalize.function_body(body),
    )


def _return_type(text: str) -> str:
    """`integer`, `trigger`, `SETOF users`, `TABLE(id integer, name text)` normalized."""
    if text.upper().startswith("TABLE("):
        return "table" + normalize.render(normalize.tokenize(text[len("TABLE") :]))
    if text.upper().startswith("SETOF "):
        return "setof " + normalize.sql_type(_DIALECT, text[len("SETOF ") :])
    return normalize.sql_type(_DIALECT, text)
