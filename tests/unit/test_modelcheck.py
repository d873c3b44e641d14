"""check-models' pure parts: what is compared (`compare`) and where findings point (`locate`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.modelcheck.compare import compare
from migration_gate.modelcheck.locate import Location, MigrationLines, ModelLines, subject
from migration_gate.snapshot.model import (
    Column,
    EnumType,
    Function,
    SchemaSnapshot,
    Table,
    Trigger,
    View,
)

TASKS = Table("tasks", (Column("id", "integer", nullable=False),), primary_key=("id",))


def _snap(**kw: object) -> SchemaSnapshot:
    return SchemaSnapshot(dialect="postgresql", tables=(TASKS,), **kw)  # type: ignore[arg-type]


def test_objects_only_the_chain_has_are_info_and_not_compared() -> None:
    chain = _snap(
        views=(View("v", "select 1"),),
        functions=(Function("f()", "trigger", "plpgsql", "BEGIN END"),),
        triggers=(Trigger("trg", "tasks", "before update"),),
        enums=(EnumType("mood", ("ok",)),),
        extensions=("citext",),
    )
    drifts = compare(chain, _snap())
    assert {(d.change.path, d.severity, d.side) for d in drifts} == {
        (("views", "v"), "info", "chain"),
        (("functions", "f()"), "info", "chain"),
        (("triggers", "tasks.trg"), "info", "chain"),
        (("enums", "mood"), "info", "chain"),
        (("extensions", "citext"), "info", "chain"),
    }
    view = next(d for d in drifts if d.change.path == ("views", "v"))
    assert view.change.sentence(removed="is created by the migrations") == (
        "view v is created by the migrations"
    )


def test_objects_the_models_declare_are_compared() -> None:
    chain = _snap(views=(View("v", "select 1"),))
    assert [
        (d.severity, d.side) for d in compare(chain, _snap(views=(View("v", "select 2"),)))
    ] == [("error", "both")]
    assert [(d.severity, d.side) for d in compare(_snap(), chain)] == [("error", "models")]
    assert compare(chain, chain) == []


def test_tables_and_columns_only_the_chain_has_are_drift() -> None:
    wider = Table("tasks", (*TASKS.columns, Column("title", "text")), primary_key=("id",))
    (drift,) = compare(SchemaSnapshot("postgresql", (wider,)), _snap())
    assert (drift.severity, drift.side) == ("error", "chain")
    assert drift.change.path == ("tables", "tasks", "columns", "title")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("tables", "users"), ("table", "users", None)),
        (("tables", "users", "columns", "email", "type"), ("column", "users", "email")),
        (("tables", "users", "indexes", "ix_users_email"), ("indexes", "users", "ix_users_email")),
        (("tables", "users", "unique_constraints", "unique(email)"), ("table", "users", None)),
        (("tables", "users", "comment"), ("table", "users", None)),
        (("views", "v"), ("views", None, "v")),
        (("functions", "touch(integer)"), ("functions", None, "touch")),
        (("triggers", "s.users.trg"), ("trigger", "s.users", "trg")),
    ],
)
def test_subject_of_a_change_path(
    path: tuple[str, ...], expected: tuple[str, str | None, str | None]
) -> None:
    assert subject(path) == expected


def _at(location: Location | None) -> tuple[str | None, int]:
    assert location is not None
    return location.revision, location.line


def _load(path: Path, name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


CLASSIC = """
import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"

    id = sa.Column(sa.Integer, primary_key=True)
    email_address = sa.Column("email", sa.String(200))
    name = sa.Column(sa.Text)


audit = sa.Table(
    "audit",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("what", sa.Text),
)
"""

ANNOTATED = """
import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_address: Mapped[str] = mapped_column("email", sa.String(200))
    name: Mapped[str]


audit = sa.Table(
    "audit",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("what", sa.Text),
)
"""


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(CLASSIC, id="classic"),
        pytest.param(
            ANNOTATED,
            id="annotated",
            marks=pytest.mark.skipif(
                not hasattr(sa.orm, "DeclarativeBase"), reason="SQLAlchemy 2 declarative"
            ),
        ),
    ],
)
def test_model_lines_of_declarative_classes_and_core_tables(tmp_path: Path, source: str) -> None:
    path = tmp_path / "mg_test_models_mod.py"
    path.write_text(source, encoding="utf-8")
    try:
        module = _load(path, "mg_test_models_mod")
        lines = ModelLines(module.Base.metadata)
        text = source.splitlines()

        def line(needle: str) -> int:
            return next(i for i, t in enumerate(text, 1) if needle in t)

        assert lines.files == [path.resolve()]
        assert _at(lines.table("users")) == (None, line("class User(Base)"))
        assert _at(lines.column("users", "email")) == (None, line("email_address"))
        assert _at(lines.column("users", "name")) == (None, line("    name"))
        assert _at(lines.column("audit", "what")) == (None, line('sa.Column("what"'))
        assert _at(lines.column("audit", "gone")) == (None, line('"audit",') - 1)
        assert lines.table("nowhere") is None
        assert ModelLines(sa.MetaData()).table("users") is None
    finally:
        sys.modules.pop("mg_test_models_mod", None)


def test_migration_lines_find_the_first_revision_that_names_an_object(tmp_path: Path) -> None:
    a1 = tmp_path / "a1.py"
    a1.write_text(
        'def upgrade():\n    op.create_table("users", sa.Column("email"))\n\n'
        'def downgrade():\n    op.drop_table("audit")\n',
        encoding="utf-8",
    )
    a2 = tmp_path / "a2.py"
    a2.write_text(
        'def upgrade():\n    op.add_column("audit", sa.Column("email"))\n'
        '    op.execute("""\n        CREATE VIEW v_users AS\n        SELECT email FROM users""")\n',
        encoding="utf-8",
    )
    revs = [RevisionInfo("a1", (), a1), RevisionInfo("a2", ("a1",), a2)]
    lines = MigrationLines(revs, ["a1", "a2"])
    assert lines.find("users") == lines.find("USERS")
    assert _at(lines.find("users")) == ("a1", 2)
    assert _at(lines.find("email", within="audit")) == ("a2", 2)
    assert _at(lines.find("v_users")) == ("a2", 4)
    assert _at(lines.find("audit")) == ("a2", 2)  # a1 only drops it, in downgrade()
    assert lines.find("nothing") is None
