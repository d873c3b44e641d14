"""What a lint rule sees of one revision: its source, the SQL it sent, the schemas around it.

A `RevisionContext` is built at the edge (`lint.run`) from files, the step runner and Squawk,
and handed to every rule; rules are pure functions of it. Everything a rule may need is here,
already parsed: the module's `ast`, the statements captured on PostgreSQL (empty when the run
had no PostgreSQL), the snapshots before and after the revision on each dialect walked, the
violations Squawk reported on the rendered SQL, and the enum types the models declare.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.sql_capture import CapturedStatement
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
