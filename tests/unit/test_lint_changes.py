"""Lint's work follows what a revision changed: the source indexed once (`SourceIndex` gives
the lines a walk of the tree gives), the rules read only the tables a revision changed, and
sharing `Table` objects between snapshots is only a shortcut (snapshots that share nothing
give the same findings)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from migration_gate.findings import Finding
from migration_gate.lint import lint_revision
from migration_gate.lint.changes import schema_changes
from migration_gate.lint.config import LintConfig
from migration_gate.lint.source import SourceIndex
from migration_gate.snapshot import Column, EnumType, ForeignKey, SchemaSnapshot, Table
from tests.unit.test_lint_rules import ctx_for, revision

ROOT = Path(__file__).resolve().parents[2]


def _table(name: str, *cols: tuple[str, str], fks: tuple[ForeignKey, ...] = ()) -> Table:
    return Table(name=name, columns=tuple(Column(n, t) for n, t in cols), foreign_keys=fks)


def _unshared(snap: SchemaSnapshot) -> SchemaSnapshot:
    """The same schema built from scratch: no object in common with `snap`."""
    return SchemaSnapshot.from_dict(snap.to_dict())


# -- the source, indexed once ----------------------------------------------------------------


def _walked_line(tree: ast.Module, *names: str) -> int | None:
    """What lint did before the index: walk every upgrade call for each lookup."""
    best = None
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "downgrade":
            continue
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            literals = {
                a.value
                for a in (*node.args, *(k.value for k in node.keywords))
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
            if set(names) <= literals and (best is None or node.lineno < best):
                best = node.lineno
    return best


def _revision_files() -> list[Path]:
    files = sorted((ROOT / "tests" / "fixtures" / "chains").glob("*/migrations/versions/*.py"))
    return files + sorted((ROOT / "migrations" / "versions").glob("*.py"))


def test_the_index_finds_the_line_a_walk_finds_for_every_name_and_pair() -> None:
    files = _revision_files()
    assert len(files) > 30
    checked = 0
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        index = SourceIndex(tree)
        strings = sorted(
            {
                n.value
                for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
        )
        lookups = [(s,) for s in strings] + [(a, b) for a in strings[:30] for b in strings[:30]]
        for names in lookups:
            assert index.find_line(*names) == _walked_line(tree, *names), (path.name, names)
            checked += 1
    assert checked > 1000


def test_the_index_keeps_operations_enum_names_and_the_gate_line() -> None:
    src = revision(
        """
        with op.batch_alter_table('users') as batch_op:
            batch_op.drop_column('nickname')
        op.rename_table('a', 'b')
        sa.Enum('x', name='mood').create(op.get_bind())
        op.execute("CREATE TYPE public.colour AS ENUM ('red')")
        """,
        downgrade="op.drop_table('never_read')",
        header='gate = {"destructive": "why"}',
    )
    index = SourceIndex(ast.parse(src))
    assert [(o.kind, o.table, o.name, o.new_name) for o in index.operations] == [
        ("drop column", "users", "nickname", None),
        ("rename table", "a", None, "b"),
    ]
    assert sorted(name for name, _ in index.enum_names) == ["colour", "mood"]
    assert index.gate_line == 7
    assert index.find_line("never_read") is None  # downgrade() is not read


# -- what a revision changed -----------------------------------------------------------------

KEEP = _table("keep", ("id", "integer"))
OLD = _table("old", ("id", "integer"), ("v", "text"))


def test_schema_changes_name_removed_added_and_modified_tables() -> None:
    before = SchemaSnapshot("postgresql", tables=(KEEP, OLD, _table("gone", ("id", "integer"))))
    after = SchemaSnapshot(
        "postgresql",
        tables=(KEEP, _table("old", ("id", "integer")), _table("new", ("id", "integer"))),
    )
    for b, a in ((before, after), (_unshared(before), _unshared(after))):
        changes = schema_changes(b, a)
        assert [t.name for t in changes.removed] == ["gone"]
        assert [t.name for t in changes.added] == ["new"]
        assert [(x.name, y.columns) for x, y in changes.modified] == [
            ("old", (Column("id", "integer"),))
        ]
        assert [t.name for t in changes.touched] == ["old", "new"]
        assert changes.names == {"gone", "old", "new"} and not changes.enums_changed
    same = schema_changes(_unshared(before), before)
    assert not same and same.names == frozenset()


class Tripwire(Table):
    """A table no rule may read beyond its name and keys: an unchanged one."""

    def __getattribute__(self, attr: str) -> Any:
        if attr in ("columns", "primary_key", "unique_constraints", "check_constraints", "indexes"):
            raise AssertionError(f"a rule read {attr} of unchanged table {self.name}")
        return super().__getattribute__(attr)


def test_rules_read_only_the_tables_the_revision_changed() -> None:
    users = _table("users", ("id", "uuid"), ("email", "text"), ("nickname", "varchar(100)"))
    slim = _table("users", ("id", "uuid"), ("email", "text"))
    fk = ForeignKey(None, ("user_id",), "users", ("id",))
    notes = _table("notes", ("id", "integer"), ("user_id", "integer"), fks=(fk,))
    crowd = tuple(  # like a long chain: each table with a key to the one before
        Tripwire(
            f"t{i:04d}",
            (Column("id", "integer"), Column("prev_id", "integer")),
            foreign_keys=(ForeignKey(None, ("prev_id",), f"t{i - 1:04d}", ("id",)),),
        )
        for i in range(1, 300)
    )
    snaps = {
        d: (
            SchemaSnapshot(d, tables=(*crowd, users)),
            SchemaSnapshot(d, tables=(*crowd, slim, notes)),
        )
        for d in ("postgresql", "sqlite")
    }
    ctx = ctx_for(
        revision("op.drop_column('users', 'nickname')\nop.create_table('notes')"),
        statements=("ALTER TABLE users DROP COLUMN nickname", "CREATE TABLE notes (id int)"),
        snapshots=snaps,
    )
    found, _ = lint_revision(ctx, LintConfig())
    assert sorted((f.check, f.details.get("target") or f.details.get("table")) for f in found) == [
        ("destructive-operation", "users.nickname"),
        ("fk-type-mismatch", "notes"),
    ]
    with pytest.raises(AssertionError, match="unchanged table t0001"):
        _ = crowd[0].columns  # the wire is live


# -- identity is only a shortcut -------------------------------------------------------------

MSG = _table("messages", ("id", "uuid"), ("role", "message_role"), ("body", "text"))
ROLE = EnumType("message_role", ("user", "tool"))
USERS = _table("users", ("id", "integer"), ("email", "varchar(100)"))
LINK = ForeignKey(None, ("user_id",), "users", ("id",))
RECORDS = _table("records", ("id", "integer"), ("user_id", "integer"), fks=(LINK,))

#: up, tables before, tables after, enums after (default: ROLE), what lint reports
SCENARIOS: dict[
    str, tuple[str, tuple[Table, ...], tuple[Table, ...], tuple[EnumType, ...], set[str]]
] = {
    "drop a table": ("op.drop_table('users')", (MSG, USERS), (MSG,), (), {"users"}),
    "drop a column and narrow another": (
        "op.drop_column('messages', 'body')\nop.alter_column('users', 'email')",
        (MSG, USERS),
        (
            _table("messages", ("id", "uuid"), ("role", "message_role")),
            _table("users", ("id", "integer"), ("email", "varchar(10)")),
        ),
        (),
        {"messages.body", "users.email"},  # SQLite: not the narrowing (it has no lengths)
    ),
    "rename a table the source does not name, drop another": (
        "op.execute('ALTER TABLE users RENAME TO people')\nop.drop_table('messages')",
        (MSG, USERS),
        (replace(USERS, name="people"),),
        (),
        {"messages"},
    ),
    "change the referenced key's type": (
        "op.alter_column('users', 'id')",
        (USERS, RECORDS),
        (_table("users", ("id", "uuid"), ("email", "varchar(100)")), RECORDS),
        (),
        {"users.id", "fk records"},
    ),
    "add the table a dangling key referenced": (
        "op.create_table('users')",
        (RECORDS,),
        (_table("users", ("id", "uuid")), RECORDS),
        (),
        {"fk records"},
    ),
    "move a column to a new enum without a value": (
        "op.execute(\"CREATE TYPE msg_role AS ENUM ('user')\")",
        (MSG,),
        (_table("messages", ("id", "uuid"), ("role", "msg_role"), ("body", "text")),),
        (EnumType("msg_role", ("user",)),),
        {"message_role.'tool'"},
    ),
}


def _findings(up: str, before: SchemaSnapshot, after: SchemaSnapshot) -> list[Finding]:
    ctx = ctx_for(revision(up), snapshots={before.dialect: (before, after)})
    return lint_revision(ctx, LintConfig())[0]


def _what(f: Finding) -> str:
    return f.details["target"] if "target" in f.details else f"fk {f.details['table']}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_snapshots_that_share_nothing_give_the_same_findings(scenario: str, dialect: str) -> None:
    up, old, new, new_enums, expected = SCENARIOS[scenario]
    before = SchemaSnapshot(dialect, tables=old, enums=(ROLE,))
    after = SchemaSnapshot(dialect, tables=new, enums=new_enums or (ROLE,))
    shared = _findings(up, before, after)
    if dialect == "sqlite":
        expected = expected - {"users.email"}
    assert {_what(f) for f in shared} == expected
    assert _findings(up, _unshared(before), _unshared(after)) == shared
