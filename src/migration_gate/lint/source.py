"""What a migration's source says it does, read with `ast`: drops, renames, enum names.

Only the code that can run on upgrade is read: everything in the module except the body of
``downgrade()``. Names are taken from literal strings only; a name built at run time is
invisible here, which is why the rules prefer the SQL and the snapshots when they have them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["SourceOp", "enum_names", "find_line", "operations", "upgrade_nodes"]

_CREATE_TYPE = re.compile(r"create\s+type\s+(?:\"([^\"]+)\"|([\w.]+))\s+as\s+enum", re.I)


@dataclass(frozen=True)
class SourceOp:
    """An Alembic operation found in the source: kind, table, column, new name, line."""

    kind: str  # "drop table" | "drop column" | "rename column" | "rename table"
    table: str
    #: the column (column operations)
    name: str | None
    line: int
    #: the new name (renames)
    new_name: str | None = None


def upgrade_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node of the module outside ``def downgrade``."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "downgrade":
            continue
        yield from ast.walk(stmt)


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _func_name(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _arg(call: ast.Call, index: int, name: str) -> str | None:
    if len(call.args) > index:
        return _literal(call.args[index])
    return _literal(_keyword(call, name))


def _batch_table(node: ast.With | ast.AsyncWith) -> tuple[str, str] | None:
    """``with op.batch_alter_table("t") as batch_op`` → ("batch_op", "t")."""
    for item in node.items:
        call = item.context_expr
        if (
            isinstance(call, ast.Call)
            and _func_name(call) == "batch_alter_table"
            and isinstance(item.optional_vars, ast.Name)
        ):
            table = _arg(call, 0, "table_name")
            if table:
                return item.optional_vars.id, table
    return None


def _calls(node: ast.AST, batches: dict[str, str]) -> Iterator[tuple[ast.Call, str | None]]:
    """Every call under `node` with the table of the batch it is made on (if any)."""
    if isinstance(node, (ast.With, ast.AsyncWith)):
        found = _batch_table(node)
        if found:
            batches = {**batches, found[0]: found[1]}
    if isinstance(node, ast.Call):
        f = node.func
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        yield node, batches.get(owner)
    for child in ast.iter_child_nodes(node):
        yield from _calls(child, batches)


def operations(tree: ast.Module) -> list[SourceOp]:
    """Drops and renames of tables and columns the upgrade code names literally."""
    out: list[SourceOp] = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "downgrade":
            continue
        for node, batch_table in _calls(stmt, {}):
            out.extend(_operation(node, batch_table))
    return sorted(out, key=lambda op: op.line)


def _operation(node: ast.Call, batch_table: str | None) -> list[SourceOp]:
    name = _func_name(node)
    offset = 0 if batch_table else 1
    table = batch_table or _arg(node, 0, "table_name")
    if name == "drop_table":
        t = _arg(node, 0, "table_name")
        return [SourceOp("drop table", t, None, node.lineno)] if t else []
    if name == "rename_table":
        old, new = _arg(node, 0, "old_table_name"), _arg(node, 1, "new_table_name")
        return [SourceOp("rename table", old, None, node.lineno, new)] if old and new else []
    if name == "drop_column" and table:
        col = _arg(node, offset, "column_name")
        return [SourceOp("drop column", table, col, node.lineno)] if col else []
    if name == "alter_column" and table:
        col = _arg(node, offset, "column_name")
        new = _literal(_keyword(node, "new_column_name"))
        return [SourceOp("rename column", table, col, node.lineno, new)] if col and new else []
    return []


def enum_names(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) of enum types the upgrade code creates: ``sa.Enum(..., name=...)``,
    ``postgresql.ENUM(..., name=...)`` and ``CREATE TYPE x AS ENUM`` in SQL strings."""
    out: list[tuple[str, int]] = []
    for node in upgrade_nodes(tree):
        if isinstance(node, ast.Call) and _func_name(node) in ("Enum", "ENUM"):
            name = _literal(_keyword(node, "name"))
            if name:
                out.append((name, node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in _CREATE_TYPE.finditer(node.value):
                out.append(((m.group(1) or m.group(2)).split(".")[-1], node.lineno))
    return out


def find_line(tree: ast.Module, *names: str) -> int | None:
    """Line of the first upgrade call whose literal string arguments include every name."""
    wanted = set(names)
    best: int | None = None
    for node in upgrade_nodes(tree):
        if not isinstance(node, ast.Call):
            continue
        literals = {_literal(a) for a in node.args} | {_literal(k.value) for k in node.keywords}
        if wanted <= literals and (best is None or node.lineno < best):
            best = node.lineno
    return best
