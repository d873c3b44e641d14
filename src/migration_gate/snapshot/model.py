"""The schema snapshot: what a database's schema means, as one frozen, hashable value.

A `SchemaSnapshot` is captured from a live database (see `capture_postgres` and
`capture_sqlite`) and compared with another one (see `diff`). It records meaning, not
rendering: columns are keyed by name (their order is not compared), constraint names are
kept where the database has them, NOT NULL is a column property rather than a named
constraint, table and column comments are schema (PostgreSQL's `COMMENT ON`), and every text the database renders (types, defaults, check expressions,
index expressions) is normalized by the capture module before it lands here.

Its canonical form is `to_dict()`: nested dicts keyed by stable names, so that one
generic keyed difference serves tables, columns, constraints, indexes and types, and
`sha256()` is the hash of that form rendered as canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

__all__ = [
    "CheckConstraint",
    "Column",
    "EnumType",
    "ForeignKey",
    "Function",
    "Index",
    "SchemaSnapshot",
    "Sequence",
    "Table",
    "Trigger",
    "UniqueConstraint",
    "View",
]


@dataclass(frozen=True)
class Column:
    """One column: normalized type, nullability, server default, identity, comment."""

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    #: "always" / "by default" (PostgreSQL identity), "autoincrement" (SQLite), or None
    identity: str | None = None
    #: expression of a generated (computed) column, or None
    generated: str | None = None
    #: `COMMENT ON COLUMN` (PostgreSQL; SQLite has no comments)
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "nullable": self.nullable,
            "default": self.default,
            "identity": self.identity,
            "generated": self.generated,
            "comment": self.comment,
        }


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    deferrable: bool = False

    @property
    def key(self) -> str:
        return (
            self.name
            or f"({', '.join(self.columns)}) -> {self.ref_table}({', '.join(self.ref_columns)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "ref_table": self.ref_table,
            "ref_columns": list(self.ref_columns),
            "on_delete": self.on_delete,
            "on_update": self.on_update,
            "deferrable": self.deferrable,
        }


@dataclass(frozen=True)
class UniqueConstraint:
    name: str | None
    columns: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.name or f"unique({', '.join(self.columns)})"

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns)}


@dataclass(frozen=True)
class CheckConstraint:
    name: str | None
    #: normalized expression (see `normalize.sql_expression`)
    expression: str

    @property
    def key(self) -> str:
        return self.name or f"check({self.expression})"

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.expression}


@dataclass(frozen=True)
class Index:
    """An index that is not the implementation of a primary key or unique constraint."""

    name: str
    #: column names or normalized expressions, each with " DESC" appended when descending
    elements: tuple[str, ...]
    unique: bool = False
    #: normalized WHERE clause of a partial index
    predicate: str | None = None
    #: access method ("btree", "gin", ...); None where the dialect has only one
    method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "elements": list(self.elements),
            "unique": self.unique,
            "predicate": self.predicate,
            "method": self.method,
        }


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique_constraints: tuple[UniqueConstraint, ...] = ()
    check_constraints: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    #: `COMMENT ON TABLE` (PostgreSQL; SQLite has no comments)
    comment: str | None = None

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": {c.name: c.to_dict() for c in self.columns},
            "primary_key": list(self.primary_key),
            "foreign_keys": {fk.key: fk.to_dict() for fk in self.foreign_keys},
            "unique_constraints": {u.key: u.to_dict() for u in self.unique_constraints},
            "check_constraints": {c.key: c.to_dict() for c in self.check_constraints},
            "indexes": {i.name: i.to_dict() for i in self.indexes},
            "comment": self.comment,
        }


@dataclass(frozen=True)
class EnumType:
    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Sequence:
    name: str
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    #: "table.column" of an owned (serial / identity) sequence
    owned_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_type": self.data_type,
            "start": self.start,
            "increment": self.increment,
            "owned_by": self.owned_by,
        }


@dataclass(frozen=True)
class View:
    name: str
    definition: str
    materialized: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"definition": self.definition, "materialized": self.materialized}


@dataclass(frozen=True)
class Function:
    #: signature, e.g. "update_conversation_timestamp()"
    name: str
    returns: str
    language: str
    #: normalized body
    body: str

    def to_dict(self) -> dict[str, Any]:
        return {"returns": self.returns, "language": self.language, "body": self.body}


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    #: normalized definition (timing, events, level, function)
    definition: str

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "definition": self.definition}


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(item: Any) -> str:
    """`_dumps(item.to_dict())`, computed once per (frozen) object."""
    text: str | None = item.__dict__.get("_canonical_json")
    if text is None:
        text = _dumps(item.to_dict())
        item.__dict__["_canonical_json"] = text  # not a field: eq, hash and repr ignore it
    return text


#: the parts of `SchemaSnapshot.to_dict()` that map a key of each object to its `to_dict()`
_KEYED: dict[str, Callable[[Any], str]] = {
    "tables": lambda t: str(t.name),
    "sequences": lambda s: str(s.name),
    "views": lambda v: str(v.name),
    "functions": lambda f: str(f.name),
    "triggers": lambda t: str(t.key),
}


_NAME = operator.attrgetter("name")


def _by_name(items: tuple[Any, ...], what: str) -> dict[str, Any]:
    if what == "table":  # the common case, built at C speed; duplicates found below
        fast: dict[str, Any] = dict(zip(map(_NAME, items), items, strict=True))
        if len(fast) == len(items):
            return fast
    out: dict[str, Any] = {}
    for item in items:
        key = getattr(item, "key", None) or item.name
        if key in out:
            raise ValueError(f"duplicate {what} {key!r} in snapshot")
        out[key] = item
    return out


@dataclass(frozen=True)
class SchemaSnapshot:
    """A database schema at one point in time, on one dialect."""

    dialect: str
    tables: tuple[Table, ...] = ()
    enums: tuple[EnumType, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    views: tuple[View, ...] = ()
    functions: tuple[Function, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    extensions: tuple[str, ...] = ()
    _index: Mapping[str, Table] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _by_name(self.tables, "table"))

    def table(self, name: str) -> Table | None:
        return self._index.get(name)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._index))

    def to_dict(self) -> dict[str, Any]:
        """The canonical form: nested dicts keyed by stable names, no ordering that matters."""
        return {
            "dialect": self.dialect,
            "tables": {t.name: t.to_dict() for t in self.tables},
            "enums": {e.name: list(e.labels) for e in self.enums},
            "sequences": {s.name: s.to_dict() for s in self.sequences},
            "views": {v.name: v.to_dict() for v in self.views},
            "functions": {f.name: f.to_dict() for f in self.functions},
            "triggers": {t.key: t.to_dict() for t in self.triggers},
            "extensions": sorted(self.extensions),
        }

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no insignificant white space."""
        # json.dumps(self.to_dict(), sort_keys=True, ...) with the JSON of each object kept on
        # it: a walk's snapshots share most objects, so hashing one costs only its new ones
        empty: dict[str, Any] = dict.fromkeys(_KEYED, ())
        parts = {k: _dumps(v) for k, v in replace(self, **empty).to_dict().items()}
        for part, key in _KEYED.items():
            items = {key(item): item for item in getattr(self, part)}
            parts[part] = (
                "{" + ",".join(f"{_dumps(k)}:{_canonical(items[k])}" for k in sorted(items)) + "}"
            )
        return "{" + ",".join(f"{_dumps(k)}:{v}" for k, v in sorted(parts.items())) + "}"

    @cached_property
    def _sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def sha256(self) -> str:
        return self._sha256

    def __hash__(self) -> int:
        return hash(self._sha256)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SchemaSnapshot):
            return NotImplemented
        return self._sha256 == other._sha256

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SchemaSnapshot:
        """Rebuild a snapshot from its canonical form (as stored in a file)."""
        from migration_gate.snapshot.model_load import snapshot_from_dict

        return snapshot_from_dict(data)

    def without_tables(self, *names: str) -> SchemaSnapshot:
        """A copy without the named tables (e.g. Alembic's own `alembic_version`)."""
        return SchemaSnapshot(
            dialect=self.dialect,
            tables=tuple(t for t in self.tables if t.name not in names),
            enums=self.enums,
            sequences=self.sequences,
            views=self.views,
            functions=self.functions,
            triggers=tuple(t for t in self.triggers if t.table not in names),
            extensions=self.extensions,
        )
