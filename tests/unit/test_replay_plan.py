"""The pure parts of snapshot: parsing masks, choosing fakes, planning a sampled copy."""

from __future__ import annotations

import pytest

from migration_gate.db.pgtools import conninfo, major_of
from migration_gate.errors import ConfigError
from migration_gate.replay.mask import default_kind, mask_expression, parse_mask
from migration_gate.replay.sample import plan_copy, propagate_masks, qtable
from migration_gate.snapshot import Column, ForeignKey, SchemaSnapshot, Table


def _table(name: str, cols: list[tuple[str, str, bool]], fks: list[ForeignKey] = ()) -> Table:  # type: ignore[assignment]
    return Table(
        name,
        tuple(Column(c, t, nullable=n) for c, t, n in cols),
        primary_key=("id",),
        foreign_keys=tuple(fks),
    )


SNAP = SchemaSnapshot(
    "postgresql",
    tables=(
        _table("users", [("id", "integer", False), ("email", "varchar(320)", False)]),
        _table(
            "posts",
            [
                ("id", "integer", False),
                ("author_id", "integer", False),
                ("editor_id", "integer", True),
                ("parent_id", "integer", True),
            ],
            [
                ForeignKey("fk_a", ("author_id",), "users", ("id",)),
                ForeignKey("fk_e", ("editor_id",), "users", ("id",)),
                ForeignKey("fk_p", ("parent_id",), "posts", ("id",)),
            ],
        ),
        _table("alembic_version", [("version_num", "varchar(32)", False)]),
    ),
)


def test_parse_mask() -> None:
    assert parse_mask("users.email").kind is None
    spec = parse_mask("audit.log.ip=hash")
    assert (spec.table, spec.column, spec.kind) == ("audit.log", "ip", "hash")
    assert spec.text() == "audit.log.ip=hash"
    with pytest.raises(ConfigError, match=r"not table\.column"):
        parse_mask("email")
    with pytest.raises(ConfigError, match="unknown kind 'ssn'"):
        parse_mask("users.email=ssn")


@pytest.mark.parametrize(
    ("column", "type_", "kind"),
    [
        ("email", "varchar(320)", "email"),
        ("full_name", "text", "name"),
        ("phone_number", "varchar(20)", "phone"),
        ("content", "text", "hash"),
        ("id", "uuid", "uuid"),
        ("age", "integer", "number"),
        ("price", "numeric(10,2)", "number"),
        ("born", "date", "date"),
        ("seen", "timestamptz", "date"),
        ("doc", "jsonb", "json"),
        ("ok", "boolean", "bool"),
        ("role", "message_role", None),
        ("tags", "text[]", None),
    ],
)
def test_default_kind(column: str, type_: str, kind: str | None) -> None:
    assert default_kind(column, type_) == kind


def test_mask_expressions_keep_null_fit_the_length_and_use_the_session_key() -> None:
    expr = mask_expression(
        't."email"', "users.email", "varchar(20)", "email", nullable=False, unique=True
    )
    assert expr.startswith('CASE WHEN t."email" IS NULL THEN NULL ELSE left(')
    assert expr.endswith(", 20) END")
    assert "current_setting('migration_gate.mask_key')" in expr
    assert "hunter" not in expr
    with pytest.raises(ConfigError, match="NOT NULL"):
        mask_expression("t.x", "t.x", "text", "null", nullable=False, unique=False)
    with pytest.raises(ConfigError, match="does not fit"):
        mask_expression("t.x", "t.x", "integer", "email", nullable=True, unique=False)


def test_masks_follow_foreign_keys_and_conflicts_are_refused() -> None:
    masks = propagate_masks(SNAP, {("users", "id"): "number"})
    assert masks[("posts", "author_id")] == masks[("posts", "editor_id")] == "number"
    with pytest.raises(ConfigError, match="the join would break"):
        propagate_masks(SNAP, {("users", "id"): "number", ("posts", "author_id"): "hash"})


def test_sampling_plan_orders_parents_first_and_nulls_nullable_references() -> None:
    plans = plan_copy(SNAP, sample=10, masks={("users", "email"): None})
    names = [p.name for p in plans]
    assert names.index("users") < names.index("posts")
    posts = next(p for p in plans if p.name == "posts")
    users = next(p for p in plans if p.name == "users")
    version = next(p for p in plans if p.name == "alembic_version")
    assert posts.keys is not None and "LIMIT 10" in posts.keys
    assert '(t."author_id") IN (SELECT "id" FROM' in posts.keys  # required parent
    assert "editor_id" not in posts.keys.split("WHERE")[1]  # nullable: not a filter
    assert posts.select.count("CASE WHEN") == 2  # editor_id and parent_id nulled if dangling
    assert posts.prune is None  # the self reference is nullable
    assert users.select.count("current_setting") >= 1 and version.keys is None
    assert "ctid = ANY" in posts.select and "ONLY" in posts.select


def test_not_null_cycles_cannot_be_sampled_but_self_references_are_pruned() -> None:
    a = _table(
        "a",
        [("id", "integer", False), ("b_id", "integer", False)],
        [ForeignKey("x", ("b_id",), "b", ("id",))],
    )
    b = _table(
        "b",
        [("id", "integer", False), ("a_id", "integer", False)],
        [ForeignKey("y", ("a_id",), "a", ("id",))],
    )
    with pytest.raises(ConfigError, match="cycle between a, b"):
        plan_copy(SchemaSnapshot("postgresql", tables=(a, b)), sample=5, masks={})
    assert plan_copy(SchemaSnapshot("postgresql", tables=(a, b)), sample=None, masks={})
    tree = _table(
        "tree",
        [("id", "integer", False), ("up", "integer", False)],
        [ForeignKey("z", ("up",), "tree", ("id",))],
    )
    (plan,) = plan_copy(SchemaSnapshot("postgresql", tables=(tree,)), sample=5, masks={})
    assert plan.prune is not None and plan.prune.startswith("DELETE FROM mg_k_0 AS k WHERE NOT")


def test_names_and_connection_strings() -> None:
    assert qtable("audit.log") == '"audit"."log"' and qtable('we"ird') == '"we""ird"'
    text, env = conninfo("postgresql+psycopg://app:s3cret@db.example:5433/prod?sslmode=require&x=1")
    assert "s3cret" not in text and env == {"PGPASSWORD": "s3cret"}
    assert "host='db.example'" in text and "port='5433'" in text and "sslmode='require'" in text
    assert "x=" not in text
    assert major_of("15.18 (Debian 15.18-0+deb12u1)") == 15 and major_of("9.6.24") == 9
