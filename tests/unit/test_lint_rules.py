"""Lint rules as pure functions of a `RevisionContext`, and the pieces they stand on:
SQL parsing, type widening, the capture's rendering, configuration and the rule registry."""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from migration_gate.chain.revisions import parse_revision_source
from migration_gate.chain.sql_capture import (
    CapturedStatement,
    is_bookkeeping,
    render_statement,
    rendered_script,
    statement_at,
)
from migration_gate.errors import ConfigError
from migration_gate.lint import (
    RULES,
    destructive,
    enum_naming,
    fk_types,
    lint_revision,
    missing_downgrade,
    unsafe_lock,
)
from migration_gate.lint.config import FAMILIES, LintConfig, load_lint_config
from migration_gate.lint.context import ModelEnum, RevisionContext, SquawkViolation
from migration_gate.lint.sqlops import SqlOp, parse_ops
from migration_gate.lint.types import can_lose_data
from migration_gate.snapshot import Column, EnumType, ForeignKey, SchemaSnapshot, Table


def revision(upgrade: str, *, downgrade: str = "op.drop_table('x')", header: str = "") -> str:
    return (
        '"""a revision"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "r2"\ndown_revision = "r1"\n{header}\n\n'
        f"def upgrade():\n{textwrap.indent(textwrap.dedent(upgrade).strip(), '    ')}\n\n\n"
        f"def downgrade():\n{textwrap.indent(textwrap.dedent(downgrade).strip(), '    ')}\n"
    )


def ctx_for(
    source: str,
    *,
    statements: tuple[str, ...] = (),
    lines: tuple[int | None, ...] = (),
    snapshots: Mapping[str, tuple[SchemaSnapshot, SchemaSnapshot]] | None = None,
    squawk: tuple[SquawkViolation, ...] = (),
    models: tuple[ModelEnum, ...] | None = None,
    convention: str = "snake_case",
) -> RevisionContext:
    info = parse_revision_source(source, Path("migrations/versions/r2.py"))
    assert info is not None
    captured = tuple(
        CapturedStatement(sql, lines[i] if i < len(lines) else None)
        for i, sql in enumerate(statements)
    )
    _, starts = rendered_script(captured)
    return RevisionContext(
        info=info,
        file="migrations/versions/r2.py",
        tree=ast.parse(source),
        statements=captured,
        sql_starts=tuple(starts),
        snapshots=snapshots or {},
        squawk=squawk,
        model_enums=models,
        enum_convention=convention,
    )


def snap(dialect: str, *tables: Table, enums: tuple[EnumType, ...] = ()) -> SchemaSnapshot:
    return SchemaSnapshot(dialect=dialect, tables=tables, enums=enums)


def table(name: str, *cols: tuple[str, str], fks: tuple[ForeignKey, ...] = ()) -> Table:
    return Table(name=name, columns=tuple(Column(n, t) for n, t in cols), foreign_keys=fks)


USERS = table("users", ("id", "uuid"), ("email", "text"), ("nickname", "varchar(100)"))


# -- SQL statements and types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "ops"),
    [
        (
            "DROP TABLE IF EXISTS public.messages, conversations CASCADE",
            [SqlOp("drop table", "messages"), SqlOp("drop table", "conversations")],
        ),
        ("ALTER TABLE users DROP COLUMN nickname", [SqlOp("drop column", "users", "nickname")]),
        (
            'ALTER TABLE ONLY "users" DROP IF EXISTS "nick name", DROP CONSTRAINT uq',
            [SqlOp("drop column", "users", "nick name")],
        ),
        (
            "ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(50) USING email::varchar",
            [SqlOp("alter type", "users", "email", "VARCHAR ( 50 )")],
        ),
        (
            "ALTER TABLE users ALTER email SET DATA TYPE text",
            [SqlOp("alter type", "users", "email", "text")],
        ),
        ("ALTER TABLE users ALTER COLUMN email SET NOT NULL", []),
        (
            "ALTER TABLE messages RENAME new_id TO id",
            [SqlOp("rename column", "messages", "new_id", "id")],
        ),
        (
            "ALTER TABLE _alembic_tmp_users RENAME TO users",
            [SqlOp("rename table", "_alembic_tmp_users", None, "users")],
        ),
        ("TRUNCATE TABLE ONLY sessions", [SqlOp("truncate", "sessions")]),
        ("CREATE TEMP TABLE IF NOT EXISTS t (id int)", [SqlOp("create table", "t")]),
        ("INSERT INTO _tmp (id) SELECT id FROM users", [SqlOp("copy rows", "_tmp", None, "users")]),
        ("UPDATE users SET email = lower(email)", []),
    ],
)
def test_parse_ops(sql: str, ops: list[SqlOp]) -> None:
    assert parse_ops(sql) == ops


@pytest.mark.parametrize(
    ("old", "new", "lossy"),
    [
        ("varchar(100)", "varchar(200)", False),
        ("varchar(100)", "text", False),
        ("varchar(200)", "varchar(50)", True),
        ("text", "varchar(50)", True),
        ("integer", "bigint", False),
        ("bigint", "integer", True),
        ("integer", "uuid", True),
        ("integer", "numeric(12,0)", False),
        ("numeric(10,2)", "numeric(12,2)", False),
        ("numeric(10,2)", "numeric(10,0)", True),
        ("varchar(20)", "message_role", False),  # string -> enum fails loudly instead
        ("message_role", "varchar(20)", False),
        ("timestamptz", "date", True),
        ("date", "timestamptz", False),
        ("json", "jsonb", False),
        ("double precision", "real", True),
    ],
)
def test_can_lose_data(old: str, new: str, lossy: bool) -> None:
    enums = ["message_role"]
    assert can_lose_data(old, new, old_enums=enums, new_enums=enums) is lossy


def test_sqlite_does_not_enforce_lengths() -> None:
    assert can_lose_data("varchar(20)", "varchar(9)", sized=False) is False
    assert can_lose_data("integer", "char(32)", sized=False) is True


# -- the capture's rendering -----------------------------------------------------------------


def test_render_statement_inlines_parameters() -> None:
    assert (
        render_statement("UPDATE t SET a = %(a)s WHERE b LIKE 'x%%'", {"a": "it's"})
        == "UPDATE t SET a = 'it''s' WHERE b LIKE 'x%'"
    )
    assert (
        render_statement("INSERT INTO t VALUES (%s, %s, %s)", (1, None, True))
        == "INSERT INTO t VALUES (1, NULL, true)"
    )
    assert render_statement("SELECT 1", None) == "SELECT 1"


def test_rendered_script_maps_lines_and_frames_autocommit() -> None:
    statements = [
        CapturedStatement("CREATE TABLE t (\n  id int\n)"),
        CapturedStatement("INSERT INTO t VALUES (1)", executemany=3),
        CapturedStatement("CREATE INDEX CONCURRENTLY i ON t (id)", autocommit=True),
    ]
    text, starts = rendered_script(statements)
    lines = text.splitlines()
    assert [lines[s - 1] for s in starts] == [
        "CREATE TABLE t (",
        "INSERT INTO t VALUES (1);",
        "CREATE INDEX CONCURRENTLY i ON t (id);",
    ]
    assert "-- executed 3 times" in lines[starts[1] - 2]
    assert lines[starts[2] - 3] == "COMMIT;" and text.rstrip().endswith("BEGIN;")
    assert statement_at(starts, 2) == 0 and statement_at(starts, starts[2]) == 2


def test_bookkeeping_is_recognized() -> None:
    assert is_bookkeeping("UPDATE alembic_version SET version_num='r2'")
    assert is_bookkeeping("SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname = 'x'")
    assert is_bookkeeping("select pg_catalog.version()")
    assert not is_bookkeeping("SELECT id FROM users")
    assert not is_bookkeeping("ALTER TABLE users ADD COLUMN version int")


# -- destructive-operation -------------------------------------------------------------------


def test_undeclared_drop_column_in_sql_is_an_error_at_the_source_line() -> None:
    src = revision("op.drop_column('users', 'nickname')")
    before = snap("postgresql", USERS)
    after = snap("postgresql", table("users", ("id", "uuid"), ("email", "text")))
    found = destructive.check(
        ctx_for(
            src,
            statements=("ALTER TABLE users DROP COLUMN nickname",),
            lines=(9,),
            snapshots={"postgresql": (before, after)},
        )
    )
    assert [(f.check, f.severity, f.line, f.dialect) for f in found] == [
        ("destructive-operation", "error", 10, "postgresql")
    ]
    assert "drops column users.nickname" in found[0].message
    assert "gate" in found[0].details["hint"]


def test_declared_destructive_is_reported_once_as_info() -> None:
    src = revision("op.drop_table('users')", header='gate = {"destructive": "moved to service B"}')
    found = destructive.check(
        ctx_for(src, snapshots={"sqlite": (snap("sqlite", USERS), snap("sqlite"))})
    )
    assert [(f.severity, f.line) for f in found] == [("info", 7)]
    assert (
        "as declared (moved to service B)" in found[0].message
        and "drops table users" in found[0].message
    )


def test_drop_and_recreate_is_destructive_even_when_the_schema_looks_the_same() -> None:
    src = revision("op.execute('DROP TABLE users')\nop.execute('CREATE TABLE users (...)')")
    same = snap("postgresql", USERS)
    found = destructive.check(
        ctx_for(
            src,
            statements=("DROP TABLE users", "CREATE TABLE users (id uuid)"),
            snapshots={"postgresql": (same, same)},
        )
    )
    assert [f.details["target"] for f in found] == ["users"]


def test_objects_created_by_the_same_revision_or_rebuilt_are_not_destructive() -> None:
    src = revision("pass")
    before = snap("postgresql", USERS)
    statements = (
        "CREATE TABLE scratch (id int)",
        "DROP TABLE scratch",
        "CREATE TABLE _tmp_users (id uuid)",
        "INSERT INTO _tmp_users (id) SELECT id FROM users",
        "DROP TABLE users",
        "ALTER TABLE _tmp_users RENAME TO users",
    )
    assert (
        destructive.check(
            ctx_for(src, statements=statements, snapshots={"postgresql": (before, before)})
        )
        == []
    )


def test_lossy_type_change_and_widening() -> None:
    src = revision("op.alter_column('users', 'nickname', type_=sa.String(10))")
    before = snap("postgresql", USERS)
    narrow = snap(
        "postgresql", table("users", ("id", "uuid"), ("email", "text"), ("nickname", "varchar(10)"))
    )
    wide = snap(
        "postgresql", table("users", ("id", "uuid"), ("email", "text"), ("nickname", "text"))
    )
    found = destructive.check(ctx_for(src, snapshots={"postgresql": (before, narrow)}))
    assert [f.details["operation"] for f in found] == ["changes the type of"]
    assert "varchar(100) → varchar(10)" in found[0].message and found[0].line == 10
    assert destructive.check(ctx_for(src, snapshots={"postgresql": (before, wide)})) == []


def test_removed_enum_value_is_destructive() -> None:
    msgs = table("messages", ("id", "uuid"), ("role", "message_role"))
    before = snap("postgresql", msgs, enums=(EnumType("message_role", ("user", "tool")),))
    after = snap("postgresql", msgs, enums=(EnumType("message_role", ("user",)),))
    found = destructive.check(ctx_for(revision("pass"), snapshots={"postgresql": (before, after)}))
    assert [f.details["target"] for f in found] == ["message_role.'tool'"]


def test_rename_is_not_a_drop() -> None:
    src = revision("op.alter_column('users', 'nickname', new_column_name='handle')")
    after = snap(
        "sqlite", table("users", ("id", "uuid"), ("email", "text"), ("handle", "varchar(100)"))
    )
    assert (
        destructive.check(ctx_for(src, snapshots={"sqlite": (snap("sqlite", USERS), after)})) == []
    )


def test_without_any_database_the_source_names_the_drops() -> None:
    src = revision(
        "with op.batch_alter_table('users') as batch_op:\n    batch_op.drop_column('nickname')"
    )
    found = destructive.check(ctx_for(src))
    assert [(f.details["target"], f.line) for f in found] == [("users.nickname", 11)]


# -- missing-downgrade -----------------------------------------------------------------------


def test_missing_downgrade() -> None:
    found = missing_downgrade.check(ctx_for(revision("op.create_table('x')", downgrade="pass")))
    assert [(f.check, f.line) for f in found] == [("missing-downgrade", 13)]
    declared = revision(
        "op.create_table('x')", downgrade="pass", header='gate = {"irreversible": "why"}'
    )
    assert missing_downgrade.check(ctx_for(declared)) == []
    assert missing_downgrade.check(ctx_for(revision("pass", downgrade="pass"))) == []  # a merge


# -- fk-type-mismatch ------------------------------------------------------------------------


def test_fk_type_mismatch_is_reported_for_the_revision_that_adds_it() -> None:
    users = table("users", ("id", "char(32)"))
    fk = ForeignKey(None, ("user_id",), "users", ("id",))
    records = table("thought_records", ("id", "integer"), ("user_id", "integer"), fks=(fk,))
    src = revision(
        "op.create_table('thought_records', sa.Column('user_id', sa.Integer, sa.ForeignKey('users.id')))"
    )
    found = fk_types.check(
        ctx_for(src, snapshots={"sqlite": (snap("sqlite", users), snap("sqlite", users, records))})
    )
    assert [(f.check, f.dialect, f.line) for f in found] == [("fk-type-mismatch", "sqlite", 10)]
    assert "thought_records.user_id (integer) references users.id (char(32))" in found[0].message
    again = snap("sqlite", users, records)
    assert fk_types.check(ctx_for(revision("pass"), snapshots={"sqlite": (again, again)})) == []


# -- enum-naming -----------------------------------------------------------------------------


def _enum_ctx(name: str, **kw: Any) -> RevisionContext:
    msgs = table("messages", ("id", "uuid"), ("role", "varchar(20)"))
    after = snap(
        "postgresql",
        table("messages", ("id", "uuid"), ("role", name)),
        enums=(EnumType(name, ("user", "assistant")),),
    )
    src = revision(f"sa.Enum('user', 'assistant', name={name!r}).create(op.get_bind())")
    return ctx_for(src, snapshots={"postgresql": (snap("postgresql", msgs), after)}, **kw)


def test_enum_name_that_runs_words_together_breaks_the_convention() -> None:
    found = enum_naming.check(_enum_ctx("messagerole"))
    assert [(f.check, f.line, f.details["expected"]) for f in found] == [
        ("enum-naming", 10, "message_role")
    ]
    assert "breaks the naming convention" in found[0].message


def test_enum_names_in_snake_case_pass_and_camel_case_fails() -> None:
    assert enum_naming.check(_enum_ctx("message_role")) == []
    assert [f.details["expected"] for f in enum_naming.check(_enum_ctx("MessageRole"))] == [
        "message_role"
    ]
    assert enum_naming.snake_case("HTTPStatusCode") == "http_status_code"


def test_enum_name_unlike_the_models() -> None:
    models = (ModelEnum("messages", "role", "msg_role", "MessageRole"),)
    found = enum_naming.check(_enum_ctx("message_role", models=models))
    assert "the models name the type of messages.role msg_role" in found[0].message
    assert enum_naming.check(_enum_ctx("msg_role", models=models)) == []


def test_enum_convention_can_be_a_pattern_or_none() -> None:
    assert enum_naming.check(_enum_ctx("messagerole", convention="none")) == []
    assert enum_naming.check(_enum_ctx("message_role", convention=r"[a-z_]+_enum"))
    assert enum_naming.check(_enum_ctx("role_enum", convention=r"[a-z_]+_enum")) == []


def test_enum_names_come_from_the_source_without_postgresql() -> None:
    src = revision("op.execute(\"CREATE TYPE messagerole AS ENUM ('a')\")")
    models = (ModelEnum("messages", "role", "message_role", "MessageRole"),)
    found = enum_naming.check(ctx_for(src, models=models))
    assert [(f.dialect, f.details["expected"]) for f in found] == [(None, "message_role")]


# -- unsafe-lock -----------------------------------------------------------------------------


def test_squawk_lines_map_to_statements_and_source_lines() -> None:
    statements = ("CREATE TABLE t (\n  id int\n)", "CREATE INDEX ix ON items (name)")
    ctx = ctx_for(
        revision("pass"),
        statements=statements,
        lines=(9, 12),
        squawk=(
            SquawkViolation(
                "require-concurrent-index-creation",
                "During normal index creation...",
                line=4,
                help="Use `concurrently`.",
            ),
        ),
    )
    found = unsafe_lock.check(ctx)
    assert [(f.check, f.severity, f.line, f.details["sql_line"]) for f in found] == [
        ("unsafe-lock/require-concurrent-index-creation", "warning", 12, 5)
    ]
    assert "CREATE INDEX ix ON items (name)" in found[0].message
    assert found[0].details["hint"] == "Use `concurrently`."


def test_violations_in_version_bookkeeping_are_dropped() -> None:
    ctx = ctx_for(
        revision("pass"),
        statements=("UPDATE alembic_version SET version_num='r2'",),
        squawk=(SquawkViolation("require-lock-timeout", "Missing", line=0),),
    )
    assert unsafe_lock.check(ctx) == []


# -- configuration and the registry ----------------------------------------------------------


def test_every_rule_is_registered_with_a_family() -> None:
    assert [r.id for r in RULES] == list(FAMILIES)


def test_config_enable_disable_severity() -> None:
    cfg = load_lint_config(
        {
            "disable": ["unsafe-lock/require-lock-timeout", "enum-naming"],
            "enable": ["unsafe-lock/prefer-robust-stmts"],
            "severity": {"unsafe-lock": "error", "unsafe-lock/changing-column-type": "info"},
        }
    )
    assert not cfg.enabled("unsafe-lock/require-lock-timeout") and not cfg.enabled("enum-naming")
    assert cfg.enabled("unsafe-lock/prefer-robust-stmts") and not cfg.enabled(
        "unsafe-lock/prefer-text-field"
    )
    assert cfg.enabled("unsafe-lock/require-concurrent-index-creation")
    assert cfg.severity_for("unsafe-lock/adding-field-with-default", "warning") == "error"
    assert cfg.severity_for("unsafe-lock/changing-column-type", "warning") == "info"
    assert cfg.squawk_includes() == ["prefer-robust-stmts"]


@pytest.mark.parametrize(
    "table",
    [
        {"disable": ["no-such-rule"]},
        {"severity": {"enum-naming": "fatal"}},
        {"colour": 1},
        {"enable": "unsafe-lock"},
        {"enum_naming": "(["},
    ],
)
def test_bad_lint_config_is_a_config_error(table: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        load_lint_config(table)


def test_lint_revision_applies_config_and_allow() -> None:
    statements = ("CREATE INDEX ix ON items (name)",)
    squawk = (
        SquawkViolation("require-concurrent-index-creation", "blocks writes", line=0),
        SquawkViolation("require-lock-timeout", "no lock_timeout", line=0),
    )
    allow = 'gate = {"allow": {"unsafe-lock/require-concurrent-index-creation": "items is empty"}}'
    ctx = ctx_for(revision("pass", header=allow), statements=statements, squawk=squawk)
    found, silenced = lint_revision(ctx, load_lint_config({"severity": {"unsafe-lock": "error"}}))
    assert [(f.check, f.severity) for f in found] == [("unsafe-lock/require-lock-timeout", "error")]
    assert [(s["check"], s["reason"]) for s in silenced] == [
        ("unsafe-lock/require-concurrent-index-creation", "items is empty")
    ]
    unexplained = ctx_for(
        revision("pass", header=allow.replace("items is empty", " ")),
        statements=statements,
        squawk=squawk,
    )
    found, silenced = lint_revision(unexplained, LintConfig())
    assert len(found) == 2 and silenced == []  # an allow without a reason silences nothing


def test_declared_destructive_stays_info_whatever_the_configured_severity() -> None:
    src = revision("op.drop_table('users')", header='gate = {"destructive": "why"}')
    ctx = ctx_for(src, snapshots={"sqlite": (snap("sqlite", USERS), snap("sqlite"))})
    found, _ = lint_revision(
        ctx, load_lint_config({"severity": {"destructive-operation": "warning"}})
    )
    assert [f.severity for f in found] == ["info"]
