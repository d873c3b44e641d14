"""Capture a SQLite schema from `sqlite_master` and the pragma table-valued functions.

Four queries read everything: `sqlite_master` (the `CREATE` text of every object) and,
joined with it, `pragma_table_xinfo`, `pragma_foreign_key_list` and `pragma_index_list` +
`pragma_index_xinfo`. What the pragmas do not say is parsed from the `CREATE` text with the
tokenizer of `normalize`: constraint names, CHECK expressions, AUTOINCREMENT, generated
columns, DEFERRABLE, and the elements (expressions too) and WHERE clause of indexes, which
SQLAlchemy's inspector skips.

Meaning, not rendering: Alembic's batch mode rebuilds a table by creating
`_alembic_tmp_<name>` and renaming it, which rewrites the text (quotes, spacing, inline
REFERENCES moved to table level...). Everything taken from the text is tokenized and
normalized, so both renderings give the same snapshot; `sqlite_autoindex_*` names never
leak into it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import Connection

from migration_gate.snapshot import normalize
from migration_gate.snapshot.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    SchemaSnapshot,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from migration_gate.snapshot.normalize import Token

__all__ = [
    "ParsedTable",
    "capture_sqlite",
    "parse_create_index",
    "parse_create_table",
    "snapshot_from_rows",
]

_DIALECT = "sqlite"
_USER = r"name NOT LIKE 'sqlite\_%' ESCAPE '\'"

_MASTER = f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE {_USER}"
_COLUMNS = f"""
SELECT m.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden
FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
WHERE m.type = 'table' AND m.{_USER}
"""
_FOREIGN_KEYS = f"""
SELECT m.name, p.id, p.seq, p."table", p."from", p."to", p.on_update, p.on_delete
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) p
WHERE m.type = 'table' AND m.{_USER}
"""
_INDEX_COLUMNS = f"""
SELECT m.name, il.name, il."unique", il.origin, ix.seqno, ix.name, ix."desc"
FROM sqlite_master m
JOIN pragma_index_list(m.name) il
JOIN pragma_index_xinfo(il.name) ix
WHERE m.type = 'table' AND m.{_USER} AND ix."key" = 1
"""


def capture_sqlite(connection: Connection) -> SchemaSnapshot:
    """Snapshot the schema of the main database of a SQLite connection."""
    master = _rows(connection, _MASTER)
    return snapshot_from_rows(
        master,
        columns=_rows(connection, _COLUMNS),
        foreign_keys=_rows(connection, _FOREIGN_KEYS),
        index_columns=_rows(connection, _INDEX_COLUMNS),
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


# -- parsing CREATE TABLE -------------------------------------------------------------------


#: (name, columns, referenced table, referenced columns, deferrable) of a FOREIGN KEY
ParsedForeignKey = tuple[str | None, tuple[str, ...], str, tuple[str, ...], bool]


@dataclass(frozen=True)
class ParsedTable:
    """What only the `CREATE TABLE` text tells: constraint names, checks, AUTOINCREMENT,
    generated columns. Column names are lowercased (SQLite compares them that way)."""

    checks: tuple[CheckConstraint, ...] = ()
    foreign_keys: tuple[ParsedForeignKey, ...] = ()
    uniques: tuple[tuple[str | None, tuple[str, ...]], ...] = ()
    autoincrement: frozenset[str] = frozenset()
    #: column name → normalized expression
    generated: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Parsed:
    """`ParsedTable` while it is being filled."""

    checks: list[CheckConstraint] = field(default_factory=list)
    foreign_keys: list[ParsedForeignKey] = field(default_factory=list)
    uniques: list[tuple[str | None, tuple[str, ...]]] = field(default_factory=list)
    autoincrement: set[str] = field(default_factory=set)
    generated: dict[str, str] = field(default_factory=dict)

    def freeze(self) -> ParsedTable:
        return ParsedTable(
            checks=tuple(self.checks),
            foreign_keys=tuple(self.foreign_keys),
            uniques=tuple(self.uniques),
            autoincrement=frozenset(self.autoincrement),
            generated=MappingProxyType(dict(self.generated)),
        )


_LPAREN = Token("op", "(")
_TABLE_CONSTRAINTS = frozenset({"constraint", "primary", "unique", "check", "foreign"})
_COLUMN_CONSTRAINTS = frozenset(
    {"constraint", "primary", "not", "null", "unique", "check", "default", "collate",
     "references", "generated", "as"}
)  # fmt: skip


@lru_cache(maxsize=4096)
def parse_create_table(sql: str) -> ParsedTable:
    """Parse the parts of a `CREATE TABLE` statement that no pragma reports. Cached: a walk
    through a migration chain captures the same statements again and again."""
    tokens = normalize.tokenize(sql, bracket_quotes=True)
    parsed = _Parsed()
    start = _first_paren(tokens)
    body = tokens[start + 1 : normalize.matching_paren(tokens, start)]
    for item in normalize.split_top_level(body):
        if _word(item[0]) in _TABLE_CONSTRAINTS:
            _table_constraint(item, parsed)
        else:
            _column_definition(item, parsed)
    return parsed.freeze()


def _first_paren(tokens: Sequence[Token]) -> int:
    return next((i for i, t in enumerate(tokens) if t == _LPAREN), len(tokens))


def _word(tok: Token) -> str:
    return tok.text.lower() if tok.kind == "word" else ""


def _name(tok: Token) -> str:
    """An identifier, unquoted and lowercased (SQLite names are case-insensitive)."""
    text = tok.text[1:-1] if tok.kind == "str" else tok.text
    return text.lower()


def _group(tokens: Sequence[Token], start: int) -> tuple[list[Token], int]:
    """The tokens inside the parentheses that open at `start`, and the index after them."""
    end = normalize.matching_paren(tokens, start)
    return list(tokens[start + 1 : end]), end + 1


def _names(tokens: Sequence[Token]) -> tuple[str, ...]:
    """Column names of a `(a, b DESC, c COLLATE x)` list."""
    return tuple(_name(part[0]) for part in normalize.split_top_level(tokens))


def _table_constraint(item: list[Token], parsed: _Parsed) -> None:
    name = None
    i = 0
    if _word(item[0]) == "constraint":
        name, i = _name(item[1]), 2
    kind = _word(item[i])
    if kind == "check":
        expr, _ = _group(item, i + 1)
        parsed.checks.append(CheckConstraint(name, _check(expr)))
    elif kind == "unique":
        cols, _ = _group(item, i + 1)
        parsed.uniques.append((name, _names(cols)))
    elif kind == "foreign":  # FOREIGN KEY (cols) REFERENCES ...
        cols, after = _group(item, i + 2)
        parsed.foreign_keys.append((name, _names(cols), *_references(item, after + 1)))


def _check(tokens: Sequence[Token]) -> str:
    return normalize.sql_expression(normalize.render(tokens), dialect=_DIALECT)


def _references(tokens: Sequence[Token], start: int) -> tuple[str, tuple[str, ...], bool]:
    """After REFERENCES: table, columns (empty: its primary key), and DEFERRABLE."""
    table = _name(tokens[start])
    i = start + 1
    while i + 1 < len(tokens) and tokens[i].text == ".":  # schema.table
        table, i = _name(tokens[i + 1]), i + 2
    columns: tuple[str, ...] = ()
    if i < len(tokens) and tokens[i] == _LPAREN:
        group, i = _group(tokens, i)
        columns = _names(group)
    words = [_word(t) for t in tokens[i:]]
    at = words.index("deferrable") if "deferrable" in words else -1
    deferrable = at >= 0 and (at == 0 or words[at - 1] != "not")
    return table, columns, deferrable


def _column_definition(item: list[Token], parsed: _Parsed) -> None:
    column = _name(item[0])
    name: str | None = None
    i = 1
    while i < len(item):
        word = _word(item[i])
        if word == "constraint":
            name, i = _name(item[i + 1]), i + 2
            continue
        if word == "check" and i + 1 < len(item):
            expr, i = _group(item, i + 1)
            parsed.checks.append(CheckConstraint(name, _check(expr)))
        elif word == "references":
            end = _clause_end(item, i + 1)
            table, cols, deferrable = _references(item[:end], i + 1)
            parsed.foreign_keys.append((name, (column,), table, cols, deferrable))
            i = end
        elif word == "unique":
            parsed.uniques.append((name, (column,)))
            i += 1
        elif word == "autoincrement":
            parsed.autoincrement.add(column)
            i += 1
        elif word == "as" and i + 1 < len(item) and item[i + 1] == _LPAREN:
            expr, i = _group(item, i + 1)
            parsed.generated[column] = _check(expr)
        elif item[i] == _LPAREN:  # a type's size or a DEFAULT (expression): skip it
            i = normalize.matching_paren(item, i) + 1
            continue
        else:
            i += 1
            continue
        name = None


def _clause_end(item: Sequence[Token], start: int) -> int:
    """Where a column's REFERENCES clause ends: at the next column constraint (the clause's
    own `ON DELETE SET NULL` / `SET DEFAULT` / `NOT DEFERRABLE` do not end it)."""
    depth = 0
    for i in range(start, len(item)):
        if item[i] == _LPAREN:
            depth += 1
        elif item[i].text == ")":
            depth -= 1
        elif (
            depth == 0
            and _word(item[i]) in _COLUMN_CONSTRAINTS - {"not", "null"}
            and not (_word(item[i]) == "default" and _word(item[i - 1]) == "set")
        ):
            return i
    return len(item)


# -- CREATE INDEX ---------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def parse_create_index(sql: str) -> tuple[tuple[str, ...], str | None]:
    """Elements (column names or expressions, " DESC" appended) and WHERE of an index."""
    tokens = normalize.tokenize(sql, bracket_quotes=True)
    inner, after = _group(tokens, _first_paren(tokens))
    elements = tuple(_index_element(part) for part in normalize.split_top_level(inner))
    predicate = None
    if after < len(tokens) and _word(tokens[after]) == "where":
        predicate = _check(tokens[after + 1 :])
    return elements, predicate


def _index_element(tokens: list[Token]) -> str:
    order = _word(tokens[-1])
    if order in ("asc", "desc"):
        tokens = tokens[:-1]
    text = _check(tokens)
    return f"{text} DESC" if order == "desc" else text


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
        elements, predicate = parse_create_index(sql_of.get(("index", name)) or "")
        out.append(
            Index(name=name, elements=elements, unique=bool(index_rows[0][1]), predicate=predicate)
        )
    return tuple(out)
