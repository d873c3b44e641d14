"""index-detail-lost: an index that comes out of an upgrade with less than it went in with.

Alembic's batch mode (`op.batch_alter_table`) rebuilds a SQLite table and recreates its
indexes from SQLAlchemy's reflection, which drops an element's DESC and COLLATE, skips
expression indexes, and (before SQLAlchemy 2.0) a partial index's WHERE. The migration never
mentions those indexes, and the schema silently loses what they meant: a unique index that
no longer collates NOCASE accepts `Bob` beside `bob`. Each lost detail is one finding at the
upgrade (`snapshot.index_detail_losses`: an error when what the index accepts or finds
changes, a warning when only order does). An index the revision names in its own code is
left to it (the revision meant to change it). The trace check does not report these again.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from migration_gate.chain.checksum import decode_source
from migration_gate.checks.base import RoundtripCheck, StepContext
from migration_gate.findings import Finding
from migration_gate.snapshot import IndexDetailLoss, SchemaSnapshot, index_detail_losses

__all__ = ["ID", "IndexDetails", "lost_in_upgrade", "upgrade_strings"]

ID = "index-detail-lost"
_HINT = (
    "Alembic's batch mode recreates a SQLite table's indexes from reflection, which loses "
    "DESC, COLLATE, WHERE and expressions: drop the index before the batch_alter_table block "
    "and create it again after it, as it was (op.create_index(..., sqlite_where=...) or "
    "op.execute('CREATE INDEX ...'))"
)


def _changed_tables(before: SchemaSnapshot, after: SchemaSnapshot) -> Iterator[str]:
    """Tables on both sides that are not the very same object (the rest cannot differ)."""
    for table in before.tables:
        now = after.table(table.name)
        if now is not None and now is not table and now != table:
            yield table.name


def lost_in_upgrade(
    before: SchemaSnapshot, after: SchemaSnapshot, path: Path
) -> list[tuple[str, IndexDetailLoss]]:
    """(table, loss) for each detail an index of a table on both sides lost, unless the
    revision at `path` names the index in its upgrade (it changed it on purpose). SQLite
    only: nothing else rebuilds tables behind a migration's back."""
    if before.dialect != "sqlite":
        return []
    out: list[tuple[str, IndexDetailLoss]] = []
    for name in _changed_tables(before, after):
        old, new = before.table(name), after.table(name)
        assert old is not None and new is not None
        now = {i.name: i for i in new.indexes}
        for index in old.indexes:
            out.extend((name, loss) for loss in index_detail_losses(index, now.get(index.name)))
    if not out:
        return out
    named = upgrade_strings(path)  # read only when there is something to excuse
    return [(table, loss) for table, loss in out if loss.index not in named]


def upgrade_strings(path: Path) -> str:
    """The string literals of a revision's upgrade() (not its docstring, not comments): where
    the revision names the objects it means to change."""
    try:
        tree = ast.parse(decode_source(path.read_bytes()))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ""
    texts: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "upgrade":
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            for stmt in body:
                texts += [
                    n.value
                    for n in ast.walk(stmt)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                ]
    return "\n".join(texts)


class IndexDetails(RoundtripCheck):
    """Reports the index details each upgrade lost on SQLite."""

    def after_upgrade(
        self, step: StepContext, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Finding]:
        if before.dialect != "sqlite":
            return []
        losses = lost_in_upgrade(before, after, step.rev.path)
        return [
            step.finding(
                ID,
                f"upgrade of {step.rev.label()} on {step.dialect}: {loss.sentence()} on "
                f"{table}, most likely rebuilt by Alembic's batch mode",
                line=step.rev.upgrade_line,
                severity=loss.severity,
                table=table,
                index=loss.index,
                detail=loss.detail,
                before=loss.before,
                after=loss.after,
                hint=_HINT,
            )
            for table, loss in losses
        ]
