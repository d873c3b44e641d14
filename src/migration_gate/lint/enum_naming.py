"""enum-naming: a PostgreSQL enum type named against the convention, or unlike the models.

Post-mortem 004: a migration created ``messagerole`` (SQLAlchemy's default name for a class
``MessageRole``), was edited to ``message_role`` after it had run on dev, and dev and prod
disagreed from then on. A new enum type is reported when

* the models give the same column (or a type of the same letters) another name, or
* its name breaks the convention: by default snake_case with the words separated, so a
  name that runs together the words of its column (``messagerole`` for ``messages.role``)
  or of its Python enum class is reported too; ``enum_naming`` may instead be ``"none"``
  or a regular expression the name must match.

New types are read from the PostgreSQL schema after the revision (with the columns that use
them, read from the tables the revision changed), or from the source (``sa.Enum(name=...)``,
``CREATE TYPE ... AS ENUM``) without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migration_gate.findings import Finding, Severity
from migration_gate.lint.context import ModelEnum, RevisionContext

__all__ = ["ID", "SEVERITY", "check", "snake_case"]

ID = "enum-naming"
SEVERITY: Severity = "error"
_SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_CREATE_TYPE = re.compile(r"^\s*create\s+type\s+(?:\"?[\w]+\"?\.)?\"?(\w+)\"?\s+as\s+enum", re.I)


def snake_case(name: str) -> str:
    """``MessageRole`` → ``message_role``; ``message-role`` → ``message_role``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^a-zA-Z0-9]+", "_", spaced).strip("_").lower()


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ses") or word.endswith("xes"):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _new_enums(ctx: RevisionContext) -> list[tuple[str, int, list[str]]]:
    """(name, line, "table.column"s using it) of each enum type the revision creates."""
    lines: dict[str, int] = {}
    for name, line in ctx.source.enum_names:
        lines.setdefault(name, line)
    for i, st in enumerate(ctx.statements):
        m = _CREATE_TYPE.match(st.sql)
        if m:
            lines.setdefault(m.group(1), ctx.statement_line(i))
    pg = ctx.snapshots.get("postgresql")
    if pg is None:
        return [(name, line, []) for name, line in lines.items()]
    before, after = pg
    changes = ctx.changes["postgresql"]
    if not changes.enums_changed:
        return []
    old = {e.name for e in before.enums}
    out = []
    for enum in after.enums:
        if enum.name in old:
            continue
        # a column of a type that did not exist before is in a table the revision changed
        users = [
            f"{t.name}.{c.name}" for t in changes.touched for c in t.columns if c.type == enum.name
        ]
        out.append((enum.name, lines.get(enum.name, ctx.upgrade_line), users))
    return out


def _from_models(
    name: str, users: list[str], models: Iterable[ModelEnum]
) -> tuple[str, str] | None:
    models = list(models)
    if any(m.name == name for m in models):
        return None
    for m in models:
        if f"{m.table}.{m.column}" in users:
            return m.name, f"the models name the type of {m.table}.{m.column} {m.name}"
    for m in models:
        if _squash(m.name) == _squash(name):
            return m.name, f"the models call this type {m.name}"
    return None


def _from_convention(
    name: str, users: list[str], models: Iterable[ModelEnum], convention: str
) -> tuple[str | None, str] | None:
    if convention == "none":
        return None
    if convention != "snake_case":
        if re.fullmatch(convention, name):
            return None
        return None, f"it does not match the project's enum_naming pattern {convention!r}"
    if not _SNAKE.fullmatch(name):
        return snake_case(name), "it is not snake_case"
    candidates: list[str] = []
    for user in users:
        table, column = user.split(".", 1)
        candidates += [f"{_singular(table)}_{column}", f"{table}_{column}"]
    candidates += [snake_case(m.class_name) for m in models if m.class_name]
    for candidate in candidates:
        if "_" in candidate and candidate != name and _squash(candidate) == _squash(name):
            return (
                candidate,
                "it runs words together (SQLAlchemy's default name for an enum "
                "class is its lowercased class name)",
            )
    return None


def check(ctx: RevisionContext) -> list[Finding]:
    models = ctx.model_enums or ()
    out: list[Finding] = []
    for name, line, users in _new_enums(ctx):
        differs = _from_models(name, users, models) if ctx.model_enums is not None else None
        if differs is not None:
            expected, why = differs
            message = (
                f"enum type {name} differs from the models: {why}; code and databases "
                "migrated by this chain would disagree on the type's name"
            )
        else:
            broken = _from_convention(name, users, models, ctx.enum_convention)
            if broken is None:
                continue
            maybe, why = broken
            expected = maybe or ""
            message = f"enum type {name} breaks the naming convention: {why}"
        hint = (
            f"name it {expected} in this migration before it is released (once released, "
            f"add a new migration: ALTER TYPE {name} RENAME TO {expected})"
            if expected
            else "rename it in this migration before it is released"
        )
        out.append(
            Finding(
                check=ID,
                severity=SEVERITY,
                revision=ctx.revision,
                file=ctx.file,
                line=line,
                dialect="postgresql" if "postgresql" in ctx.snapshots else None,
                message=message + (f" (used by {', '.join(users)})" if users else ""),
                details={"enum": name, "expected": expected or None, "hint": hint},
            )
        )
    return out
