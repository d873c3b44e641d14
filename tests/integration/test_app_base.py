"""Start where the application starts (issue 13): a base made by `metadata.create_all()`
before the first migration (the setup hook), revision files that load only inside the
application's context (`invoke`), and the tool's own connection meeting DDL that changes a
table it has read many times."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

import migration_gate
from migration_gate.cli import main
from tests.chain_builder import config_for, write_chain

#: the application's own tables, created by create_all before any migration runs
APP = sa.MetaData()
sa.Table("tenants", APP, sa.Column("id", sa.Integer, primary_key=True))

ON_TENANTS = [
    (
        "a1",
        None,
        "op.add_column('tenants', sa.Column('name', sa.String(40)))",
        "op.drop_column('tenants', 'name')",
    ),
    (
        "a2",
        "a1",
        "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('tenant_id', sa.Integer, sa.ForeignKey('tenants.id')))",
        "op.drop_table('users')",
    ),
]


def create_app_tables(connection: Connection) -> None:
    APP.create_all(connection)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_url")
    return value


def test_a_chain_based_on_create_all_runs_with_the_setup_hook(tmp_path: Path, url: str) -> None:
    ini = write_chain(tmp_path, ON_TENANTS)
    calls: list[str] = []

    def setup(connection: Connection) -> None:
        calls.append(connection.dialect.name)
        create_app_tables(connection)

    report = migration_gate.roundtrip(config_for(ini), url, setup=setup)
    assert report.ok, report.findings
    assert report.findings == []  # a1's downgrade back to "base" = after setup: no trace
    assert len(calls) >= 1


def test_without_the_setup_hook_the_same_chain_fails(tmp_path: Path, url: str) -> None:
    ini = write_chain(tmp_path, ON_TENANTS)
    report = migration_gate.roundtrip(config_for(ini), url)
    assert [f.check for f in report.errors()][:1] == ["upgrade-failed"]


def test_the_setup_hook_from_the_project_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_chain(tmp_path, ON_TENANTS)
    (tmp_path / "appsetup.py").write_text(
        textwrap.dedent(
            """
            import sqlalchemy as sa

            META = sa.MetaData()
            sa.Table("tenants", META, sa.Column("id", sa.Integer, primary_key=True))

            def create(connection):
                META.create_all(connection)
            """
        )
    )
    (tmp_path / "pyproject.toml").write_text("[tool.migration-gate]\nsetup = 'appsetup:create'\n")
    for command in ("roundtrip", "lint", "lock"):
        code = main(["-c", str(ini), command, "--dialect", "sqlite"])
        out = capsys.readouterr()
        assert code == 0, (command, out.out, out.err)


def test_a_setup_hook_that_raises_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_chain(tmp_path, ON_TENANTS)
    (tmp_path / "badsetup.py").write_text("def create(connection):\n    raise KeyError('TENANT')\n")
    (tmp_path / "pyproject.toml").write_text("[tool.migration-gate]\nsetup = 'badsetup:create'\n")
    assert main(["-c", str(ini), "roundtrip", "--dialect", "sqlite"]) == 2
    err = capsys.readouterr().err
    assert "the setup hook create raised on a fresh database: KeyError" in err


# -- revision files that load only inside the application's context ------------------------

APP_CONTEXT = """
import contextlib, threading

_local = threading.local()


class _Current:
    def __getattr__(self, name):
        app = getattr(_local, "app", None)
        if app is None:
            raise RuntimeError("Working outside of application context.")
        return getattr(app, name)


current_app = _Current()


@contextlib.contextmanager
def app_context(app):
    _local.app = app
    try:
        yield
    finally:
        _local.app = None
"""


def test_a_chain_that_loads_only_inside_the_app_context(tmp_path: Path, url: str) -> None:
    (tmp_path / "fakeflask.py").write_text(APP_CONTEXT)
    extra = "from fakeflask import current_app\nTABLE = current_app.config['USERS_TABLE']"
    revs = [
        (
            "a1",
            None,
            "op.create_table(TABLE, sa.Column('id', sa.Integer, primary_key=True))",
            "op.drop_table(TABLE)",
        )
    ]
    ini = write_chain(tmp_path, revs, extra=extra)
    sys.path.insert(0, str(tmp_path))
    try:
        import fakeflask

        class App:
            config: ClassVar[dict[str, str]] = {"USERS_TABLE": "people"}

        def invoke(fn: Callable[[], Any]) -> Any:
            with fakeflask.app_context(App()):
                return fn()

        outside = migration_gate.roundtrip(config_for(ini), url)
        assert [f.check for f in outside.errors()] == ["chain-load-failed"]
        assert "Working outside of application context" in outside.errors()[0].message
        inside = migration_gate.roundtrip(config_for(ini), url, invoke=invoke)
        assert inside.ok, inside.findings
        assert list(inside.checked.values()) == [["a1"]]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fakeflask", None)


@pytest.mark.postgres
def test_the_tools_connection_survives_ddl_under_a_statement_it_ran_often(
    tmp_path: Path, pg_url: str
) -> None:
    """psycopg prepares a statement run five times, and forgets its prepared statements when
    the connection runs an ALTER or DROP, but not when a DO block (or a function) does: the
    probe's read of a table it read often must not then meet "cached plan must not change
    result type"."""
    revs = [
        (
            "a1",
            None,
            "op.create_table('t', sa.Column('id', sa.Integer, primary_key=True), "
            "sa.Column('v', sa.Integer))",
            "op.drop_table('t')",
        )
    ]
    for i in range(2, 10):  # rows of t may change in each: the probe reads t again each time
        revs.append(
            (f"a{i}", f"a{i - 1}", "op.execute('UPDATE t SET v = v')", "op.execute('SELECT 1')")
        )
    revs.append(
        (
            "a10",
            "a9",
            "op.execute('DO $$ BEGIN ALTER TABLE t ALTER COLUMN v TYPE bigint; END $$')",
            "op.alter_column('t', 'v', type_=sa.Integer)",
        )
    )
    ini = write_chain(tmp_path, revs)
    report = migration_gate.roundtrip(config_for(ini), pg_url)
    assert report.ok, [f.message for f in report.findings]
    assert "cached plan" not in str([f.message for f in report.findings])
