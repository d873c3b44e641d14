"""What a revision changed in a schema: the tables and enum types that differ between two snapshots.

The rules compare the schema before a revision with the schema after it. Comparing every
table at every revision would make linting a chain quadratic in its length, so the rules
look only at what `schema_changes` returns: the tables removed, added or modified, and
whether the enum types differ.

The incremental snapshots of one walk share the `Table` objects a revision did not touch
(see `snapshot.incremental`): the very same object on both sides cannot differ, so those
are set aside in C (set arithmetic on their ids). Identity is only a shortcut: every other
pair is compared by value, so two snapshots that share nothing give the same answer, more
slowly.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import filterfalse

from migration_gate.snapshot.model import SchemaSnapshot, Table

__all__ = ["SchemaChanges", "schema_changes"]


@dataclass(frozen=True)
class SchemaChanges:
    """The tables that differ between two snapshots of one database, and whether its enums do."""

    #: tables of `before` with no table of that name in `after`, in `before`'s order
    removed: tuple[Table, ...]
    #: tables of `after` with no table of that name in `before`, in `after`'s order
    added: tuple[Table, ...]
    #: (table before, table after) of each name on both sides whose tables differ, in
    #: `before`'s order
    modified: tuple[tuple[Table, Table], ...]
    #: the tables of `after` that are added or modified, in `after`'s order
    touched: tuple[Table, ...]
    #: the enum types (names or labels) differ
    enums_changed: bool

    @property
    def names(self) -> frozenset[str]:
        """Every table name removed, added or modified."""
        return frozenset([*(t.name for t in self.removed), *(t.name for t in self.touched)])

    def __bool__(self) -> bool:
        return bool(self.removed or self.touched or self.enums_changed)


def schema_changes(before: SchemaSnapshot, after: SchemaSnapshot) -> SchemaChanges:
    """The differences of tables and enum types between `before` and `after`."""
    olds = dict(zip(map(id, before.tables), before.tables, strict=True))
    news = dict(zip(map(id, after.tables), after.tables, strict=True))
    removed: list[Table] = []
    modified: list[tuple[Table, Table]] = []
    for old in map(olds.__getitem__, filterfalse(news.__contains__, olds)):
        new = after.table(old.name)
        if new is None:
            removed.append(old)
        elif new != old:
            modified.append((old, new))
    touched = [
        new
        for new in map(news.__getitem__, filterfalse(olds.__contains__, news))
        if before.table(new.name) != new
    ]
    return SchemaChanges(
        removed=tuple(removed),
        added=tuple(t for t in touched if before.table(t.name) is None),
        modified=tuple(modified),
        touched=tuple(touched),
        enums_changed=before.enums != after.enums,
    )
