"""Alembic's own project templates work out of the box, on both dialects.

Each project is generated in the test by `alembic init` (generic, async, pyproject), with one
revision of ours; the gate must walk it without any change to the generated env.py. The
async template runs its migrations on an async engine: the gate hands it an async driver
URL (aiosqlite, psycopg's async mode; asyncpg on SQLAlchemy 1.4). A `config_factory` that
sets the URL the usual way (`config.set_main_option("sqlalchemy.url", url)`) works too.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from migration_gate.cli import main
from migration_gate.db.urls import PG_ASYNC_DRIVER, PG_DRIVER

REVISION = '''\
"""users"""
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))
    op.create_index("ix_users_id", "users", ["id"])


def downgrade():
    op.drop_index("ix_users_id", "users")
    op.drop_table("users")
'''


def _init(root: Path, template: str) -> Path:
    ini = root / "alembic.ini"
    if template == "pyproject":
        cfg = Config(str(ini), toml_file=str(root / "pyproject.toml"))
    else:
        cfg = Config(str(ini))
    command.init(cfg, str(root / "migrations"), template=template)
    (root / "migrations" / "versions" / "a1_users.py").write_text(REVISION)
    return ini


@pytest.mark.parametrize("template", ["generic", "async", "pyproject"])
@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_stock_alembic_project_walks_clean(
    tmp_path: Path,
    template: str,
    dialect: str,
    pg_admin_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the pyproject template's paths are relative to it
    ini = _init(tmp_path, template)
    argv = ["-c", str(ini), "roundtrip", "--dialect", dialect]
    if dialect == "postgresql":
        argv += ["--pg-url", pg_admin_url]
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "roundtrip: passed" in out.out


@pytest.mark.postgres
def test_a_config_factory_that_sets_the_url_the_usual_way(
    tmp_path: Path, pg_admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _init(tmp_path, "async")
    (tmp_path / "factory.py").write_text(
        textwrap.dedent(
            f"""
            from alembic.config import Config

            def make(url):
                config = Config({str(ini)!r})
                if url is not None:
                    # the async driver is the factory's to choose: its env.py is async
                    url = url.replace("postgresql+{PG_DRIVER}://", "postgresql+{PG_ASYNC_DRIVER}://")
                    config.set_main_option("sqlalchemy.url", url)
                return config
            """
        )
    )
    (tmp_path / "pyproject.toml").write_text(
        "[tool.migration-gate]\nconfig_factory = 'factory:make'\n"
    )
    code = main(["-c", str(ini), "roundtrip", "--dialect", "postgresql", "--pg-url", pg_admin_url])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
