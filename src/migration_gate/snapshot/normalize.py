"""Text normalization shared by the PostgreSQL and SQLite capture: pure functions, no I/O.

Databases render the same meaning in many ways: PostgreSQL adds casts (`'x'::character
varying`, `(role)::text`) and turns `IN (...)` into `= ANY (ARRAY[...])`; SQLite keeps the
text of the `CREATE` statement as it was written, in whatever quoting and spacing the author
(or Alembic's batch mode) used. Everything here turns such text into one canonical spelling,
with the tokenizer and renderer of `sqltokens` and the type names of `sqltypes` (both
re-exported here): `sql_expression`, `default`, `view_definition`, `trigger_definition`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from migration_gate.snapshot.sqltokens import (
    Token,
    collapse_whitespace,
    is_callable,
    matching_paren,
    render,
    split_top_level,
    tokenize,
)
from migration_gate.snapshot.sqltypes import sql_type, type_family

__all__ = [
    "Token",
    "collapse_whitespace",
    "default",
    "function_body",
    "matching_paren",
    "render",
    "split_top_level",
    "sql_expression",
    "sql_type",
    "strip_outer_parens",
    "tokenize",
    "trigger_definition",
    "type_family",
    "view_definition",
]

_LPAREN = Token("op", "(")
_CAST = Token("op", "::")
_SEMICOLON = Token("op", ";")

# -- expression rewrites --------------------------------------------------------------------

#: types whose casts carry no meaning for comparison: `(role)::text`, `'a'::character varying`
_TEXTY = frozenset({"text", "varchar", "character varying", "char", "character", "bpchar", "name"})
_MULTI_WORD_TYPES = (
    ("character", "varying"),
    ("double", "precision"),
    ("bit", "varying"),
)


def _cast_end(tokens: Sequence[Token], start: int) -> tuple[int, str]:
    """Parse the type name after `::` at `start`; return (end index, base type name)."""
    words = [t.text.lower() for t in tokens]
    i = start
    base = words[i] if i < len(words) else ""
    i += 1
    for first, second in _MULTI_WORD_TYPES:
        if base == first and words[i : i + 1] == [second]:
            base, i = f"{first} {second}", i + 1
    while words[i : i + 1] == ["."] and i + 1 < len(words):
        base, i = f"{base}.{words[i + 1]}", i + 2
    if words[i : i + 1] == ["("]:
        i = matching_paren(tokens, i) + 1
    if words[i : i + 3] in (["with", "time", "zone"], ["without", "time", "zone"]):
        i += 3
    while words[i : i + 2] == ["[", "]"]:
        i += 2
    return i, base


def _is_literal(tokens: Sequence[Token]) -> bool:
    """Whether the operand that ends the tokens is a literal."""
    if not tokens:
        return False
    prev = tokens[-1]
    return prev.kind in ("str", "num") or (
        prev.kind == "word" and prev.text.lower() in ("null", "true", "false")
    )


def _drop_casts(tokens: list[Token]) -> list[Token]:
    """Drop casts to text types anywhere (`(role)::text`) and casts of literals
    (`0::numeric`, `'a'::message_role`, `'s'::regclass`): the context gives their type."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == _CAST:
            end, base = _cast_end(tokens, i + 1)
            if base in _TEXTY or _is_literal(out):
                i = end
                continue
        out.append(tokens[i])
        i += 1
    return out


def _any_array_to_in(tokens: list[Token]) -> list[Token]:
    """`x = ANY (ARRAY[a, b])` → `x IN (a, b)`; `x <> ALL (ARRAY[a, b])` → `x NOT IN (a, b)`."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        texts = [t.text.lower() for t in tokens[i : i + 5]]
        if (texts[1:] == ["any", "(", "array", "["] and texts[0] == "=") or (
            texts[1:] == ["all", "(", "array", "["] and texts[0] in ("<>", "!=")
        ):
            close_paren = matching_paren(tokens, i + 2)
            close_bracket = matching_paren(tokens, i + 4)
            if close_bracket + 1 == close_paren:
                if texts[0] != "=":
                    out.append(Token("word", "not"))
                out += [Token("word", "in"), Token("op", "(")]
                out += _any_array_to_in(tokens[i + 5 : close_bracket])
                out.append(Token("op", ")"))
                i = close_paren + 1
                continue
        out.append(tokens[i])
        i += 1
    return out


def _is_atom(tokens: Sequence[Token]) -> bool:
    """A single operand: literal, (dotted) name, or signed number."""
    if len(tokens) == 1:
        return tokens[0].kind in ("str", "num", "ident", "word")
    if len(tokens) == 2 and tokens[0].text in ("-", "+") and tokens[1].kind == "num":
        return True
    names = tokens[0::2]
    dots = tokens[1::2]
    return (
        len(tokens) % 2 == 1
        and all(t.kind in ("word", "ident") for t in names)
        and all(t.text == "." for t in dots)
    )


#: words whose "(" opens a list or subquery that must keep its parentheses
_LIST_WORDS = frozenset({"in", "values", "any", "all", "exists", "check"})


def _drop_redundant_parens(tokens: list[Token]) -> list[Token]:
    """Remove parentheses around a single operand (not a call's or a list's) and `((x))`."""
    changed = True
    while changed:
        changed = False
        for i, tok in enumerate(tokens):
            if tok != _LPAREN:
                continue
            close = matching_paren(tokens, i)
            inner = tokens[i + 1 : close]
            prev = tokens[i - 1] if i else None
            after_call = prev is not None and (
                is_callable(prev) or (prev.kind == "word" and prev.text.lower() in _LIST_WORDS)
            )
            double = strip_outer_parens(inner) != inner
            if close < len(tokens) and ((not after_call and _is_atom(inner)) or double):
                tokens = tokens[:i] + inner + tokens[close + 1 :]
                changed = True
                break
    return strip_outer_parens(tokens)


def strip_outer_parens(tokens: list[Token]) -> list[Token]:
    """`((a = b))` → `a = b`: drop parentheses that enclose the whole expression."""
    while (
        len(tokens) >= 2 and tokens[0] == _LPAREN and matching_paren(tokens, 0) == len(tokens) - 1
    ):
        tokens = tokens[1:-1]
    return tokens


def _expression_tokens(text: str, *, dialect: str | None) -> list[Token]:
    tokens = tokenize(text, bracket_quotes=dialect == "sqlite")
    while tokens and tokens[-1] == _SEMICOLON:
        tokens.pop()
    return _canonical(_current_time(tokens, sqlite=dialect == "sqlite"))


#: calls that are another spelling of CURRENT_TIMESTAMP (PostgreSQL: the transaction's start)
_NOW_CALLS = frozenset({"now", "transaction_timestamp"})
#: SQLite's date and time functions of 'now' alone, and the keyword each one equals
_SQLITE_NOW = {"datetime": "current_timestamp", "date": "current_date", "time": "current_time"}
_RPAREN = Token("op", ")")


def _current_time(tokens: list[Token], *, sqlite: bool) -> list[Token]:
    """One spelling of the current time: `now()` and `transaction_timestamp()` (and, on
    SQLite, `datetime('now')`, `date('now')`, `time('now')`) become `current_timestamp`
    (`current_date`, `current_time`): the same function, so the same meaning."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.text.lower() if tok.kind == "word" else ""
        qualified = bool(out) and out[-1].text == "."
        if word in _NOW_CALLS and not qualified and tokens[i + 1 : i + 3] == [_LPAREN, _RPAREN]:
            out.append(Token("word", "current_timestamp"))
            i += 3
            continue
        if (
            sqlite
            and word in _SQLITE_NOW
            and tokens[i + 1 : i + 2] == [_LPAREN]
            and tokens[i + 3 : i + 4] == [_RPAREN]
            and tokens[i + 2].kind == "str"
            and tokens[i + 2].text.lower() == "'now'"
        ):
            out.append(Token("word", _SQLITE_NOW[word]))
            i += 4
            continue
        out.append(tok)
        i += 1
    return out


def _canonical(tokens: list[Token]) -> list[Token]:
    # parentheses twice: `ANY ((ARRAY[...])::text[])` only matches once they are gone
    tokens = _drop_redundant_parens(_drop_casts(tokens))
    return _drop_redundant_parens(_any_array_to_in(tokens))


@lru_cache(maxsize=8192)
def sql_expression(text: str, *, dialect: str | None = None) -> str:
    """Canonical spelling of a SQL expression (check, index element, predicate, view).

    Collapses white space; lowercases keywords and identifiers (not string literals); drops
    identifier quotes, redundant parentheses, casts to text types and casts of literals;
    rewrites PostgreSQL's `x = ANY (ARRAY[...])` as `x in (...)` and every spelling of the
    current time as one. With `dialect="sqlite"`, `[name]` is a quoted identifier.
    """
    return render(_expression_tokens(text, dialect=dialect))


_QUOTED_NUMBER_RE = re.compile(r"^'([-+]?(?:\d+\.?\d*|\.\d+))'$")


#: SQLite stores booleans as integers: TRUE is 1 (what SQLAlchemy's `sa.true()` renders)
_SQLITE_BOOLEANS = {"true": "1", "false": "0"}


@lru_cache(maxsize=8192)
def default(dialect: str, text: str | None) -> str | None:
    """Canonical server default: `'x'::character varying` → `'x'`, `('x')` → `'x'`,
    `nextval('s'::regclass)` → `nextval('s')`, `'-1'::integer` → `-1`, `now()` and
    `CURRENT_TIMESTAMP` → `current_timestamp` (see `_current_time`); on SQLite, `TRUE` → `1`."""
    if text is None or not text.strip():
        return None
    tokens = _expression_tokens(text, dialect=dialect)
    if len(tokens) == 1 and tokens[0].kind == "str":
        m = _QUOTED_NUMBER_RE.match(tokens[0].text)
        if m:
            return m.group(1)
    rendered = render(tokens)
    if dialect == "sqlite":
        return _SQLITE_BOOLEANS.get(rendered, rendered)
    return rendered


def function_body(text: str | None) -> str:
    """A function body with white space collapsed (its case and literals are kept)."""
    return collapse_whitespace(text or "")


# -- statements -----------------------------------------------------------------------------


def _skip_create_header(tokens: list[Token], kind: str) -> tuple[int, Token | None]:
    """Index after `CREATE [TEMP] <kind> [IF NOT EXISTS] [schema.]name`, and the name."""
    words = [t.text.lower() for t in tokens]
    try:
        i = words.index(kind) + 1
    except ValueError:
        return 0, None
    if words[i : i + 3] == ["if", "not", "exists"]:
        i += 3
    name = tokens[i] if i < len(tokens) else None
    i += 1
    while i + 1 < len(tokens) and tokens[i].text == ".":
        name, i = tokens[i + 1], i + 2
    return i, name


def view_definition(text: str, *, dialect: str | None = None) -> str:
    """The query of a view, canonical: from a whole `CREATE VIEW v [(cols)] AS ...` (SQLite)
    or from the query alone (`pg_get_viewdef`). A column list is kept as `(a, b) as ...`."""
    tokens = tokenize(text, bracket_quotes=dialect == "sqlite")
    if tokens and tokens[0].text.lower() == "create":
        start, _ = _skip_create_header(tokens, "view")
        head: list[Token] = []
        if start < len(tokens) and tokens[start].text == "(":
            end = matching_paren(tokens, start)
            head = [*tokens[start : end + 1], Token("word", "as")]
            start = end + 1
        if start < len(tokens) and tokens[start].text.lower() == "as":
            start += 1
        rest = render(head) + " " if head else ""
        return rest + _statement(tokens[start:])
    return _statement(tokens)


def _statement(tokens: list[Token]) -> str:
    while tokens and tokens[-1] == _SEMICOLON:
        tokens = tokens[:-1]
    return render(_canonical(tokens))


def trigger_definition(text: str, *, dialect: str | None = None) -> str:
    """A `CREATE TRIGGER` statement without its header and table: `before update for each
    row execute function touch()`. Name and table are recorded apart."""
    tokens = tokenize(text, bracket_quotes=dialect == "sqlite")
    start, _ = _skip_create_header(tokens, "trigger")
    body = tokens[start:]
    prefix = (
        [Token("word", "constraint")]
        if any(t.text.lower() == "constraint" for t in tokens[:start])
        else []
    )
    for i, tok in enumerate(body):
        if tok.kind == "word" and tok.text.lower() == "on":
            end = i + 2
            while end + 1 < len(body) and body[end].text == ".":
                end += 2
            body = body[:i] + body[end:]
            break
    return render(prefix + body)
