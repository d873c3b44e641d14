"""What a migration's source says it does, read once with `ast`: drops, renames, enum names, lines.

Only the code that can run on upgrade is read: everything in the module except the body of
``downgrade()``. Names are taken from literal strings only; a name built at run time is
invisible here, which is why the rules prefer the SQL and the snapshots when they have them.

`SourceIndex` walks a module's upgrade code once and keeps what the rules ask of it: the
Alembic operations it names, the enum types it creates, the line of ``gate = ...``, and every
literal string with the calls that pass it (name → lines), so that finding the line that
names a table or a column is a lookup, not another walk of the tree.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["SourceIndex", "SourceOp"]

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


class SourceIndex:
    """One module's upgrade code, walked once (see the module docstring)."""

    def __init__(self, tree: ast.Module) -> None:
        ops: list[SourceOp] = []
        enums: list[tuple[str, int]] = []
        #: literal string -> (line, every literal string argument) of each call passing it
        calls: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for stmt in tree.body:
            if (
                isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                and stmt.name == "downgrade"
            ):
                continue
            for node, batch_table in _walk(stmt):
                if isinstance(node, ast.Call):
                    ops.extend(_operation(node, batch_table))
                    literals = frozenset(_literals(node))
                    for text in literals:
                        calls.setdefault(text, []).append((node.lineno, literals))
                enums.extend(_enum_names(node))
        for found in calls.values():
            found.sort(key=lambda c: c[0])
        self._calls: dict[str, list[tuple[int, frozenset[str]]]] = calls
        #: drops and renames of tables and columns the upgrade code names literally, by line
        self.operations: tuple[SourceOp, ...] = tuple(sorted(ops, key=lambda op: op.line))
        #: (name, line) of enum types the upgrade code creates: ``sa.Enum(..., name=...)``,
        #: ``postgresql.ENUM(..., name=...)`` and ``CREATE TYPE x AS ENUM`` in SQL strings
        self.enum_names: tuple[tuple[str, int], ...] = tuple(enums)
        #: line of the module's ``gate = ...`` assignment, if any
        self.gate_line: int | None = _gate_line(tree)

    def find_line(self, name: str, *more: str) -> int | None:
        """Line of the first upgrade call whose literal string arguments include every name."""
        wanted = frozenset((name, *more))
        fewest = min((self._calls.get(n, ()) for n in wanted), key=len)
        return next((line for line, literals in fewest if wanted <= literals), None)


def _literals(call: ast.Call) -> Iterator[str]:
    """The literal string arguments of a call, positional and keyword."""
    for node in (*call.args, *(k.value for k in call.keywords)):
        s = _literal(node)
        if s is not None:
            yield s


def _enum_names(node: ast.AST) -> Iterator[tuple[str, int]]:
    """(name, line) of the enum types `node` creates: an ``Enum(..., name=...)`` call, or
    ``CREATE TYPE x AS ENUM`` in a string."""
    if isinstance(node, ast.Call) and _func_name(node) in ("Enum", "ENUM"):
        name = _literal(_keyword(node, "name"))
        if name:
            yield name, node.lineno
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        for m in _CREATE_TYPE.finditer(node.value):
            yield (m.group(1) or m.group(2)).split(".")[-1], node.lineno


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


def _walk(stmt: ast.stmt) -> Iterator[tuple[ast.AST, str | None]]:
    """Every node under `stmt` in `ast.walk` order (breadth first: the order in which the
    enum-naming rule has always met enum names), each with the table of the
    ``batch_alter_table`` it is made on when it is a call on that batch's variable."""
    todo: deque[tuple[ast.AST, dict[str, str]]] = deque([(stmt, {})])
    while todo:
        node, batches = todo.popleft()
        if isinstance(node, (ast.With, ast.AsyncWith)):
            found = _batch_table(node)
            if found:
                batches = {**batches, found[0]: found[1]}
        table = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            table = batches.get(owner.id) if isinstance(owner, ast.Name) else None
        todo.extend((child, batches) for child in ast.iter_child_nodes(node))
        yield node, table


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


def _gate_line(tree: ast.Module) -> int | None:
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == "gate" for t in targets):
            return node.lineno
    return None
