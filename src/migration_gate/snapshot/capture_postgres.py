"""Capture a PostgreSQL schema from the system catalogs in one round trip.

One SELECT (composed in `catalog_postgres`) builds a JSON document with a `json_agg`
subquery per kind of object (tables, columns, constraints, indexes, enum types, sequences,
views, functions, triggers, extensions); Python then assembles the frozen `SchemaSnapshot`.
One round trip and a handful of catalog scans, where SQLAlchemy's inspector issues several
queries per table: a 200-table schema takes tens of milliseconds, not seconds.

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
from migration_gate.snapshot.catalog_postgres import catalog
from migration_gate.snapshot.index_details import IndexElement, collation_name, element_text
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

__all__ = ["capture_postgres", "catalog_query", "server_version", "snapshot_from_catalog"]

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


def server_version(connection: Connection) -> tuple[int, ...]:
    """The server's version as numbers, e.g. (18, 1)."""
    info = connection.dialect.server_version_info or (18,)
    return tuple(v for v in info if isinstance(v, int))


def catalog_query(version: tuple[int, ...] = (18,)) -> str:
    """The one statement that reads the whole schema (PostgreSQL 12 or later)."""
    return catalog(version).query()


def capture_postgres(connection: Connection) -> SchemaSnapshot:
    """Snapshot the schema of a PostgreSQL database with one catalog query."""
    raw = connection.exec_driver_sql(catalog_query(server_version(connection))).scalar_one()
    return snapshot_from_catalog(json.loads(raw))


#: one row of a part of the catalog document: texts (or None), as `catalog_query` casts them
Row = list[Any]


def snapshot_from_catalog(document: Mapping[str, Any]) -> SchemaSnapshot:
    """Assemble a snapshot from the JSON document of `catalog_query` (pure). A part the
    document lacks (a scoped read leaves some out) counts as no rows."""
    rows: dict[str, list[Row]] = defaultdict(list)
    rows.update((key, value) for key, value in document.items() if value)
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
        self.tables: dict[str, str] = {oid: name for oid, name, *_ in rows["tables"]}
        self.comments: dict[str, str | None] = {oid: text for oid, _, text in rows["tables"]}
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
        _table(
            oid, name, [c for _, c in sorted(columns[oid])], constraints[oid], indexes[oid], names
        )
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
    comment: str | None,
) -> Column:
    expression = normalize.default(_DIALECT, default)
    return Column(
        name=name,
        type=normalize.sql_type(_DIALECT, type_),
        nullable=notnull != "true",
        default=None if generated else expression,
        identity=_IDENTITY.get(identity),
        generated=expression if generated else None,
        comment=comment,
    )


def _table(
    oid: str,
    name: str,
    columns: list[Column],
    constraints: list[Row],
    indexes: list[Index],
    names: _Names,
) -> Table:
    primary_key: tuple[str, ...] = ()
    fks: list[ForeignKey] = []
    uniques: list[UniqueConstraint] = []
    checks: list[CheckConstraint] = []
    for row in constraints:
        cname, kind, conkey, text = row[1], row[2], row[3], row[-1]
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
        comment=names.comments.get(oid),
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
    collations = {oid: collation_name(name) for oid, name in rows["collations"]}
    by_table: dict[str, list[Index]] = defaultdict(list)
    for row in rows["indexes"]:
        oid, table_oid, name, unique, indkey, indoption, nkeys, predicate, method, colls = row
        if oid in backing:
            continue
        elements = []
        keys = indkey.split()[: int(nkeys)]  # the rest are INCLUDE columns
        for k, (attnum, option, coll) in enumerate(
            zip(keys, indoption.split(), colls.split(), strict=True), 1
        ):
            text = names.columns[table_oid, attnum] if attnum != "0" else expressions[oid, str(k)]
            elements.append(
                _element(normalize.sql_expression(text), int(option), collations.get(coll))
            )
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


def _element(expression: str, option: int, collation: str | None) -> str:
    """An index key as `index_details` spells it; `option` is its indoption bits."""
    descending, nulls_first = bool(option & 1), bool(option & 2)
    nulls = None if nulls_first == descending else ("first" if nulls_first else "last")
    return element_text(IndexElement(expression, collation, descending, nulls))


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
