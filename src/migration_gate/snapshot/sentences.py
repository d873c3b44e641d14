"""One change of a schema diff as a sentence a person can act on. Pure: values in, text out.

A change is a path into the canonical form (`SchemaSnapshot.to_dict()`), a kind (added,
removed, changed) and both values. A changed object says which of its parts changed and
both values of each, e.g. ``sequence task_id_seq: type integer → bigint``, ``index ix on
t: elements (a) → (a DESC)``, ``function f(): body …RETURN NEW… → …RETURN OLD…`` (long
texts are shown around their first difference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TABLE_PARTS", "TOP_PARTS", "describe", "sentence"]

#: the parts of a table whose entries are keyed by name, and what one entry is called
TABLE_PARTS = {
    "columns": "column",
    "foreign_keys": "foreign key",
    "unique_constraints": "unique constraint",
    "check_constraints": "check constraint",
    "indexes": "index",
}
#: the parts of a snapshot, and what one entry is called
TOP_PARTS = {
    "tables": "table",
    "enums": "enum type",
    "sequences": "sequence",
    "views": "view",
    "functions": "function",
    "triggers": "trigger",
    "extensions": "extension",
}
#: how a property of an object is named in a sentence
_LABELS = {
    "data_type": "type",
    "owned_by": "owned by",
    "on_delete": "ON DELETE",
    "on_update": "ON UPDATE",
    "predicate": "WHERE",
    "ref_columns": "referenced columns",
    "ref_table": "referenced table",
}
#: texts shown around their first difference rather than whole
_LONG = 60


def sentence(
    path: tuple[str, ...],
    kind: str,
    before: Any,
    after: Any,
    added: str = "added",
    removed: str = "removed",
) -> str:
    """The sentence of one change (see `diff.Change`)."""
    verb = {"added": added, "removed": removed}.get(kind, "changed")
    value = after if kind == "added" else before
    if path[0] == "extensions":
        return _extensions(before, after, added, removed)
    if path[0] != "tables":
        what = TOP_PARTS.get(path[0], path[0])
        name = path[1] if len(path) > 1 else ""
        if kind != "changed":
            return f"{describe(what, name, None, value)} {verb}"
        if what == "enum type":
            return f"enum type {name}: labels {_fmt(before)} → {_fmt(after)}"
        if what == "trigger":
            table, _, trigger = name.rpartition(".")
            return f"trigger {trigger} on {table}: {_properties(before, after)}"
        return f"{what} {name}: {_properties(before, after)}"
    table = path[1]
    if len(path) == 2:
        return f"{describe('table', table, None, value)} {verb}"
    part = path[2]
    if path[-1] == "comment" and len(path) in (3, 5):
        subject = f"table {table}" if len(path) == 3 else f"{table}.{path[3]}"
        return _comment(subject, before, after, added, removed)
    if part == "primary_key":
        return f"{table}: primary key {_fmt(before)} → {_fmt(after)}"
    what = TABLE_PARTS.get(part, part)
    name = path[3] if len(path) > 3 else ""
    if kind != "changed":
        return f"{describe(what, name, table, value)} {verb}"
    if len(path) == 4:
        return f"{what} {name} on {table}: {_properties(before, after)}"
    prop = path[4]
    if prop == "nullable":
        return f"{table}.{name}: {_null(before)} → {_null(after)}"
    return f"{table}.{name}: {_LABELS.get(prop, prop)} {_pair(before, after)}"


def _null(nullable: Any) -> str:
    return "NULL" if nullable else "NOT NULL"


def _properties(before: Any, after: Any) -> str:
    """`type integer → bigint; start 1 → 10`: each property that differs, with both values."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return _pair(before, after)
    if {"ref_table", "ref_columns"} <= before.keys() and (
        before["ref_table"] != after.get("ref_table")
        or before["ref_columns"] != after.get("ref_columns")
    ):
        refs = ("ref_table", "ref_columns")
        before = {
            **{k: v for k, v in before.items() if k not in refs},
            "references": _reference(before),
        }
        after = {
            **{k: v for k, v in after.items() if k not in refs},
            "references": _reference(after),
        }
    parts = [
        f"{_LABELS.get(key, key)} {_pair(before[key], after.get(key))}"
        for key in before
        if before[key] != after.get(key)
    ]
    parts += [f"{_LABELS.get(key, key)} {_pair(None, after[key])}" for key in after.keys() - before]
    return "; ".join(parts) or "changed"


def _reference(value: Mapping[str, Any]) -> str:
    return f"{value.get('ref_table')}({', '.join(value.get('ref_columns') or ())})"


def _pair(before: Any, after: Any) -> str:
    """`a → b`; two long texts are shown around their first difference."""
    if isinstance(before, str) and isinstance(after, str) and max(len(before), len(after)) > _LONG:
        return " → ".join(_around(before, after))
    return f"{_fmt(before)} → {_fmt(after)}"


def _around(a: str, b: str) -> tuple[str, str]:
    """Both texts cut to a window that starts a little before their first difference."""
    common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    start = max((min(len(a), len(b)) if common is None else common) - 20, 0)

    def cut(text: str) -> str:
        piece = text[start : start + _LONG]
        return ("…" if start else "") + piece + ("…" if start + _LONG < len(text) else "")

    return cut(a), cut(b)


def _extensions(before: Any, after: Any, added: str, removed: str) -> str:
    """`extension pg_trgm added` (and removed), from the two lists of names."""
    old, new = set(before or ()), set(after or ())
    parts = [f"extension {name} {added}" for name in sorted(new - old)]
    parts += [f"extension {name} {removed}" for name in sorted(old - new)]
    return "; ".join(parts) or f"extensions: {_fmt(before)} → {_fmt(after)}"


def describe(kind: str, name: str, table: str | None, value: Any) -> str:
    """One object in a few words: `unique index ix on users (email) WHERE active`; an
    empty `name` leaves it out (an unnamed constraint)."""
    on = f" on {table}" if table else ""
    named = f" {name}" if name else ""
    if not isinstance(value, Mapping):
        if kind == "enum type" and isinstance(value, list):
            return f"enum type{named} ({', '.join(repr(v) for v in value)})"
        return f"{kind}{named}{on}"
    if kind == "column":
        bits = [value.get("type", "?")]
        bits.append("NULL" if value.get("nullable", True) else "NOT NULL")
        if value.get("default") is not None:
            bits.append(f"DEFAULT {value['default']}")
        return f"column {table}.{name} ({' '.join(bits)})"
    if kind == "index":
        uniq = "unique " if value.get("unique") else ""
        where = f" WHERE {value['predicate']}" if value.get("predicate") else ""
        return f"{uniq}index{named}{on} ({', '.join(value.get('elements', []))}){where}"
    if kind == "foreign key":
        cols = ", ".join(value["columns"])
        ref = f"{value['ref_table']}({', '.join(value['ref_columns'])})"
        return f"foreign key{named}{on} ({cols}) -> {ref} ON DELETE {value['on_delete']}"
    if kind == "unique constraint":
        return f"unique constraint{named}{on} ({', '.join(value['columns'])})"
    if kind == "check constraint":
        return f"check constraint{named}{on} ({value['expression']})"
    if kind == "table":
        return f"table{named} ({len(value.get('columns', {}))} columns)"
    if kind == "trigger":
        return f"trigger {name.rpartition('.')[2]} on {value.get('table')}"
    return f"{kind}{named}"


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment(subject: str, before: Any, after: Any, added: str, removed: str) -> str:
    """`users.email: comment 'Login name' added` (or removed, or 'a' → 'b')."""
    if before is None:
        return f"{subject}: comment {_quote(after)} {added}"
    if after is None:
        return f"{subject}: comment {_quote(before)} {removed}"
    return f"{subject}: comment {_quote(before)} → {_quote(after)}"
