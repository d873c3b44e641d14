"""What a lint rule sees of one revision: its source, the SQL it sent, the schemas around it.

A `RevisionContext` is built at the edge (`lint.run`) from files, the step runner and Squawk,
and handed to every rule; rules are pure functions of it. Everything a rule may need is here,
already parsed: the module's `ast`, the statements captured on PostgreSQL (empty when the run
had no PostgreSQL), the snapshots before and after the revision on each dialect walked, the
violations Squawk reported on the rendered SQL, and the enum types the models declare.

Two views are derived once per revision, on first use, so that every rule's work is in
proportion to what the revision did rather than to the size of the module or the schema:
`source` (the module's upgrade code, indexed by name: `lint.source.SourceIndex`) and
`changes` (per dialect, the tables and enums the revision changed: `lint.changes`).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.sql_capture import CapturedStatement
from migration_gate.lint.changes import SchemaChanges, schema_changes
from migration_gate.lint.source import SourceIndex
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["ModelEnum", "RevisionContext", "SquawkViolation"]


@dataclass(frozen=True)
class SquawkViolation:
    """One violation as Squawk reports it (its `line` is 0-based in the rendered SQL)."""

    rule: str
    message: str
    line: int
    column: int = 0
    help: str | None = None
    level: str = "Warning"


@dataclass(frozen=True)
class ModelEnum:
    """An enum column of the models: which type name the models give it."""

    table: str
    column: str
    name: str
    #: the Python enum class behind it, if any (e.g. "MessageRole")
    class_name: str | None = None


@dataclass(frozen=True)
class RevisionContext:
    """One revision, as every rule sees it."""

    info: RevisionInfo
    #: the file as reported in findings (relative to the project root)
    file: str
    tree: ast.Module
    #: statements sent on PostgreSQL, in order (empty without a PostgreSQL pass)
    statements: tuple[CapturedStatement, ...] = ()
    #: 1-based line of each statement in the rendered SQL (see sql_capture.rendered_script)
    sql_starts: tuple[int, ...] = ()
    #: dialect -> (schema before the revision, schema after it)
    snapshots: Mapping[str, tuple[SchemaSnapshot, SchemaSnapshot]] = field(default_factory=dict)
    squawk: tuple[SquawkViolation, ...] = ()
    #: the models' enum columns; None when there are no models to compare with
    model_enums: tuple[ModelEnum, ...] | None = None
    #: "snake_case", "none", or a regular expression enum type names must match
    enum_convention: str = "snake_case"

    @property
    def revision(self) -> str:
        return self.info.revision

    @cached_property
    def source(self) -> SourceIndex:
        """The module's upgrade code, walked once: operations, enum names, lines by name."""
        return SourceIndex(self.tree)

    @cached_property
    def changes(self) -> Mapping[str, SchemaChanges]:
        """dialect -> what the revision changed in the schema (see `lint.changes`)."""
        return {d: schema_changes(before, after) for d, (before, after) in self.snapshots.items()}

    @property
    def upgrade_line(self) -> int:
        return self.info.upgrade_line or 1

    def statement_line(self, index: int) -> int:
        """The revision file's line that sent statement `index` (else `def upgrade`)."""
        if 0 <= index < len(self.statements):
            line = self.statements[index].line
            if line is not None:
                return line
        return self.upgrade_line
