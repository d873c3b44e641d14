"""What the statements of a revision say about a change the probe saw (pure).

The watch keeps the statements of the walk's connection that delete, update or change tables
(`watch.Sent`). For a table that lost rows this finds the DELETE or TRUNCATE that names it,
a DELETE of a parent whose foreign key cascades, or a DROP TABLE followed by a CREATE TABLE
of the same name; for a column whose values changed, the UPDATE that sets it or the ALTER
TABLE that dropped and added it again. When no statement names the table (a trigger, a
function, another connection), the cause is `unknown` and the message says only what the
numbers say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migration_gate.chain.sql_capture import render_literal, render_statement
from migration_gate.checks.probe.watch import Sent
from migration_gate.snapshot.model import Table

__all__ = ["Cause", "Parsed", "parse", "render", "rows_cause", "values_cause"]

_SHOWN = 160
_IDENT = r'(?:"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w$]+)'
_NAME = rf"(?:{_IDENT}\s*\.\s*)?({_IDENT})"
_LEAD = r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*"
_PATTERNS = (
    ("delete", re.compile(rf"{_LEAD}delete\s+from\s+(?:only\s+)?{_NAME}", re.I | re.S)),
    ("update", re.compile(rf"{_LEAD}update\s+(?:only\s+)?{_NAME}", re.I | re.S)),
    ("drop", re.compile(rf"{_LEAD}drop\s+table\s+(?:if\s+exists\s+)?{_NAME}", re.I | re.S)),
    (
        "create",
        re.compile(
            rf"{_LEAD}create\s+(?:(?:temp|temporary|unlogged)\s+)?table\s+"
            rf"(?:if\s+not\s+exists\s+)?{_NAME}",
            re.I | re.S,
        ),
    ),
    (
        "drop column",
        re.compile(
            rf"{_LEAD}alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?{_NAME}\s+drop\s+"
            rf"(?:column\s+)?(?:if\s+exists\s+)?({_IDENT})",
            re.I | re.S,
        ),
    ),
)
_TRUNCATE = re.compile(rf"{_LEAD}truncate\s+(?:table\s+)?(.*)", re.I | re.S)
_OPTIONS = re.compile(r"\s+(?:cascade|restrict|restart|continue)\b", re.I)


@dataclass(frozen=True)
class Parsed:
    """One statement (or one part of a multi-statement string), as far as it names tables."""

    verb: str
    table: str
    column: str | None
    sent: Sent


@dataclass(frozen=True)
class Cause:
    """What happened, in words for a message, with the statement that did it."""

    kind: str
    text: str = ""
    statement: str | None = None
    count: int | None = None


def _unquote(name: str) -> str:
    if name[:1] in ('"', "`", "["):
        return name[1:-1].replace('""', '"')
    return name.lower()


def parse(sent: Sequence[Sent]) -> list[Parsed]:
    """The statements that delete, update, drop or create a table, with the table named."""
    out: list[Parsed] = []
    for s in sent:
        for part in s.sql.split(";"):
            m = _TRUNCATE.match(part)
            if m:
                names = _OPTIONS.split(m.group(1))[0]
                for name in re.findall(_NAME, re.sub(r"^\s*only\s+", "", names, flags=re.I)):
                    out.append(Parsed("truncate", _unquote(name), None, s))
                continue
            for verb, pattern in _PATTERNS:
                m = pattern.match(part)
                if m:
                    column = _unquote(m.group(2)) if verb == "drop column" else None
                    out.append(Parsed(verb, _unquote(m.group(1)), column, s))
                    break
    return out


def _same(a: str, b: str) -> bool:
    return a == b or a.lower() == b.lower()


def render(sent: Sent) -> str:
    """The statement with its parameters written in, on one line, shortened."""
    params: Any = sent.parameters
    many = isinstance(params, list) and params and isinstance(params[0], tuple | list | dict)
    if many:
        params = params[0]
    sql = sent.sql
    if isinstance(params, Mapping) and re.search(r":\w", sql) and "%(" not in sql:
        sql = re.sub(
            r"(?<!:):(\w+)",
            lambda m: render_literal(params[m.group(1)]) if m.group(1) in params else m.group(0),
            sql,
        )
    elif isinstance(params, tuple | list) and "?" in sql:
        values = iter(params)
        sql = re.sub(r"\?", lambda m: render_literal(next(values, None)), sql)
    elif params:
        sql = render_statement(sql, params)
    text = " ".join(sql.split()).rstrip(";")
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 1] + "…"
    return text + (f" ({len(sent.parameters)} parameter sets)" if many else "")


def _by(found: Sequence[Parsed]) -> tuple[str, int | None]:
    """`DELETE …` (and n more), and the rows they say they touched (None: unknown)."""
    first = render(found[0].sent)
    more = len({id(p.sent) for p in found}) - 1
    text = first + (f" (and {more} more statement{'s' * (more > 1)})" if more else "")
    counts = [p.sent.rowcount for p in found]
    return text, (sum(counts) if all(c >= 0 for c in counts) else None)


def rows_cause(table: str, parsed: Sequence[Parsed], before: Table | None) -> Cause:
    """Why rows of `table` are gone, as far as the statements tell."""
    mine = [p for p in parsed if _same(p.table, table)]
    deletes = [p for p in mine if p.verb == "delete"]
    if deletes:
        text, count = _by(deletes)
        return Cause("delete", f"deleted by {text}", text, count)
    truncates = [p for p in mine if p.verb == "truncate"]
    if truncates:
        text, _ = _by(truncates)
        return Cause("truncate", f"removed by {text}", text)
    verbs = [p.verb for p in mine]
    if "drop" in verbs and "create" in verbs[verbs.index("drop") :]:
        return Cause(
            "recreated", "the table was dropped and created again (DROP TABLE, then CREATE TABLE)"
        )
    for fk in before.foreign_keys if before is not None else ():
        if fk.on_delete.upper() != "CASCADE":
            continue
        parent = [
            p for p in parsed if _same(p.table, fk.ref_table) and p.verb in ("delete", "truncate")
        ]
        if parent:
            text, _ = _by(parent)
            return Cause(
                "cascade", f"deleted through ON DELETE CASCADE from {fk.ref_table} by {text}", text
            )
    return Cause("unknown")


def values_cause(
    table: str, column: str, uniform: str | None, parsed: Sequence[Parsed], after: Table | None
) -> Cause:
    """Why the values of `table.column` changed, as far as the statements and the schema
    tell. `uniform`: the one value every changed row holds now (its `show` form), if so."""
    mine = [p for p in parsed if _same(p.table, table)]
    if any(p.verb == "drop column" and p.column and _same(p.column, column) for p in mine):
        return Cause("column-recreated", f"column {column} was dropped and added again")
    set_it = re.compile(rf"\bset\b.*\b{re.escape(column)}\b", re.I | re.S)
    updates = [p for p in mine if p.verb == "update" and set_it.search(p.sent.sql)]
    if updates:
        text, _ = _by(updates)
        return Cause("update", f"overwritten by {text}", text)
    if uniform == "NULL":
        return Cause("null", "set to NULL")
    col = after.column(column) if after is not None else None
    default = col.default if col is not None else None
    if uniform is not None and default is not None and uniform.strip("'") == default.strip("'"):
        return Cause("default", f"reset to its default {default}")
    return Cause("unknown")
