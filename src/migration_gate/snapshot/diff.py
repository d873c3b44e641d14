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
from migration_gate.snapshot.sentences import TABLE_PARTS, describe, sentence

__all__ = ["Change", "Renamed", "SchemaDiff", "diff", "split_renames"]

Kind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: where (a path into the canonical form), what kind, and both values."""

    path: tuple[str, ...]
    kind: Kind
    before: Any = None
    after: Any = None

    def sentence(self, added: str = "added", removed: str = "removed") -> str:
        """One sentence; `added`/`removed` say how to call an object only one side has."""
        return sentence(self.path, self.kind, self.before, self.after, added, removed)

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
    if n == 3 and path[0] == "tables" and path[2] in TABLE_PARTS:
        return False
    if n == 4 and path[0] == "tables" and path[2] == "columns":
        return False
    return n != 1


# -- constraints that come back under another name ---------------------------------------------

#: the table parts whose entries a downgrade may bring back under another name, and the
#: prefix of the key of an unnamed entry (see the `key` of each model class)
_RENAMEABLE = {
    "indexes": None,
    "foreign_keys": "(",
    "unique_constraints": "unique(",
    "check_constraints": "check(",
}


@dataclass(frozen=True)
class Renamed:
    """A constraint or index removed under one name and added under another, with the same
    definition: the schema means the same, but a later migration that names it will fail."""

    table: str
    #: the table part: "indexes", "foreign_keys", "unique_constraints", "check_constraints"
    part: str
    #: its name before and after; None for an unnamed constraint
    before: str | None
    after: str | None
    definition: Mapping[str, Any]
    #: the two changes this pair stands for (removed, added)
    changes: tuple[Change, Change]

    def sentence(self) -> str:
        """`unique constraint uq_a on users (email) comes back as uq_b`; `unnamed unique
        constraint on users (email) comes back as uq_users_email`."""
        what = TABLE_PARTS[self.part]
        old = describe(what, self.before or "", self.table, self.definition)
        new = f"as {self.after}" if self.after is not None else "unnamed"
        return f"{'' if self.before else 'unnamed '}{old} comes back {new}"


def split_renames(changes: SchemaDiff) -> tuple[tuple[Renamed, ...], SchemaDiff]:
    """Pair each removed constraint or index with an added one of the same table and part
    whose definition is the same but whose name is not (or that was unnamed and is named,
    or the other way round); return the pairs, and the diff without their changes. Pure."""
    removed: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        if _rename_candidate(change) and change.kind == "removed":
            removed.setdefault((change.path[1], change.path[2]), []).append(change)
    pairs: list[Renamed] = []
    paired: set[int] = set()
    for change in changes:
        if not (_rename_candidate(change) and change.kind == "added"):
            continue
        table, part, key = change.path[1], change.path[2], change.path[3]
        for old in removed.get((table, part), ()):
            if id(old) not in paired and old.before == change.after:
                paired.update((id(old), id(change)))
                pairs.append(
                    Renamed(
                        table,
                        part,
                        _name(part, old.path[3]),
                        _name(part, key),
                        change.after,
                        (old, change),
                    )
                )
                break
    rest = SchemaDiff(tuple(c for c in changes if id(c) not in paired))
    return tuple(pairs), rest


def _rename_candidate(change: Change) -> bool:
    path = change.path
    return len(path) == 4 and path[0] == "tables" and path[2] in _RENAMEABLE


def _name(part: str, key: str) -> str | None:
    unnamed = _RENAMEABLE[part]
    return None if unnamed is not None and key.startswith(unnamed) else key
