"""Difference of two snapshots, as a list of changes that read as sentences.

One generic keyed difference walks the canonical forms (`SchemaSnapshot.to_dict()`) of both
snapshots; a small table of phrases turns each change path into a sentence a person can
act on, such as ``messages.role: type message_role → messagerole`` or
``index ix_messages_role on messages (role) is extra``. Pure: no database, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from migration_gate.snapshot.model import SchemaSnapshot

__all__ = ["Change", "SchemaDiff", "diff"]

Kind = Literal["added", "removed", "changed"]

#: the parts of a table whose entries are keyed by name
_TABLE_PARTS = {
    "columns": "column",
    "foreign_keys": "foreign key",
    "unique_constraints": "unique constraint",
    "check_constraints": "check constraint",
    "indexes": "index",
}
_TOP_PARTS = {
    "tables": "table",
    "enums": "enum type",
    "sequences": "sequence",
    "views": "view",
    "functions": "function",
    "triggers": "trigger",
}


@dataclass(frozen=True)
class Change:
    """One difference: where (a path into the canonical form), what kind, and both values."""

    path: tuple[str, ...]
    kind: Kind
    before: Any = None
    after: Any = None

    def sentence(self, added: str = "added", removed: str = "removed") -> str:
        return _sentence(self, added, removed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class SchemaDiff:
    """The changes from `before` to `after`; empty when the schemas mean the same."""

    changes: tuple[Change, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def sentences(self, added: str = "added", removed: str = "removed") -> list[str]:
        """Each change as one sentence; `added`/`removed` let a caller say "left behind"."""
        return [c.sentence(added, removed) for c in self.changes]

    def to_list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.changes]


def diff(
    before: SchemaSnapshot, after: SchemaSnapshot, *, ignore_tables: tuple[str, ...] = ()
) -> SchemaDiff:
    """What changed from `before` to `after` (the dialect itself is not compared)."""
    before, after = _without_common(before, after)
    a = before.to_dict()
    b = after.to_dict()
    for d in (a, b):
        d.pop("dialect", None)
        for t in ignore_tables:
            d["tables"].pop(t, None)
    return SchemaDiff(tuple(_walk((), a, b)))


#: the parts of a snapshot that are tuples of objects keyed by name
_KEYED_PARTS = ("tables", "sequences", "views", "functions", "triggers")


def _without_common(
    before: SchemaSnapshot, after: SchemaSnapshot
) -> tuple[SchemaSnapshot, SchemaSnapshot]:
    """Both snapshots without the objects they share: those cannot differ, and a walk's
    snapshots share nearly all of their objects (the very same ones: see `incremental`)."""
    left: dict[str, Any] = {}
    right: dict[str, Any] = {}
    for part in _KEYED_PARTS:
        xs, ys = getattr(before, part), getattr(after, part)
        in_y = set(map(id, ys))
        if in_y.isdisjoint(map(id, xs)):
            continue
        in_x = set(map(id, xs))
        left[part] = tuple(x for x in xs if id(x) not in in_y)
        right[part] = tuple(y for y in ys if id(y) not in in_x)
    if not left:
        return before, after
    return replace(before, **left), replace(after, **right)


def _walk(path: tuple[str, ...], a: Any, b: Any) -> Iterator[Change]:
    if isinstance(a, Mapping) and isinstance(b, Mapping) and not _is_leaf(path):
        for key in sorted(set(a) | set(b)):
            if key not in b:
                yield Change((*path, key), "removed", before=a[key])
            elif key not in a:
                yield Change((*path, key), "added", after=b[key])
            else:
                yield from _walk((*path, key), a[key], b[key])
    elif a != b:
        yield Change(path, "changed", before=a, after=b)


def _is_leaf(path: tuple[str, ...]) -> bool:
    """Entries compared as a whole: an index, a constraint, a view, a function... but
    tables and columns are walked into so that a diff names the column property."""
    n = len(path)
    if n == 0 or path == ("tables",) or (n == 2 and path[0] == "tables"):
        return False
    if n == 3 and path[0] == "tables" and path[2] in _TABLE_PARTS:
        return False
    if n == 4 and path[0] == "tables" and path[2] == "columns":
        return False
    return n != 1


def _render(kind: str, name: str, table: str | None, value: Any) -> str:
    on = f" on {table}" if table else ""
    if not isinstance(value, Mapping):
        if kind == "enum type" and isinstance(value, list):
            return f"enum type {name} ({', '.join(repr(v) for v in value)})"
        return f"{kind} {name}{on}"
    if kind == "column":
        bits = [value.get("type", "?")]
        bits.append("NULL" if value.get("nullable", True) else "NOT NULL")
        if value.get("default") is not None:
            bits.append(f"DEFAULT {value['default']}")
        return f"column {table}.{name} ({' '.join(bits)})"
    if kind == "index":
        uniq = "unique " if value.get("unique") else ""
        where = f" WHERE {value['predicate']}" if value.get("predicate") else ""
        return f"{uniq}index {name}{on} ({', '.join(value.get('elements', []))}){where}"
    if kind == "foreign key":
        cols = ", ".join(value["columns"])
        ref = f"{value['ref_table']}({', '.join(value['ref_columns'])})"
        return f"foreign key {name}{on} ({cols}) -> {ref} ON DELETE {value['on_delete']}"
    if kind == "unique constraint":
        return f"unique constraint {name}{on} ({', '.join(value['columns'])})"
    if kind == "check constraint":
        return f"check constraint {name}{on} ({value['expression']})"
    if kind == "table":
        return f"table {name} ({len(value.get('columns', {}))} columns)"
    if kind == "trigger":
        return f"trigger {name.split('.', 1)[-1]} on {value.get('table')}"
    return f"{kind} {name}"


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _sentence(change: Change, added: str, removed: str) -> str:
    path = change.path
    verb = {"added": added, "removed": removed}.get(change.kind, "changed")
    value = change.after if change.kind == "added" else change.before
    if path[0] == "extensions":
        return f"extensions: {_fmt(change.before)} → {_fmt(change.after)}"
    if path[0] != "tables":
        kind = _TOP_PARTS.get(path[0], path[0])
        name = path[1] if len(path) > 1 else ""
        if change.kind == "changed":
            if kind == "enum type":
                return f"enum type {name}: labels {_fmt(change.before)} → {_fmt(change.after)}"
            detail = f" {path[2]}" if len(path) > 2 else ""
            return f"{kind} {name}:{detail} changed"
        return f"{_render(kind, name, None, value)} {verb}"
    table = path[1]
    if len(path) == 2:
        return f"{_render('table', table, None, value)} {verb}"
    part = path[2]
    if path[-1] == "comment" and len(path) in (3, 5):
        subject = f"table {table}" if len(path) == 3 else f"{table}.{path[3]}"
        return _comment(subject, change, added, removed)
    if part == "primary_key":
        return f"{table}: primary key {_fmt(change.before)} → {_fmt(change.after)}"
    kind = _TABLE_PARTS.get(part, part)
    name = path[3] if len(path) > 3 else ""
    if change.kind != "changed" or len(path) == 4:
        if change.kind == "changed":
            return (
                f"{_render(kind, name, table, change.before)} changed to "
                f"{_render(kind, name, table, change.after)}"
            )
        return f"{_render(kind, name, table, value)} {verb}"
    prop = path[4]
    if prop == "nullable":
        return f"{table}.{name}: {'NULL' if change.before else 'NOT NULL'} → {'NULL' if change.after else 'NOT NULL'}"
    return f"{table}.{name}: {prop} {_fmt(change.before)} → {_fmt(change.after)}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment(subject: str, change: Change, added: str, removed: str) -> str:
    """`users.email: comment 'Login name' added` (or removed, or 'a' → 'b')."""
    before, after = change.before, change.after
    if before is None:
        return f"{subject}: comment {_quote(after)} {added}"
    if after is None:
        return f"{subject}: comment {_quote(before)} {removed}"
    return f"{subject}: comment {_quote(before)} → {_quote(after)}"
