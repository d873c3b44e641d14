"""fk-type-mismatch and dialect-divergence on hand-made snapshots (pure)."""

from __future__ import annotations

from pathlib import Path

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.checks.base import StepContext
from migration_gate.checks.divergence import Divergence, divergence_findings, divergences
from migration_gate.checks.fk_types import FkTypeCheck, describe, fk_type_mismatches
from migration_gate.snapshot.model import (
    Column,
    EnumType,
    ForeignKey,
    Index,
    SchemaSnapshot,
    Table,
    UniqueConstraint,
)


def users(key: str) -> Table:
    return Table(
        "users",
        (Column("id", key, nullable=False), Column("email", "varchar(255)", nullable=False)),
        primary_key=("id",),
        unique_constraints=(UniqueConstraint("uq_users_email", ("email",)),),
    )


def records(col: str) -> Table:
    return Table(
        "thought_records",
        (Column("id", "integer", nullable=False), Column("user_id", col, nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk_user", ("user_id",), "users", ("id",)),),
    )


def test_integer_fk_to_uuid_key_is_a_mismatch_on_sqlite_too() -> None:
    snap = SchemaSnapshot("sqlite", (users("char(32)"), records("integer")))
    (m,) = fk_type_mismatches(snap)
    assert (m.table, m.col_type, m.ref_type) == ("thought_records", "integer", "char(32)")
    assert tuple(m) == ("thought_records", m.fk, "integer", "char(32)")  # the shape lint uses
    assert m.fk.ref_table == "users"
    assert describe(m) == "thought_records.user_id (integer) references users.id (char(32))"


def test_same_family_is_not_a_mismatch() -> None:
    assert fk_type_mismatches(SchemaSnapshot("postgresql", (users("uuid"), records("uuid")))) == []
    assert (
        fk_type_mismatches(SchemaSnapshot("postgresql", (users("bigint"), records("integer"))))
        == []
    )
    # a key to a table the snapshot does not have is not judged
    assert fk_type_mismatches(SchemaSnapshot("sqlite", (records("integer"),))) == []


def test_the_hook_reports_what_a_revision_introduced_among_shared_objects(
    tmp_path: Path,
) -> None:
    # A walk's snapshots share the objects a step did not touch: a key type change on the
    # referenced side alone (the referring table is the very same object) is still found,
    # once; an untouched mismatch is not reported again.
    rev = RevisionInfo("r2", ("r1",), tmp_path / "r2.py", upgrade_line=3)
    hook = FkTypeCheck()
    step = StepContext(None, rev, "sqlite", tmp_path)  # type: ignore[arg-type]
    refs, others = records("integer"), Table("others", (Column("id", "integer"),))
    before = SchemaSnapshot("sqlite", (users("integer"), refs, others))
    after = SchemaSnapshot("sqlite", (users("char(32)"), refs, others))
    (found,) = hook.after_upgrade(step, before, after)  # type: ignore[arg-type]
    assert found.details["table"] == "thought_records" and found.revision == "r2"
    later = SchemaSnapshot("sqlite", (after.tables[0], refs, Table("more", ())))
    assert hook.after_upgrade(step, after, later) == []  # type: ignore[arg-type]
    fixed = SchemaSnapshot("sqlite", (after.tables[0], records("char(32)")))
    assert hook.after_upgrade(step, later, fixed) == []  # type: ignore[arg-type]
    # equal but not identical objects: nothing changed, nothing to report
    copy = SchemaSnapshot("sqlite", (users("char(32)"), records("integer")))
    assert hook.after_upgrade(step, SchemaSnapshot("sqlite", (users("char(32)"), refs)), copy) == []  # type: ignore[arg-type]


def test_a_snapshot_refuses_two_tables_of_one_name() -> None:
    import pytest

    with pytest.raises(ValueError, match="duplicate table 'users'"):
        SchemaSnapshot("sqlite", (users("uuid"), records("uuid"), users("integer")))


def pg_and_sqlite(pg_extra: tuple[Column, ...] = ()) -> tuple[SchemaSnapshot, SchemaSnapshot]:
    role_pg = Table(
        "messages",
        (
            Column("id", "uuid", nullable=False),
            Column("role", "message_role", nullable=False),
            *pg_extra,
        ),
        primary_key=("id",),
        indexes=(
            Index("ix_role", ("role",)),
            Index("ix_gin", ("role",), method="gin"),
            Index("ix_expr", ("lower(role)",)),
        ),
    )
    role_lite = Table(
        "messages",
        (Column("id", "char(32)", nullable=False), Column("role", "varchar(9)", nullable=False)),
        primary_key=("id",),
        indexes=(Index("ix_role", ("role",)),),
    )
    pg = SchemaSnapshot("postgresql", (role_pg,), enums=(EnumType("message_role", ("user",)),))
    return SchemaSnapshot("sqlite", (role_lite,)), pg


def test_portable_schemas_do_not_diverge() -> None:
    sqlite, pg = pg_and_sqlite()
    assert divergences(sqlite, pg) == []


def test_a_postgresql_only_column_and_table_diverge() -> None:
    sqlite, pg = pg_and_sqlite((Column("nickname", "varchar(50)"),))
    pg = SchemaSnapshot(
        "postgresql", (*pg.tables, Table("audit", (Column("id", "integer"),))), enums=pg.enums
    )
    found = divergences(sqlite, pg)
    assert [d.subject for d in found] == ["table audit", "messages.nickname"]
    assert (
        found[1].sentence()
        == "messages.nickname exists on postgresql (string, NULL) but not on sqlite"
    )
    assert found[0].sentence() == "table audit exists on postgresql but not on sqlite"


def test_nullability_and_family_differences_show_both_sides() -> None:
    d = Divergence("t.c", "integer, NULL", "string, NOT NULL")
    assert d.sentence() == "t.c is integer, NULL on sqlite but string, NOT NULL on postgresql"
    a = SchemaSnapshot("sqlite", (Table("t", (Column("c", "integer"),)),))
    b = SchemaSnapshot("postgresql", (Table("t", (Column("c", "integer", nullable=False),)),))
    assert [(x.sqlite, x.postgresql) for x in divergences(a, b)] == [
        ("integer, NULL", "integer, NOT NULL")
    ]


def test_findings_point_at_the_revision_that_introduced_the_difference(tmp_path: Path) -> None:
    same_lite, same_pg = pg_and_sqlite()
    _, with_nick = pg_and_sqlite((Column("nickname", "varchar(50)"),))
    infos = {
        r: RevisionInfo(r, (), tmp_path / f"{r}.py", upgrade_line=10) for r in ("a1", "a2", "a3")
    }
    sqlite = {"a1": same_lite, "a2": same_lite, "a3": same_lite}
    pg = {"a1": same_pg, "a2": with_nick, "a3": with_nick}
    (f,) = divergence_findings(sqlite, pg, infos, root=tmp_path)
    assert (f.check, f.severity, f.revision, f.dialect, f.file, f.line) == (
        "dialect-divergence",
        "error",
        "a2",
        None,
        "a2.py",
        10,
    )
    assert "messages.nickname" in f.message and f.details["head"] == "a3"
    # walks that did not reach the same head are not compared
    assert divergence_findings({"a1": same_lite}, pg, infos) == []
