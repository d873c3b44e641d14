"""The details of an index element, and the details an index lost (pure).

An index element in a snapshot is one canonical string (`Index.elements`): the column name
or normalized expression, then its details, each only when it is not the default:
``<expression>[ COLLATE <collation>][ DESC][ NULLS FIRST|NULLS LAST]``. Collations are the
effective ones (an index on a column declared `COLLATE NOCASE` collates NOCASE), named in
lower case, and the default one (SQLite's BINARY, PostgreSQL's database default) is left
out; PostgreSQL's POSIX is C. `element_text` composes the string, `parse_element` reads it.

Alembic's batch mode rebuilds a SQLite table and recreates its indexes from SQLAlchemy's
reflection, which loses an element's DESC and COLLATE and skips expression indexes (and,
before SQLAlchemy 2.0, a partial index's WHERE). `index_detail_losses` names each detail
an index lost between two snapshots, with a severity hint: "error" when what the index
accepts or finds changes (unique, WHERE, the collation of a unique index, an expression
of a unique index), "warning" when only its order or speed does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from migration_gate.snapshot.model import Index

__all__ = [
    "IndexDetailLoss",
    "IndexElement",
    "element_text",
    "index_detail_losses",
    "parse_element",
]

_NULLS = (" NULLS FIRST", " NULLS LAST")
_COLLATE = " COLLATE "
#: collations that are another name of one (PostgreSQL: POSIX is C)
_COLLATION_ALIASES = {"posix": "c"}
#: an element that is a bare (normalized) column name, not an expression
_NAME_RE = re.compile(r"[^\s()'\",|+*/<>=:-]+")


@dataclass(frozen=True)
class IndexElement:
    """One key of an index: what it indexes and how it orders and compares it."""

    expression: str
    collation: str | None = None
    descending: bool = False
    #: "first" / "last" when not the default for the direction, else None
    nulls: str | None = None

    @property
    def is_expression(self) -> bool:
        """True for an expression (`lower(email)`), false for a column name."""
        return _NAME_RE.fullmatch(self.expression) is None


def collation_name(name: str | None, *, default: frozenset[str] = frozenset()) -> str | None:
    """The collation as a snapshot records it: lower case, None for the default."""
    if not name:
        return None
    lowered = name.lower()
    if lowered in default:
        return None
    return _COLLATION_ALIASES.get(lowered, lowered)


def element_text(element: IndexElement) -> str:
    """The canonical string of an element (see the module docstring)."""
    text = element.expression
    if element.collation:
        text += _COLLATE + element.collation
    if element.descending:
        text += " DESC"
    if element.nulls:
        text += f" NULLS {element.nulls.upper()}"
    return text


def parse_element(text: str) -> IndexElement:
    """The element of a canonical string (`element_text` read back)."""
    nulls = None
    for suffix in _NULLS:
        if text.endswith(suffix):
            nulls, text = suffix.rsplit(" ", 1)[1].lower(), text[: -len(suffix)]
    descending = text.endswith(" DESC")
    text = text.removesuffix(" DESC")
    collation = None
    at = text.rfind(_COLLATE)
    if at >= 0 and _NAME_RE.fullmatch(text[at + len(_COLLATE) :]):
        text, collation = text[:at], text[at + len(_COLLATE) :]
    return IndexElement(text, collation, descending, nulls)


Detail = Literal["unique", "predicate", "collation", "order", "expression"]


@dataclass(frozen=True)
class IndexDetailLoss:
    """One detail an index had before and has no more."""

    index: str
    detail: Detail
    #: the detail as it was, and what took its place (None: nothing)
    before: str | None
    after: str | None
    severity: Literal["error", "warning"]

    def sentence(self) -> str:
        """`index ix_t_score lost its order: score DESC → score`."""
        what = {
            "unique": "is no longer unique",
            "predicate": "lost its WHERE clause (it now covers every row)",
            "collation": "lost its collation",
            "order": "lost its order",
            "expression": "lost an expression",
        }[self.detail]
        shown = f": {self.before} → {self.after or 'none'}" if self.before else ""
        return f"index {self.index} {what}{shown}"


def index_detail_losses(before: Index, after: Index | None) -> list[IndexDetailLoss]:
    """Each detail `before` had that `after` (the same index later; None: it is gone) has
    not: uniqueness, WHERE, and per element its collation, order and expression. Details
    that `after` gained, or elements that are other columns altogether, are not losses.
    An index of columns only that is gone altogether is not a loss either: a rebuild from
    reflection recreates every such index, so the migration dropped it (by a name it
    computed, or with a column it covered); only an expression index vanishes unasked."""
    name = before.name
    severe: Literal["error", "warning"] = "error" if before.unique else "warning"
    if after is None:
        if not any(parse_element(e).is_expression for e in before.elements):
            return []
        shown = ", ".join(before.elements)
        return [IndexDetailLoss(name, "expression", f"({shown})", None, severe)]
    out: list[IndexDetailLoss] = []
    if before.unique and not after.unique:
        out.append(IndexDetailLoss(name, "unique", "unique", None, "error"))
    if before.predicate is not None and after.predicate != before.predicate:
        where = f"WHERE {after.predicate}" if after.predicate else None
        out.append(IndexDetailLoss(name, "predicate", f"WHERE {before.predicate}", where, "error"))
    for old_text, new_text in zip(before.elements, after.elements, strict=False):
        old, new = parse_element(old_text), parse_element(new_text)
        if old.expression != new.expression:
            if old.is_expression:
                out.append(IndexDetailLoss(name, "expression", old_text, new_text, severe))
            continue
        if old.collation and new.collation != old.collation:
            out.append(IndexDetailLoss(name, "collation", old_text, new_text, severe))
        if (old.descending, old.nulls) != (new.descending, new.nulls) and (
            old.descending or old.nulls
        ):
            out.append(IndexDetailLoss(name, "order", old_text, new_text, "warning"))
    for old_text in before.elements[len(after.elements) :]:
        if parse_element(old_text).is_expression:
            out.append(IndexDetailLoss(name, "expression", old_text, None, severe))
    return out
