"""Schema snapshots: capture from a live database, compare, serialize."""

from __future__ import annotations

from migration_gate.snapshot.capture import capture
from migration_gate.snapshot.diff import Change, Renamed, SchemaDiff, diff, split_renames
from migration_gate.snapshot.index_details import IndexDetailLoss, index_detail_losses
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
    "IndexDetailLoss",
    "Renamed",
    "SchemaDiff",
    "SchemaSnapshot",
    "Sequence",
    "Table",
    "Trigger",
    "UniqueConstraint",
    "View",
    "capture",
    "diff",
    "index_detail_losses",
    "split_renames",
]
