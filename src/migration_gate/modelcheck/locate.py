"""Where a check-models finding points: the model's line, or the migration line that made it.

`ModelLines` finds the modules that define a `MetaData`'s tables (the loaded modules that
hold the metadata, a declarative base of it, a table of it or a mapped class) and reads
them with `ast`: a table is the `class` that sets ``__tablename__ = "x"`` or the
``Table("x", ...)`` call, a column the class attribute or the ``Column("c", ...)`` inside
it. `MigrationLines` reads the revisions' `upgrade()` in walk order and finds the first
string that names an object: ``op.create_table("x")``, ``sa.Column("c")``, or a word of
the SQL in ``op.execute("CREATE TRIGGER ...")`` (the line inside the string).

Both return None when they cannot tell: a finding then has no line rather than a made-up one.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from migration_gate.chain.revisions import RevisionInfo

__all__ = ["Location", "MigrationLines", "ModelLines", "subject"]


@dataclass(frozen=True)
class Location:
    """A file and line; `revision` when the file is a migration."""

    path: Path
    line: int
    revision: str | None = None


_COLUMN_CALLS = frozenset({"Column", "mapped_column"})


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return ""


def _first_str(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


@dataclass
class _Table:
    line: int
    columns: dict[str, int]


@lru_cache(maxsize=64)
def _model_tables(path: Path) -> dict[str, _Table]:
    """Table name → its line and its columns' lines, in one models module."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    tables: dict[str, _Table] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            _declarative(node, tables)
        elif _call_name(node) == "Table" and isinstance(node, ast.Call):
            name = _first_str(node)
            if name is not None:
                columns = {
                    col: arg.lineno
                    for arg in node.args[1:]
                    if _call_name(arg) in _COLUMN_CALLS
                    and isinstance(arg, ast.Call)
                    and (col := _first_str(arg)) is not None
                }
                tables.setdefault(name, _Table(node.lineno, columns))
    return tables


def _declarative(node: ast.ClassDef, tables: dict[str, _Table]) -> None:
    name = None
    columns: dict[str, int] = {}
    for stmt in node.body:
        target, value = _assignment(stmt)
        if target is None:
            continue
        if target == "__tablename__" and isinstance(value, ast.Constant):
            name = str(value.value)
        elif isinstance(value, ast.Call) and _call_name(value) in _COLUMN_CALLS:
            columns[_first_str(value) or target] = stmt.lineno
        elif value is None and isinstance(stmt, ast.AnnAssign):  # `x: Mapped[int]`
            columns.setdefault(target, stmt.lineno)
    if name is not None:
        tables.setdefault(name, _Table(node.lineno, columns))


def _assignment(stmt: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, stmt.value
    return None, None


def _holds(value: Any, metadata: sa.MetaData) -> bool:
    """Whether a module attribute is the metadata, a table of it, or a class bound to it."""
    if value is metadata:
        return True
    if isinstance(value, sa.Table):
        return value.metadata is metadata
    if isinstance(value, type):
        attrs = vars(value)
        table = attrs.get("__table__")
        return attrs.get("metadata") is metadata or (
            isinstance(table, sa.Table) and table.metadata is metadata
        )
    return False


class ModelLines:
    """The lines of the tables and columns a `MetaData` declares, in its modules' source."""

    def __init__(self, metadata: Any) -> None:
        self.files: list[Path] = []
        if isinstance(metadata, sa.MetaData):
            self.files = sorted(_module_files(metadata))

    def table(self, name: str) -> Location | None:
        for path in self.files:
            found = _model_tables(path).get(name) or _model_tables(path).get(_bare(name))
            if found is not None:
                return Location(path, found.line)
        return None

    def column(self, table: str, column: str) -> Location | None:
        for path in self.files:
            found = _model_tables(path).get(table) or _model_tables(path).get(_bare(table))
            if found is not None:
                return Location(path, found.columns.get(column, found.line))
        return None


def _bare(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _module_files(metadata: sa.MetaData) -> set[Path]:
    files: set[Path] = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not str(file).endswith(".py"):
            continue
        try:
            values = list(vars(module).values())
        except TypeError:
            continue
        if any(_holds(v, metadata) for v in values):
            files.add(Path(file).resolve())
    return files


@lru_cache(maxsize=512)
def _upgrade_strings(path: Path) -> tuple[tuple[str, int], ...]:
    """The string constants in `upgrade()` of a revision file, with their lines."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return ()
    found: list[tuple[str, int]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "upgrade":
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    found.append((sub.value, sub.lineno))
    return tuple(found)


class MigrationLines:
    """The line of the first revision (in walk order) whose upgrade() names an object."""

    def __init__(self, revisions: Sequence[RevisionInfo], order: Iterable[str]) -> None:
        by_id = {r.revision: r for r in revisions}
        self.revisions = [by_id[rev] for rev in order if rev in by_id]

    def find(self, name: str, *, within: str | None = None) -> Location | None:
        """Where `name` is first written in an upgrade(); with `within`, only in revisions
        that also name that (a column in its table's revisions)."""
        word = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])", re.IGNORECASE)
        for rev in self.revisions:
            strings = _upgrade_strings(rev.path)
            if within is not None and not any(text == within for text, _ in strings):
                continue
            for text, line in strings:
                if text == name:
                    return Location(rev.path, line, rev.revision)
            for text, line in strings:
                match = word.search(text)
                if match is not None:
                    return Location(
                        rev.path, line + text.count("\n", 0, match.start()), rev.revision
                    )
        return None


def subject(path: tuple[str, ...]) -> tuple[str, str | None, str | None]:
    """What a change path is about, as (kind, table, name): ("column", "users", "email"),
    ("table", "users", None), ("index", "users", "ix_users_email"), ("view", None, "v")..."""
    if path[0] == "tables":
        table = path[1]
        if len(path) >= 4 and path[2] == "columns":
            return "column", table, path[3]
        if len(path) >= 4 and not path[3].startswith(("(", "unique(", "check(")):
            return path[2], table, path[3]
        return "table", table, None
    name = path[1] if len(path) > 1 else None
    if path[0] == "functions" and name:
        name = name.split("(", 1)[0]
    elif path[0] == "triggers" and name:
        table, _, trigger = name.rpartition(".")
        return "trigger", table, trigger
    return path[0], None, name
