"""Schema snapshots: capture from a live database, compare, serialize."""

from __future__ import annotations

from migration_gate.snapshot.capture import capture
from migration_gate.snapshot.diff import Change, SchemaDiff, diff
from migration_gate.snapshot.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Function,
    Index,
    SchemaSnapshot,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)

__all__ = [
    "Change",
    "CheckConstraint",
    "Column",
    "EnumType",
    "ForeignKey",
    "Function",
    "Index",
    "SchemaDiff",
    "SchemaSnapshot",
    "Sequence",
    "Table",
    "Trigger",
    "UniqueConstraint",
    "View",
    "capture",
    "diff",
]
