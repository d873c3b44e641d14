"""Applications that do not look like the Alembic template: an async env.py, a Config built
in code (config_factory), and models compared with check-models."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

import migration_gate
from migration_gate.cli import main
from tests.chain_builder import config_for, write_chain

USERS = (
    "a1",
    None,
    "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('email', sa.String(100), nullable=False))",
    "op.drop_table('users')",
)
LEAVES = ("a2", "a1", "op.create_index('ix_email', 'users', ['email'])", "op.execute('SELECT 1')")

ASYNC_ENV = """
import asyncio
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def do_run(connection):
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def main():
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
            await conn.commit()
    finally:
        await engine.dispose()


asyncio.run(main())
"""


def test_async_env_py_on_aiosqlite(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS, LEAVES], env=ASYNC_ENV)
    url = f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
    report = migration_gate.roundtrip(config_for(ini), url)
    assert [(f.check, f.revision) for f in report.findings][:1] == [
        ("downgrade-leaves-trace", "a2")
    ]


def test_config_factory_builds_the_config_in_code(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    write_chain(project, [USERS, LEAVES])
    (project / "ini_less.py").write_text(
        textwrap.dedent(f"""
        from alembic.config import Config

        def make(url):
            cfg = Config()
            cfg.set_main_option("script_location", {str(project / "migrations")!r})
            if url:
                cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
            return cfg
    """)
    )
    (project / "pyproject.toml").write_text(
        '[tool.migration-gate]\nconfig_factory = "ini_less:make"\n'
    )
    out = tmp_path / "r.json"
    code = main(
        [
            "-c",
            str(project / "alembic.ini"),
            "roundtrip",
            "--dialect",
            "sqlite",
            "--format",
            "json",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    assert code == 1
    assert '"downgrade-leaves-trace"' in out.read_text()


MODELS = sa.MetaData()
sa.Table(
    "users",
    MODELS,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(100), nullable=False),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return value


def test_check_models_is_quiet_when_models_match(tmp_path: Path, url: str) -> None:
    ini = write_chain(tmp_path, [USERS])
    report = migration_gate.check_models(config_for(ini), url, metadata=MODELS)
    assert report.findings == []


def test_check_models_reports_models_ahead_of_the_chain(tmp_path: Path, url: str) -> None:
    ahead = sa.MetaData()
    sa.Table(
        "users",
        ahead,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(100), nullable=False),
        sa.Column("name", sa.String(50)),
    )
    sa.Table("profiles", ahead, sa.Column("id", sa.Integer, primary_key=True))
    ini = write_chain(tmp_path, [USERS])
    report = migration_gate.check_models(config_for(ini), url, metadata=ahead)
    messages = " | ".join(f.message for f in report.findings)
    assert {f.check for f in report.findings} == {"model-drift"}
    assert "table profiles" in messages and "users.name" in messages
    assert "in the models but no migration creates it" in messages


def test_check_models_without_any_metadata_is_a_config_error(
    tmp_path: Path, sqlite_url: str
) -> None:
    ini = write_chain(tmp_path, [USERS])
    with pytest.raises(migration_gate.ConfigError, match="target_metadata"):
        migration_gate.check_models(config_for(ini), sqlite_url)
