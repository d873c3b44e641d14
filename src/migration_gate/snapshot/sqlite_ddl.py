"""Parse what only SQLite's `CREATE TABLE` and `CREATE INDEX` texts tell (pure, cached).

SQLite's pragmas say nothing of constraint names, CHECK expressions, AUTOINCREMENT,
generated columns, DEFERRABLE, nor of the elements (expressions too) and WHERE clause of
indexes, which SQLAlchemy's inspector skips. `parse_create_table` and `parse_create_index`
read them from the text with the tokenizer of `normalize`, so that every rendering of one
statement (quoting, spacing, Alembic's batch rebuilds) gives the same result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from migration_gate.snapshot import normalize
from migration_gate.snapshot.index_details import IndexElement, collation_name
from migration_gate.snapshot.model import CheckConstraint
from migration_gate.snapshot.normalize import Token

__all__ = ["ParsedForeignKey", "ParsedTable", "parse_create_index", "parse_create_table"]

_DIALECT = "sqlite"

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
def parse_create_index(sql: str) -> tuple[tuple[IndexElement, ...], str | None]:
    """Elements (column names or expressions, with their COLLATE and DESC as written) and
    WHERE of an index."""
    tokens = normalize.tokenize(sql, bracket_quotes=True)
    inner, after = _group(tokens, _first_paren(tokens))
    elements = tuple(_index_element(part) for part in normalize.split_top_level(inner))
    predicate = None
    if after < len(tokens) and _word(tokens[after]) == "where":
        predicate = _check(tokens[after + 1 :])
    return elements, predicate


def _index_element(tokens: list[Token]) -> IndexElement:
    order = _word(tokens[-1])
    if order in ("asc", "desc"):
        tokens = tokens[:-1]
    collation = None
    if len(tokens) > 2 and _word(tokens[-2]) == "collate":
        collation, tokens = collation_name(_name(tokens[-1])), tokens[:-2]
    return IndexElement(_check(tokens), collation, descending=order == "desc")
