"""destructive-operation: an upgrade that can lose rows or values without saying so.

Post-mortem 001 dropped and recreated two tables to change their key type, and every row
went with them. An upgrade is destructive when it drops a table or a column that existed
before it, truncates a table, changes a column's type in a way that can lose values (see
`lint.types`), or removes a value from an enum type. The evidence comes from three places,
merged: the SQL the revision sent on PostgreSQL (so a drop-and-recreate is seen even when the
schema looks the same afterwards), the schemas before and after it on each dialect, and,
without a PostgreSQL pass, the drops the source names literally.

A migration that means it declares ``gate = {"destructive": "why it is safe"}``; it is then
reported once, as info, so the reviewer still reads what it destroys.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_gate.findings import Finding, Severity
from migration_gate.lint.changes import SchemaChanges
from migration_gate.lint.context import RevisionContext
from migration_gate.lint.sqlops import SqlOp, parse_ops
from migration_gate.lint.types import can_lose_data
from migration_gate.snapshot import Column, SchemaSnapshot, Table
from migration_gate.snapshot.normalize import sql_type

__all__ = ["ID", "SEVERITY", "Operation", "check", "operations"]

ID = "destructive-operation"
SEVERITY: Severity = "error"


@dataclass(frozen=True)
class Operation:
    """One destructive effect: what, on which object, where, and seen on which dialect."""

    kind: str  # "drops table" | "drops column" | "truncates" | "changes the type of" | "drops enum value"
    target: str
    line: int
    dialect: str | None = None
    detail: str = ""

    def sentence(self) -> str:
        return f"{self.kind} {self.target}" + (f" ({self.detail})" if self.detail else "")


class _Ops:
    def __init__(self, ctx: RevisionContext) -> None:
        self.ctx = ctx
        self.items: dict[tuple[str, str], Operation] = {}
        #: (table, column or None) -> line of the first statement that touched it
        self.touched: dict[tuple[str, str | None], int] = {}
        self._enums: dict[int, list[str]] = {}

    def add(self, op: Operation) -> None:
        self.items.setdefault((op.kind, op.target), op)

    def line_for(self, table: str, column: str | None = None) -> int:
        """Where the source changes `table` (or its `column`): the statement that touched it,
        else a call naming it literally, else ``def upgrade``."""
        source = self.ctx.source
        found = self.touched.get((table, column))
        if found is None and column is not None:
            found = source.find_line(table, column) or source.find_line(column)
        return found or source.find_line(table) or self.ctx.upgrade_line

    def enum_names(self, snap: SchemaSnapshot) -> list[str]:
        """The enum type names of `snap`, listed once per snapshot."""
        names = self._enums.get(id(snap))
        if names is None:
            names = self._enums[id(snap)] = [e.name for e in snap.enums]
        return names


def _from_sql(ctx: RevisionContext, ops: _Ops, renamed: set[tuple[str, str | None]]) -> None:
    pair = ctx.snapshots.get("postgresql")
    if pair is None or not ctx.statements:
        return
    before, after = pair
    parsed = [(i, op) for i, st in enumerate(ctx.statements) for op in parse_ops(st.sql)]
    for i, op in parsed:
        ops.touched.setdefault((op.table, None), ctx.statement_line(i))
        for column in (op.column, op.other if op.kind == "rename column" else None):
            if column:
                ops.touched.setdefault((op.table, column), ctx.statement_line(i))
    created = {op.table for _, op in parsed if op.kind == "create table"}
    in_source = {(op.kind, op.table, op.name): op.line for op in ctx.source.operations}
    renamed.update(
        (op.table, op.column) for _, op in parsed if op.kind in ("rename table", "rename column")
    )
    for i, op in parsed:
        # the Alembic call that names the object, when there is one, else the sending line
        line = in_source.get((op.kind, op.table, op.column)) or ctx.statement_line(i)
        if op.kind in ("drop table", "truncate"):
            if before.table(op.table) is None or _is_rebuild(op, i, parsed):
                continue
            kind = "drops table" if op.kind == "drop table" else "truncates"
            ops.add(Operation(kind, op.table, line, "postgresql"))
        elif op.kind == "drop column" and op.table not in created:
            table = before.table(op.table)
            if table is not None and op.column and table.column(op.column) is not None:
                ops.add(Operation("drops column", f"{op.table}.{op.column}", line, "postgresql"))
        elif op.kind == "alter type" and op.column:
            _type_change(ops, before, after, op, line)


def _is_rebuild(drop: SqlOp, index: int, parsed: list[tuple[int, SqlOp]]) -> bool:
    """DROP TABLE t after its rows were copied into a table that is then renamed to t."""
    copies = {
        op.table
        for i, op in parsed
        if i < index and op.kind == "copy rows" and op.other == drop.table
    }
    return any(
        i > index and op.kind == "rename table" and op.table in copies and op.other == drop.table
        for i, op in parsed
    )


def _type_change(
    ops: _Ops, before: SchemaSnapshot, after: SchemaSnapshot, op: SqlOp, line: int
) -> None:
    table = before.table(op.table)
    old = table.column(op.column) if table is not None and op.column else None
    if old is None:
        return
    new_table = after.table(op.table)
    new_col = new_table.column(op.column) if new_table is not None and op.column else None
    new_type = new_col.type if new_col is not None else sql_type("postgresql", op.other or "")
    if can_lose_data(
        old.type, new_type, old_enums=ops.enum_names(before), new_enums=ops.enum_names(after)
    ):
        ops.add(
            Operation(
                "changes the type of",
                f"{op.table}.{op.column}",
                line,
                "postgresql",
                f"{old.type} → {new_type}",
            )
        )


def _from_snapshots(ctx: RevisionContext, ops: _Ops, renamed: set[tuple[str, str | None]]) -> None:
    """Drops and lossy type changes between the schemas around the revision, read only from
    the tables it changed (`ctx.changes`): an unchanged table drops nothing."""
    for dialect, (before, after) in sorted(ctx.snapshots.items()):
        changes = ctx.changes[dialect]
        for table in changes.removed:
            if (table.name, None) not in renamed and not _same_columns_elsewhere(
                table, changes.added
            ):
                ops.add(Operation("drops table", table.name, ops.line_for(table.name), dialect))
        for table, new in changes.modified:
            now_by_name: dict[str, Column] = {}
            for c in new.columns:
                now_by_name.setdefault(c.name, c)
            for col in table.columns:
                now = now_by_name.get(col.name)
                target = f"{table.name}.{col.name}"
                if now is None:
                    if (table.name, col.name) not in renamed:
                        line = ops.line_for(table.name, col.name)
                        ops.add(Operation("drops column", target, line, dialect))
                elif can_lose_data(
                    col.type,
                    now.type,
                    old_enums=ops.enum_names(before),
                    new_enums=ops.enum_names(after),
                    sized=dialect != "sqlite",
                ):
                    line = ops.line_for(table.name, col.name)
                    ops.add(
                        Operation(
                            "changes the type of", target, line, dialect, f"{col.type} → {now.type}"
                        )
                    )
        if changes.enums_changed:
            _enum_values(ctx, ops, dialect, before, after)


def _same_columns_elsewhere(old: Table, added: tuple[Table, ...]) -> bool:
    """A table gone under its name but present, column for column, under a new one (a rename)."""
    shape = sorted((c.name, c.type) for c in old.columns)
    return any(sorted((c.name, c.type) for c in t.columns) == shape for t in added)


def _enum_values(
    ctx: RevisionContext, ops: _Ops, dialect: str, before: SchemaSnapshot, after: SchemaSnapshot
) -> None:
    labels_after = {e.name: set(e.labels) for e in after.enums}
    for enum in before.enums:
        now = labels_after.get(enum.name)
        if now is None:
            now = _labels_now_used(enum.name, ctx.changes[dialect], labels_after)
        for label in enum.labels:
            if now is not None and label not in now:
                line = ctx.source.find_line(label) or ctx.upgrade_line
                ops.add(Operation("drops enum value", f"{enum.name}.{label!r}", line, dialect))


def _labels_now_used(
    name: str, changes: SchemaChanges, labels_after: dict[str, set[str]]
) -> set[str] | None:
    """Labels of the enum the columns of dropped enum `name` use now (None: not an enum).

    Only a modified table can have a column that moved from `name` to another enum."""
    for table, new_table in changes.modified:
        for col in table.columns:
            if col.type != name:
                continue
            new_col = new_table.column(col.name)
            if new_col is not None and new_col.type in labels_after:
                return labels_after[new_col.type]
    return None


def _from_source(ctx: RevisionContext, ops: _Ops) -> None:
    """Literal drops in the source, when no SQL was captured (a run without PostgreSQL)."""
    if ctx.statements:
        return
    befores = [before for before, _ in ctx.snapshots.values()]
    for op in ctx.source.operations:
        exists = not befores or any(
            (t := b.table(op.table)) is not None
            and (op.name is None or t.column(op.name) is not None)
            for b in befores
        )
        if op.kind == "drop table" and exists:
            ops.add(Operation("drops table", op.table, op.line))
        elif op.kind == "drop column" and exists:
            ops.add(Operation("drops column", f"{op.table}.{op.name}", op.line))


def operations(ctx: RevisionContext) -> list[Operation]:
    """Every destructive effect of the revision's upgrade, each once, in line order."""
    ops = _Ops(ctx)
    renamed = {
        (op.table, op.name)
        for op in ctx.source.operations
        if op.kind in ("rename table", "rename column")
    }
    _from_sql(ctx, ops, renamed)
    _from_snapshots(ctx, ops, renamed)
    _from_source(ctx, ops)
    return sorted(ops.items.values(), key=lambda op: (op.line, op.kind, op.target))


def check(ctx: RevisionContext) -> list[Finding]:
    ops = operations(ctx)
    if not ops:
        return []
    reason = ctx.info.gate.get("destructive", "").strip()
    if reason:
        return [
            Finding(
                check=ID,
                severity="info",
                revision=ctx.revision,
                file=ctx.file,
                line=ctx.source.gate_line or ops[0].line,
                message=f"{ctx.revision} is destructive, as declared ({reason}): "
                + "; ".join(op.sentence() for op in ops),
                details={"declared": reason, "operations": [op.sentence() for op in ops]},
            )
        ]
    return [
        Finding(
            check=ID,
            severity=SEVERITY,
            revision=ctx.revision,
            file=ctx.file,
            line=op.line,
            dialect=op.dialect,
            message=f"{ctx.revision} {op.sentence()} without declaring it destructive: the rows or "
            "values it held are lost on every database this runs on",
            details={
                "operation": op.kind,
                "target": op.target,
                "hint": "keep the data (add the new column, copy, then drop in a later release), "
                'or declare gate = {"destructive": "why it is safe"} in the module',
            },
        )
        for op in ops
    ]
