"""The harness of tests/integration/test_bad_inputs.py: a bad input (`Case`), what prepares
its project, and running it as a real CLI process while watching what it leaves behind
(files and directories in the project, mg* in its TMPDIR, scratch databases on the server).

A case that needs a PostgreSQL database (`pg`: the SQL that fills it) gets a fresh one on
the suite's server; `{db}` in its argv and env is that database's URL, and the process works
on the same server (MIGRATION_GATE_PG_URL), so a scratch database it forgets is seen.
"""

from __future__ import annotations

import glob
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from migration_gate.db.provision import PostgresProvider
from tests.chain_builder import Revision, write_chain

SECRET = "Zr9-pa55w0rd"
CHAIN: list[Revision] = [
    (
        "a1",
        None,
        "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True))",
        "op.drop_table('users')",
    ),
    ("a2", "a1", "op.create_index('ix_u', 'users', ['id'])", "op.drop_index('ix_u', 'users')"),
    ("a3", "a2", "pass", "pass"),
]

#: prepares the project (its root, its ini's path)
Prepare = Callable[[Path, Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    code: int
    says: str
    prepare: Prepare | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: stderr lines allowed (argparse prints its usage line before the error)
    lines: int = 1
    #: SQL of a PostgreSQL database made for the case ({db} in argv and env: its URL)
    pg: str | None = None


@dataclass(frozen=True)
class Outcome:
    proc: subprocess.CompletedProcess[str]
    #: mg* left in the process's TMPDIR
    left: set[str]
    #: files and directories that were not in the project before
    new_files: set[str]
    #: scratch databases (mg_*) that were not on the server before
    new_databases: set[str]


def pyproject(body: str) -> Prepare:
    return write("pyproject.toml", body)


def write(name: str, content: str | bytes) -> Prepare:
    def prepare(root: Path, ini: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return prepare


def ini_text(text: str) -> Prepare:
    def prepare(root: Path, ini: Path) -> None:
        ini.write_text(text)

    return prepare


def sqlite_file(name: str, sql: str) -> Prepare:
    """A SQLite database file in the project, made by `sql`."""

    def prepare(root: Path, ini: Path) -> None:
        conn = sqlite3.connect(root / name)
        try:
            conn.executescript(sql)
        finally:
            conn.close()

    return prepare


def both(*prepares: Prepare) -> Prepare:
    def prepare(root: Path, ini: Path) -> None:
        for p in prepares:
            p(root, ini)

    return prepare


def _tree(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if "__pycache__" not in p.relative_to(root).parts
    }


def _databases(pg: PostgresProvider | None) -> set[str]:
    if pg is None:
        return set()
    engine = sa.create_engine(pg.admin_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT datname FROM pg_database WHERE datname LIKE 'mg%%'")
            return {str(r[0]) for r in rows}
    finally:
        engine.dispose()


def _source(pg: PostgresProvider, sql: str) -> str:
    url = pg.scratch("badinput")
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()
    return url


def run_case(case: Case, root: Path, pg: PostgresProvider | None = None) -> Outcome:
    """Prepare the project in `root` and run the case as `python -m migration_gate`."""
    ini = write_chain(root, CHAIN)
    if case.prepare is not None:
        case.prepare(root, ini)
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "MIGRATION_GATE_PG_URL" and not k.endswith("_DATABASE_URL")
    }
    source = None
    if case.pg is not None:
        assert pg is not None, f"{case.name} needs PostgreSQL"
        source = _source(pg, case.pg)
        env["MIGRATION_GATE_PG_URL"] = pg.admin_url.render_as_string(hide_password=False)

    def fill(text: str) -> str:
        return text.replace("{db}", source) if source is not None else text

    tmp = tempfile.mkdtemp(prefix="mgbad-")
    os.chmod(tmp, 0o755)
    env.update({"TMPDIR": tmp, **{k: fill(v) for k, v in case.env.items()}})
    argv = [fill(a) for a in case.argv]
    argv = argv if argv[:1] == ["-c"] else ["-c", str(ini), *argv]
    before, databases = _tree(root), _databases(pg)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "migration_gate", *argv],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=300,
            check=False,
        )
        left = set(glob.glob(os.path.join(tmp, "mg*")))
        os.rmdir(tmp) if not os.listdir(tmp) else None
        new_databases = _databases(pg) - databases
    finally:
        if source is not None and pg is not None:
            pg.drop(source)
    return Outcome(proc, left, _tree(root) - before, new_databases)
