"""Capture a SQLite schema from `sqlite_master` and the pragma table-valued functions.

Four queries (described in `catalog_sqlite`) read everything: `sqlite_master` (the
`CREATE` text of every object) and, joined with it, `pragma_table_xinfo`,
`pragma_foreign_key_list` and `pragma_index_list` + `pragma_index_xinfo`. What the pragmas
do not say is parsed from the `CREATE` text (`sqlite_ddl`): constraint names, CHECK
expressions, AUTOINCREMENT, generated columns, DEFERRABLE, and the elements (expressions
too) and WHERE clause of indexes, which SQLAlchemy's inspector skips.

Meaning, not rendering: Alembic's batch mode rebuilds a table by creating
`_alembic_tmp_<name>` and renaming it, which rewrites the text (quotes, spacing, inline
REFERENCES moved to table level...). Everything taken from the text is tokenized and
normalized, so both renderings give the same snapshot; `sqlite_autoindex_*` names never
leak into it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Connection

from migration_gate.snapshot import normalize
from migration_gate.snapshot.catalog_sqlite import CATALOG
from migration_gate.snapshot.index_details import collation_name, element_text
from migration_gate.snapshot.model import (
    Column,
    ForeignKey,
    Index,
    SchemaSnapshot,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from migration_gate.snapshot.sqlite_ddl import ParsedTable, parse_create_index, parse_create_table

__all__ = ["capture_sqlite", "snapshot_from_rows"]

_DIALECT = "sqlite"
_DEFAULT_COLLATION = frozenset({"binary"})


def capture_sqlite(connection: Connection) -> SchemaSnapshot:
    """Snapshot the schema of the main database of a SQLite connection."""
    return snapshot_from_rows(
        _rows(connection, CATALOG.master.full()),
        columns=_rows(connection, CATALOG.columns.full()),
        foreign_keys=_rows(connection, CATALOG.foreign_keys.full()),
        index_columns=_rows(connection, CATALOG.index_columns.full()),
    )


def _rows(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.exec_driver_sql(sql).fetchall()]


def snapshot_from_rows(
    master: Sequence[tuple[Any, ...]],
    *,
    columns: Iterable[tuple[Any, ...]],
    foreign_keys: Iterable[tuple[Any, ...]],
    index_columns: Iterable[tuple[Any, ...]],
) -> SchemaSnapshot:
    """Assemble a snapshot from the rows of the four queries (pure)."""
    by_table: dict[str, _Rows] = defaultdict(_Rows)
    for row in columns:
        by_table[row[0]].columns.append(row[1:])
    for row in foreign_keys:
        by_table[row[0]].foreign_keys.append(row[1:])
    for row in index_columns:
        by_table[row[0]].index_columns.append(row[1:])
    sql_of = {(kind, name): sql for kind, name, _, sql in master}
    #: lowercased name → (name, primary key): REFERENCES names a table in any case
    primary_keys = {name.lower(): (name, rows.primary_key()) for name, rows in by_table.items()}
    tables = [
        _table(name, sql or "", by_table[name], sql_of, primary_keys)
        for kind, name, _, sql in master
        if kind == "table"
    ]
    return SchemaSnapshot(
        dialect=_DIALECT,
        tables=tuple(tables),
        views=tuple(
            View(name, normalize.view_definition(sql or "", dialect=_DIALECT))
            for kind, name, _, sql in master
            if kind == "view"
        ),
        triggers=tuple(
            Trigger(name, table, normalize.trigger_definition(sql or "", dialect=_DIALECT))
            for kind, name, table, sql in master
            if kind == "trigger"
        ),
    )


@dataclass
class _Rows:
    """The pragma rows of one table."""

    columns: list[tuple[Any, ...]] = field(default_factory=list)
    foreign_keys: list[tuple[Any, ...]] = field(default_factory=list)
    index_columns: list[tuple[Any, ...]] = field(default_factory=list)

    def primary_key(self) -> tuple[str, ...]:
        keyed = sorted((pk, name) for _, name, _, _, _, pk, _ in self.columns if pk)
        return tuple(name for _, name in keyed)


# -- assembling -----------------------------------------------------------------------------


def _table(
    name: str,
    sql: str,
    rows: _Rows,
    sql_of: dict[tuple[str, str], str | None],
    primary_keys: Mapping[str, tuple[str, tuple[str, ...]]],
) -> Table:
    parsed = parse_create_table(sql)
    return Table(
        name=name,
        columns=tuple(_column(row, parsed) for row in sorted(rows.columns) if row[6] != 1),
        primary_key=rows.primary_key(),
        foreign_keys=_foreign_keys(rows.foreign_keys, parsed, primary_keys),
        unique_constraints=_uniques(rows.index_columns, parsed),
        check_constraints=tuple(parsed.checks),
        indexes=_indexes(rows.index_columns, sql_of),
    )


def _column(row: tuple[Any, ...], parsed: ParsedTable) -> Column:
    _, name, type_, notnull, default, _, hidden = row  # hidden: 2 virtual, 3 stored
    generated = parsed.generated.get(name.lower()) if hidden in (2, 3) else None
    return Column(
        name=name,
        type=normalize.sql_type(_DIALECT, type_ or ""),
        nullable=not notnull,
        default=normalize.default(_DIALECT, default),
        identity="autoincrement" if name.lower() in parsed.autoincrement else None,
        generated=generated,
    )


def _foreign_keys(
    rows: list[tuple[Any, ...]],
    parsed: ParsedTable,
    primary_keys: Mapping[str, tuple[str, tuple[str, ...]]],
) -> tuple[ForeignKey, ...]:
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    by_key = {
        (cols, table): (name, deferrable)
        for name, cols, table, _, deferrable in parsed.foreign_keys
    }
    fks = []
    for parts in grouped.values():
        parts.sort(key=lambda r: r[1])
        _, _, written, _, _, on_update, on_delete = parts[0]
        ref_table, ref_pk = primary_keys.get(written.lower(), (written, ()))
        columns = tuple(r[3] for r in parts)
        ref_columns = tuple(r[4] for r in parts)
        if any(c is None for c in ref_columns):  # REFERENCES t: its primary key
            ref_columns = ref_pk
        name, deferrable = by_key.get(
            (tuple(c.lower() for c in columns), ref_table.lower()), (None, False)
        )
        fks.append(
            ForeignKey(
                name=name,
                columns=columns,
                ref_table=ref_table,
                ref_columns=tuple(ref_columns),
                on_delete=on_delete,
                on_update=on_update,
                deferrable=deferrable,
            )
        )
    return tuple(fks)


def _index_rows(rows: list[tuple[Any, ...]], origin: str) -> dict[str, list[tuple[Any, ...]]]:
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        if row[2] == origin:
            grouped[row[0]].append(row)
    return grouped


def _uniques(rows: list[tuple[Any, ...]], parsed: ParsedTable) -> tuple[UniqueConstraint, ...]:
    names = {cols: name for name, cols in parsed.uniques}
    out = []
    for index_rows in _index_rows(rows, "u").values():
        columns = tuple(r[4] for r in sorted(index_rows, key=lambda r: r[3]))
        out.append(UniqueConstraint(names.get(tuple(c.lower() for c in columns)), columns))
    return tuple(out)


def _indexes(
    rows: list[tuple[Any, ...]], sql_of: dict[tuple[str, str], str | None]
) -> tuple[Index, ...]:
    out = []
    for name, index_rows in _index_rows(rows, "c").items():
        parsed, predicate = parse_create_index(sql_of.get(("index", name)) or "")
        # the effective collation of each key (written on the index, or the column's)
        keys = sorted(index_rows, key=lambda r: r[3])
        if len(keys) == len(parsed):
            parsed = tuple(
                replace(e, collation=collation_name(r[6], default=_DEFAULT_COLLATION))
                for e, r in zip(parsed, keys, strict=True)
            )
        out.append(
            Index(
                name=name,
                elements=tuple(element_text(e) for e in parsed),
                unique=bool(index_rows[0][1]),
                predicate=predicate,
            )
        )
    return tuple(out)
