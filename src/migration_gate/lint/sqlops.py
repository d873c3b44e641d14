"""What a captured SQL statement does to tables and columns, read from its tokens.

Only the statements that matter to the destructive-operation rule are understood: ``DROP
TABLE``, ``TRUNCATE``, ``CREATE TABLE``, ``INSERT INTO ... SELECT`` (to recognise a table
rebuild), and the ``ALTER TABLE`` actions ``DROP COLUMN``, ``ALTER COLUMN ... TYPE``,
``RENAME COLUMN`` and ``RENAME TO``. Anything else yields nothing. Pure: text in, values out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from migration_gate.snapshot.normalize import Token, split_top_level, tokenize

__all__ = ["SqlOp", "parse_ops"]


@dataclass(frozen=True)
class SqlOp:
    """One effect of a statement. `kind`: "drop table", "truncate", "create table",
    "copy rows" (INSERT INTO table ... SELECT ... FROM source), "drop column", "alter type",
    "rename column", "rename table"."""

    kind: str
    table: str
    column: str | None = None
    #: new name (renames), source table (copy rows), new type text (alter type)
    other: str | None = None


def _word(tok: Token | None, *words: str) -> bool:
    return tok is not None and tok.kind == "word" and tok.text.lower() in words


def _name(tokens: Sequence[Token], i: int) -> tuple[str | None, int]:
    """A possibly schema-qualified name at `i`: (last part, index after it)."""
    name: str | None = None
    while i < len(tokens) and tokens[i].kind in ("word", "ident"):
        name = tokens[i].text
        if i + 1 < len(tokens) and tokens[i + 1] == Token("op", "."):
            i += 2
            continue
        i += 1
        break
    return name, i


def _skip(tokens: Sequence[Token], i: int, *words: str) -> int:
    while i < len(tokens) and _word(tokens[i], *words):
        i += 1
    return i


def _skip_if_exists(tokens: Sequence[Token], i: int) -> int:
    if _word(tokens[i] if i < len(tokens) else None, "if"):
        i += 1
        i = _skip(tokens, i, "not")
        i = _skip(tokens, i, "exists")
    return i


def parse_ops(sql: str) -> list[SqlOp]:
    """The table and column effects of one statement."""
    tokens = tokenize(sql)
    if not tokens:
        return []
    first = tokens[0].text.lower() if tokens[0].kind == "word" else ""
    if first == "drop" and _word(tokens[1] if len(tokens) > 1 else None, "table"):
        return [SqlOp("drop table", t) for t in _name_list(tokens, _skip_if_exists(tokens, 2))]
    if first == "truncate":
        i = _skip(tokens, 1, "table", "only")
        return [SqlOp("truncate", t) for t in _name_list(tokens, i)]
    if first == "create":
        i = _skip(tokens, 1, "temp", "temporary", "unlogged", "global", "local")
        if _word(tokens[i] if i < len(tokens) else None, "table"):
            name, _ = _name(tokens, _skip_if_exists(tokens, i + 1))
            return [SqlOp("create table", name)] if name else []
        return []
    if first == "insert" and _word(tokens[1] if len(tokens) > 1 else None, "into"):
        return _copy_rows(tokens)
    if first == "alter" and _word(tokens[1] if len(tokens) > 1 else None, "table"):
        i = _skip(tokens, _skip_if_exists(tokens, 2), "only")
        table, i = _name(tokens, i)
        if table is None:
            return []
        return [op for action in split_top_level(tokens[i:]) for op in _action(table, action)]
    return []


def _name_list(tokens: Sequence[Token], i: int) -> list[str]:
    names: list[str] = []
    for part in split_top_level(tokens[i:]):
        name, _ = _name(part, 0)
        if name and not _word(part[0], "cascade", "restrict"):
            names.append(name)
    return names


def _copy_rows(tokens: Sequence[Token]) -> list[SqlOp]:
    target, _ = _name(tokens, 2)
    words = [t.text.lower() if t.kind == "word" else "" for t in tokens]
    if target is None or "select" not in words or "from" not in words:
        return []
    source, _ = _name(tokens, len(words) - words[::-1].index("from"))
    return [SqlOp("copy rows", target, other=source)] if source else []


def _action(table: str, action: Sequence[Token]) -> list[SqlOp]:
    head = action[0].text.lower() if action and action[0].kind == "word" else ""
    if head == "drop":
        if _word(action[1] if len(action) > 1 else None, "constraint"):
            return []
        i = _skip_if_exists(action, _skip(action, 1, "column"))
        column, _ = _name(action, i)
        return [SqlOp("drop column", table, column)] if column else []
    if head == "alter":
        i = _skip(action, 1, "column")
        column, i = _name(action, i)
        i = _skip(action, i, "set", "data")
        if column and _word(action[i] if i < len(action) else None, "type"):
            rest = action[i + 1 :]
            end = next((k for k, t in enumerate(rest) if _word(t, "using", "collate")), len(rest))
            return [SqlOp("alter type", table, column, " ".join(t.text for t in rest[:end]))]
        return []
    if head == "rename":
        if _word(action[1] if len(action) > 1 else None, "to"):
            new, _ = _name(action, 2)
            return [SqlOp("rename table", table, other=new)] if new else []
        i = _skip(action, 1, "column")
        column, i = _name(action, i)
        if column and _word(action[i] if i < len(action) else None, "to"):
            new, _ = _name(action, i + 1)
            return [SqlOp("rename column", table, column, new)] if new else []
    return []
