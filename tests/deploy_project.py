"""Small deployable projects for the deploy tests: a chain, envs/dev.yaml, and ways to look
at the database afterwards (its revision, its ledger) and to run the CLI as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from migration_gate.config.settings import Settings, load_settings
from tests.chain_builder import Revision, write_chain

#: a three-revision chain: users, then a column, then messages with an enum
CHAIN: list[Revision] = [
    (
        "a1",
        None,
        "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('email', sa.String(100), nullable=False))",
        "op.drop_table('users')",
    ),
    (
        "a2",
        "a1",
        "op.add_column('users', sa.Column('name', sa.String(50)))",
        "op.drop_column('users', 'name')",
    ),
    (
        "a3",
        "a2",
        "op.create_table('messages', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('user_id', sa.Integer, sa.ForeignKey('users.id')), "
        "sa.Column('role', sa.Enum('user', 'assistant', name='message_role'), nullable=False))",
        "op.drop_table('messages')\nsa.Enum(name='message_role').drop(op.get_bind())",
    ),
]

ENV = """\
name: dev
database:
  url_env: DEV_DATABASE_URL
deploy:
  lock_timeout: {lock_timeout}
  statement_timeout: 60s
  lock_wait: {lock_wait}
  lock_retries: {lock_retries}
  retry_backoff: 200ms
  backup: {backup}
  timeout: 10min
"""


def write_project(
    root: Path,
    revisions: Sequence[Revision] = CHAIN,
    *,
    lock_timeout: str = "1s",
    lock_wait: str = "60s",
    lock_retries: int = 0,
    backup: str = "never",
) -> Path:
    """The project (alembic.ini, migrations, envs/dev.yaml); returns the ini's path."""
    ini = write_chain(root, revisions)
    (root / "envs").mkdir(exist_ok=True)
    (root / "envs" / "dev.yaml").write_text(
        ENV.format(
            lock_timeout=lock_timeout,
            lock_wait=lock_wait,
            lock_retries=lock_retries,
            backup=backup,
        )
    )
    return ini


def add_revision(root: Path, rid: str, parent: str, up: str, down: str = "pass") -> Path:
    """Write one more revision file; returns its path."""
    path = root / "migrations" / "versions" / f"{rid}.py"
    body = (
        f'"""revision {rid}"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f"revision = {rid!r}\ndown_revision = {parent!r}\n\n\n"
        f"def upgrade():\n{textwrap.indent(textwrap.dedent(up).strip(), '    ')}\n\n\n"
        f"def downgrade():\n{textwrap.indent(textwrap.dedent(down).strip(), '    ')}\n"
    )
    path.write_text(body)
    return path


def settings(ini: Path, url: str, pg_admin_url: str | None, **environ: str) -> Settings:
    return load_settings(ini, pg_url=pg_admin_url, environ={"DEV_DATABASE_URL": url, **environ})


def query(url: str, sql: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def version(url: str) -> list[str]:
    try:
        return sorted(r[0] for r in query(url, "SELECT version_num FROM alembic_version"))
    except sa.exc.DBAPIError:
        return []


def ledger(url: str) -> list[Any]:
    try:
        return query(
            url,
            "SELECT revision, status, checksum, direction, environment, error "
            "FROM migration_gate_ledger ORDER BY started_at, id",
        )
    except sa.exc.DBAPIError:
        return []


REPO = Path(__file__).resolve().parent.parent


def copy_reference(tmp: Path) -> Path:
    """A copy of the reference service (its chain, envs, lock file, app) to work in."""
    import shutil

    root = tmp / "service"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("alembic.ini", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    for name in ("migrations", "envs", "app"):
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    return root


def clean_environ() -> dict[str, str]:
    """This process's environment without what would change a deploy's output (CI's)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GITHUB_") and k not in ("MIGRATION_GATE_PG_URL", "DEV_DATABASE_URL")
    }


def cli(
    root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """`python -m migration_gate -c root/alembic.ini ARGS` as a process, in `root`."""
    environ = clean_environ()
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "migration_gate", "-c", str(root / "alembic.ini"), *args],
        capture_output=True,
        text=True,
        cwd=root,
        env=environ,
        timeout=timeout,
        check=False,
    )


def spawn(root: Path, *args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    environ = clean_environ()
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "migration_gate", "-c", str(root / "alembic.ini"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        env=environ,
    )
