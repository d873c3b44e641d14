"""What a table's check constraints ask of each column, as far as they can be read (pure).

The probe reads the normalized check expressions of the snapshot (see
`snapshot.normalize.sql_expression`) and understands conjunctions of simple predicates on
one column: `c in (...)`, `c = 'x'`, `c > 0`, `c between 1 and 9`, `0 < c`, `c <> ''`,
`length(c) >= 3` (also `char_length`), and comparisons of two columns (`starts_at <
ends_at`). Anything else (`or`, functions, patterns) is left to the database: when it refuses
the probe's rows, the table is skipped with the database's own reason.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migration_gate.snapshot.model import Table
from migration_gate.snapshot.normalize import Token, matching_paren, split_top_level, tokenize

__all__ = ["Rule", "Rules", "as_moment", "literal", "read_rules"]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>", "!=": "<>"}
_LENGTH_FUNCTIONS = frozenset({"length", "char_length", "character_length"})


@dataclass
class Rule:
    """What the checks ask of one column."""

    allowed: tuple[Any, ...] = ()
    equal: list[Any] = field(default_factory=list)
    not_equal: set[Any] = field(default_factory=set)
    #: (bound, strict) pairs: the value must be above every `lower`, below every `upper`
    lower: list[tuple[Any, bool]] = field(default_factory=list)
    upper: list[tuple[Any, bool]] = field(default_factory=list)
    min_length: int = 0
    max_length: int | None = None


@dataclass(frozen=True)
class Rules:
    """The rules of one table: per column, and `less` pairs (a, b, strict): a < b (a <= b)."""

    columns: dict[str, Rule]
    less: tuple[tuple[str, str, bool], ...] = ()


def read_rules(table: Table) -> Rules:
    """The rules the check constraints of `table` state, as far as they can be read."""
    names = {c.name.lower(): c.name for c in table.columns}  # the expressions are lowercased
    rules: dict[str, Rule] = {}
    less: list[tuple[str, str, bool]] = []
    for check in table.check_constraints:
        for part in _conjuncts(tokenize(check.expression)):
            _read(part, names, rules, less)
    return Rules(rules, tuple(less))


def _conjuncts(tokens: Sequence[Token]) -> list[list[Token]]:
    """Split at top-level `and` (not the `and` of `between x and y`)."""
    parts: list[list[Token]] = [[]]
    depth, between = 0, False
    for tok in tokens:
        word = tok.text.lower() if tok.kind == "word" else None
        if tok.kind == "op" and tok.text in ("(", "["):
            depth += 1
        elif tok.kind == "op" and tok.text in (")", "]"):
            depth -= 1
        if depth == 0 and word == "between":
            between = True
        elif depth == 0 and word == "and":
            if between:
                between = False
            else:
                parts.append([])
                continue
        parts[-1].append(tok)
    return [_unwrap(p) for p in parts if p]


def _unwrap(tokens: list[Token]) -> list[Token]:
    while (
        len(tokens) > 2 and tokens[0].text == "(" and matching_paren(tokens, 0) == len(tokens) - 1
    ):
        tokens = tokens[1:-1]
    return tokens


def _read(
    part: list[Token],
    names: Mapping[str, str],
    rules: dict[str, Rule],
    less: list[tuple[str, str, bool]],
) -> None:
    texts = [t.text.lower() if t.kind in ("word", "ident") else t.text for t in part]
    name = names.get(texts[0]) if part[0].kind in ("word", "ident") else None
    if len(part) >= 4 and texts[1] == "in" and texts[2] == "(" and texts[-1] == ")":
        values = [literal(p) for p in split_top_level(part[3:-1])]
        if name is not None and values and all(v is not None for v in values):
            rules.setdefault(name, Rule()).allowed = tuple(values)
        return
    if name is not None and len(part) >= 5 and texts[1] == "between" and "and" in texts:
        k = texts.index("and")
        lo, hi = literal(part[2:k]), literal(part[k + 1 :])
        if lo is not None and hi is not None:
            rule = rules.setdefault(name, Rule())
            rule.lower.append((lo, False))
            rule.upper.append((hi, False))
        return
    ops = [i for i, t in enumerate(part) if t.kind == "op" and t.text in _FLIP]
    if len(ops) != 1:
        return
    i = ops[0]
    left, op, right = part[:i], part[i].text, part[i + 1 :]
    _compare(_operand(left, names), op, _operand(right, names), rules, less)


def _operand(tokens: Sequence[Token], names: Mapping[str, str]) -> tuple[str, Any] | None:
    """("column", name), ("length", name), ("value", literal) or None."""
    texts = [t.text.lower() if t.kind in ("word", "ident") else t.text for t in tokens]
    if len(tokens) == 1 and tokens[0].kind in ("word", "ident") and texts[0] in names:
        return ("column", names[texts[0]])
    if len(tokens) == 4 and texts[0] in _LENGTH_FUNCTIONS and texts[1] == "(" and texts[3] == ")":
        return ("length", names[texts[2]]) if texts[2] in names else None
    value = literal(tokens)
    return ("value", value) if value is not None else None


def _compare(
    left: tuple[str, Any] | None,
    op: str,
    right: tuple[str, Any] | None,
    rules: dict[str, Rule],
    less: list[tuple[str, str, bool]],
) -> None:
    if left is None or right is None:
        return
    if left[0] == "value":  # `0 < c`: the column on the left
        left, right, op = right, left, _FLIP[op]
    kind, name = left
    if right[0] == "column" and kind == "column":
        if op in ("<", "<="):
            less.append((name, right[1], op == "<"))
        elif op in (">", ">="):
            less.append((right[1], name, op == ">"))
        return
    if right[0] != "value":
        return
    value, rule = right[1], rules.setdefault(name, Rule())
    if kind == "length":
        if isinstance(value, int):
            _length(rule, op, value)
        return
    if op == "=":
        rule.equal.append(value)
    elif op in ("<>", "!="):
        rule.not_equal.add(value)
    elif op in (">", ">="):
        rule.lower.append((value, op == ">"))
    else:
        rule.upper.append((value, op == "<"))


def _length(rule: Rule, op: str, n: int) -> None:
    if op in (">", ">=", "="):
        rule.min_length = max(rule.min_length, n + (op == ">"))
    if op in ("<", "<=", "="):
        top = n - (op == "<")
        rule.max_length = top if rule.max_length is None else min(rule.max_length, top)


def literal(tokens: Iterable[Token]) -> Any:
    """A number or a string literal (dates stay strings); None for anything else."""
    toks = list(tokens)
    texts = [t.text for t in toks]
    if len(toks) == 1 and toks[0].kind == "str" and texts[0].startswith("'"):
        return texts[0][1:-1].replace("''", "'")
    sign = -1 if texts[:1] == ["-"] else 1
    body = texts[1:] if texts[:1] in (["-"], ["+"]) else texts
    if len(body) == 1 and re.fullmatch(r"\d+", body[0]):
        return sign * int(body[0])
    if len(body) == 1 and re.fullmatch(r"\d*\.\d+|\d+\.\d*", body[0]):
        return sign * float(body[0])
    return None


def as_moment(value: Any) -> dt.datetime | None:
    """A string literal read as a date or timestamp (for bounds on such columns)."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:  # the probe's moments are naive (UTC where aware)
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment
