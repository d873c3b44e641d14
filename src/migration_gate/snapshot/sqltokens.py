"""A small SQL tokenizer and a renderer with one canonical spacing: pure functions, no I/O.

`tokenize` splits SQL into tokens (white space and comments dropped, quoted identifiers
unquoted); `render` joins tokens again with fixed spacing, words and identifiers lowercased,
string literals kept. `normalize` builds its rewrites on both; lint and the data probe use
them to read SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "KEYWORDS",
    "Token",
    "collapse_whitespace",
    "is_callable",
    "matching_paren",
    "render",
    "split_top_level",
    "tokenize",
]


class Token(NamedTuple):
    """One SQL token. `kind` is "str", "ident" (a quoted identifier, unquoted in `text`),
    "word" (a bare word: keyword or identifier), "num" or "op"."""

    kind: str
    text: str


# White space and comments are skipped as the prefix of each token; the most frequent
# kinds come first.
_TOKEN_PATTERN = r"""
    \s*(?:(?:--[^\n]*|/\*.*?\*/)\s*)*
    (?:
     (?P<str>[EeXxBbNn]?'(?:[^']|'')*')
    |(?P<word>[^\W\d]\w*|\$\d+)
    |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<dq>"(?:[^"]|"")*")
    |(?P<bq>`(?:[^`]|``)*`)
    {brackets}
    |(?P<dollar>\$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$)
    |(?P<op>::|\|\||<=|>=|<>|!=|->>|->|\#>>|\#>|@>|<@|&&|!?~~?\*?|[^\w\s'"`])
    )
    """
_TOKEN_RE = re.compile(_TOKEN_PATTERN.format(brackets=""), re.S | re.X)
_SQLITE_TOKEN_RE = re.compile(_TOKEN_PATTERN.format(brackets=r"|(?P<brk>\[[^\]]*\])"), re.S | re.X)
_QUOTES = {"dq": '"', "bq": "`"}


def tokenize(text: str, *, bracket_quotes: bool = False) -> list[Token]:
    """Split SQL into tokens, dropping white space and comments.

    `bracket_quotes` reads `[name]` as a quoted identifier (SQLite); otherwise brackets
    are array syntax (PostgreSQL).
    """
    pattern = _SQLITE_TOKEN_RE if bracket_quotes else _TOKEN_RE
    tokens: list[Token] = []
    append = tokens.append
    for m in pattern.finditer(text):
        kind = m.lastgroup or "op"
        value = m.group(kind)
        if kind in _RENAMED:
            kind, value = _RENAMED[kind], _unquote(kind, value)
        append(_new_token(Token, (kind, value)))
    return tokens


_new_token = tuple.__new__  # Token(kind, text) without the Python-level __new__: hot path
_RENAMED = {"dq": "ident", "bq": "ident", "brk": "ident", "dollar": "str"}


def _unquote(kind: str, value: str) -> str:
    if kind == "dollar":
        return value
    if kind == "brk":
        return value[1:-1]
    q = _QUOTES[kind]
    return value[1:-1].replace(q + q, q)


def matching_paren(tokens: Sequence[Token], start: int) -> int:
    """Index of the `)` or `]` that closes the bracket at `start` (or `len(tokens)`)."""
    depth = 0
    for i in range(start, len(tokens)):
        tok = tokens[i]
        if tok.kind != "op":
            continue
        if tok.text in ("(", "["):
            depth += 1
        elif tok.text in (")", "]"):
            depth -= 1
            if depth == 0:
                return i
    return len(tokens)


def split_top_level(tokens: Sequence[Token], sep: str = ",") -> list[list[Token]]:
    """Split at `sep` tokens that are outside any parentheses or brackets."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.kind == "op":
            text = tok.text
            if text in ("(", "["):
                depth += 1
            elif text in (")", "]"):
                depth -= 1
            elif depth == 0 and text == sep:
                parts.append([])
                continue
        parts[-1].append(tok)
    return [p for p in parts if p]


# -- rendering ------------------------------------------------------------------------------

#: words after which "(" opens a parenthesized expression or list, not a function call
# fmt: off
KEYWORDS = frozenset({
    "all", "and", "any", "as", "between", "by", "case", "check", "default", "distinct", "else",
    "end", "escape", "exists", "filter", "from", "having", "ilike", "in", "is", "join", "key",
    "like", "not", "on", "or", "over", "references", "return", "returns", "select", "set",
    "similar", "then", "to", "unique", "using", "values", "when", "where", "with", "within",
})
# fmt: on
_LPAREN = Token("op", "(")
_LBRACKET = Token("op", "[")
_CAST = Token("op", "::")
_SEMICOLON = Token("op", ";")
_NO_SPACE_BEFORE = frozenset({")", "]", ",", ".", "::", ";"})
_NO_SPACE_AFTER = frozenset({"(", "[", ".", "::"})
_UNARY_AFTER = frozenset({"(", "[", ",", "=", "<", ">", "<=", ">=", "<>", "!=", "+", "-", "*", "/"})


def is_callable(tok: Token) -> bool:
    """Whether "(" after this token opens a call's arguments (not a list or a group)."""
    return tok.kind == "ident" or (tok.kind == "word" and tok.text.lower() not in KEYWORDS)


def _needs_space(prev: Token, tok: Token, before_prev: Token | None) -> bool:
    if tok.kind == "op" and tok.text in _NO_SPACE_BEFORE:
        return False
    if prev.kind == "op" and prev.text in _NO_SPACE_AFTER:
        return False
    if tok == _LPAREN and is_callable(prev):
        return False
    if tok == _LBRACKET and (prev.kind in ("word", "ident") or prev.text in (")", "]")):
        return False
    # a unary sign sticks to its operand: "x > -1", "(-1)"
    return not (
        prev.kind == "op"
        and prev.text in ("-", "+")
        and (
            before_prev is None
            or (before_prev.kind == "op" and before_prev.text in _UNARY_AFTER)
            or (before_prev.kind == "word" and before_prev.text.lower() in KEYWORDS)
        )
    )


def render(tokens: Sequence[Token]) -> str:
    """Join tokens with canonical spacing. Words and identifiers are lowercased and
    identifiers lose their quotes; string literals are kept as they are."""
    out: list[str] = []
    for i, tok in enumerate(tokens):
        text = tok.text if tok.kind == "str" else tok.text.lower()
        if i and _needs_space(tokens[i - 1], tok, tokens[i - 2] if i > 1 else None):
            out.append(" ")
        out.append(text)
    return "".join(out)


def collapse_whitespace(text: str) -> str:
    """Runs of white space become one space; ends are stripped."""
    return " ".join(text.split())
