"""Bad input, tried as a new user would: each is one clear line and a documented exit code,
no traceback, no secret, no "report it" for a user's mistake, and nothing left behind (no
file, no database directory, no scratch database, no server process).

`python -m tests.integration.test_bad_inputs` prints the table (input, exit code, message).
The harness (cases, preparing a project, running one) is tests/bad_inputs.py.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest

from migration_gate.db.provision import PostgresProvider
from migration_gate.db.urls import PG_DRIVER
from tests.bad_inputs import (
    SECRET,
    Case,
    Outcome,
    both,
    ini_text,
    pyproject,
    run_case,
    write,
)
from tests.bad_inputs_release import RELEASE


def _poison(root: Path, ini: Path) -> None:
    path = root / "migrations" / "versions" / "a2.py"
    path.write_text(
        path.read_text().replace(
            "import sqlalchemy as sa\n", "import sqlalchemy as sa\nimport not_installed_pkg\n"
        )
    )


def _env_raises(root: Path, ini: Path) -> None:
    (root / "migrations" / "env.py").write_text("raise RuntimeError('DATABASE_URL is not set')\n")


def _no_revisions(root: Path, ini: Path) -> None:
    for path in (root / "migrations" / "versions").glob("*.py"):
        path.unlink()


R = ["roundtrip", "--dialect", "sqlite"]
PG = ["roundtrip", "--dialect", "postgresql"]
SETUP = [
    Case("missing ini", ["-c", "nope.ini", *R], 2, "Alembic config nope.ini not found"),
    Case(
        "ini without script_location",
        R,
        2,
        "cannot load the Alembic script directory",
        ini_text("[alembic]\n"),
    ),
    Case(
        "script_location missing",
        R,
        2,
        "Path doesn't exist",
        ini_text("[alembic]\nscript_location = nowhere\n"),
    ),
    Case("malformed pyproject", R, 2, "is not valid TOML", pyproject("[tool.migration-gate\n")),
    Case(
        "models = 5",
        R,
        2,
        "models: Input should be a valid string (found int 5)",
        pyproject("[tool.migration-gate]\nmodels = 5\n"),
    ),
    Case(
        "lock_file = [..]",
        R,
        2,
        "lock_file: Input should be a valid string",
        pyproject("[tool.migration-gate]\nlock_file = ['a']\n"),
    ),
    Case(
        "config_factory = 42",
        R,
        2,
        "config_factory: Input should be a valid string (found int 42)",
        pyproject("[tool.migration-gate]\nconfig_factory = 42\n"),
    ),
    Case(
        "unknown setting",
        R,
        2,
        "unknown key 'modles'",
        pyproject("[tool.migration-gate]\nmodles = 'a:b'\n"),
    ),
    Case(
        "config_factory module missing",
        R,
        2,
        "cannot import config_factory 'nomod:make'",
        pyproject("[tool.migration-gate]\nconfig_factory = 'nomod:make'\n"),
    ),
    Case(
        "config_factory returns no Config",
        R,
        2,
        "returned dict, not an alembic.config.Config",
        both(
            pyproject("[tool.migration-gate]\nconfig_factory = 'fac:make'\n"),
            write("fac.py", "def make(url):\n    return {}\n"),
        ),
    ),
    Case(
        "--models names a class",
        ["check-models", "--dialect", "sqlite", "--models", "mods:Thing"],
        2,
        "not a SQLAlchemy MetaData",
        write("mods.py", "class Thing:\n    pass\n"),
    ),
    Case(
        "--models unknown attribute",
        ["check-models", "--dialect", "sqlite", "--models", "mods:nothing"],
        2,
        "has no attribute 'nothing'",
        write("mods.py", "x = 1\n"),
    ),
    Case(
        "no models anywhere",
        ["check-models", "--dialect", "sqlite"],
        2,
        "env.py sets no target_metadata",
    ),
    Case(
        "--pg-url mysql", [*PG, "--pg-url", f"mysql://u:{SECRET}@h/db"], 2, "names a mysql server"
    ),
    Case("--pg-url sqlite", [*PG, "--pg-url", "sqlite:///x.db"], 2, "names a sqlite server"),
    Case(
        "--pg-url port not a number",
        [*PG, "--pg-url", f"postgresql://u:{SECRET}@h:abc/db"],
        2,
        "the port must be a number",
    ),
    Case(
        "MIGRATION_GATE_PG_URL garbage",
        PG,
        2,
        "MIGRATION_GATE_PG_URL is not a database URL",
        env={"MIGRATION_GATE_PG_URL": f"garbage {SECRET}"},
    ),
    Case(
        "server unreachable, password in URL",
        [*PG, "--pg-url", f"postgresql://u:{SECRET}@127.0.0.1:1/postgres"],
        3,
        f"cannot connect to PostgreSQL at postgresql+{PG_DRIVER}://u:***@127.0.0.1:1/postgres",
    ),
    Case(
        "server unreachable, password= parameter",
        [*PG, "--pg-url", f"postgresql://u@127.0.0.1:1/postgres?password={SECRET}"],
        3,
        "password=***",
    ),
    Case(
        "server unreachable, libpq string",
        [*PG, "--pg-url", f"host=127.0.0.1 port=1 user=u password={SECRET}"],
        3,
        "cannot connect to PostgreSQL",
    ),
    Case(
        "--pg-bin missing", [*PG, "--pg-bin", "/no/such/bin"], 3, "initdb not found in /no/such/bin"
    ),
    Case("--from unknown", [*R, "--from", "zz"], 2, "--from zz: no such revision"),
    Case("--from after --to", [*R, "--from", "a3", "--to", "a1"], 2, "a3 comes after a1"),
    Case("--to ambiguous prefix", [*R, "--to", "a"], 2, "ambiguous"),
    Case("--shard 1/99", [*R, "--shard", "1/99"], 2, "selects no revision"),
    Case("--shard garbage", [*R, "--shard", "x"], 2, "--shard must look like I/N"),
    Case("--shard 0/3", [*R, "--shard", "0/3"], 2, "I must be between 1 and N"),
    Case(
        "--output in a missing directory",
        [*R, "--format", "json", "--output", "no/dir/r.json"],
        2,
        "does not exist",
    ),
    Case("--output is a directory", [*R, "--output", "migrations"], 2, "is a directory"),
    Case("--format unknown", [*R, "--format", "yaml"], 2, "invalid choice: 'yaml'", lines=2),
    Case("unknown command", ["deplyo"], 2, "invalid choice: 'deplyo'", lines=2),
    Case(
        "lock --check without a lock file",
        ["lock", "--check"],
        2,
        "no lock file at migrations/migration-gate.lock",
    ),
    Case(
        "binary lock file",
        ["lock", "--check"],
        2,
        "lock",
        write("migrations/migration-gate.lock", b"\x00\xff\xfe\x89PNG\r\n"),
    ),
    Case(
        "lock file with conflict markers",
        ["lock", "--check"],
        2,
        "git conflict markers",
        write("migrations/migration-gate.lock", "lock-version: 1\n<<<<<<< HEAD\n"),
    ),
    Case(
        "lint --base unknown ref",
        ["lint", "--dialect", "sqlite", "--base", "no-such-ref"],
        2,
        "not inside a git repository",
    ),
    Case(
        "lint: unknown rule",
        ["lint", "--dialect", "sqlite"],
        2,
        "unknown rule 'no-such-rule'",
        pyproject("[tool.migration-gate.lint]\ndisable = ['no-such-rule']\n"),
    ),
    Case(
        "lint: bad enum_naming regex",
        ["lint", "--dialect", "sqlite"],
        2,
        "not a valid regular expression",
        pyproject("[tool.migration-gate.lint]\nenum_naming = '(['\n"),
    ),
    Case("revision imports a missing package", R, 1, "chain-load-failed", _poison),
    Case("env.py raises", R, 1, "chain-load-failed", _env_raises),
    Case(
        "setup hook raises",
        R,
        2,
        "the setup hook boom raised",
        both(
            pyproject("[tool.migration-gate]\nsetup = 'hook:boom'\n"),
            write("hook.py", "def boom(connection):\n    raise ValueError('no tenant')\n"),
        ),
    ),
    Case("chain without revisions", R, 2, "the chain has no revision to walk", _no_revisions),
]

CASES = SETUP + RELEASE


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(tmp_path: Path, case: Case, request: pytest.FixtureRequest) -> None:
    pg = request.getfixturevalue("pg_provider") if case.pg is not None else None
    outcome = run_case(case, tmp_path, pg)
    proc = outcome.proc
    out = proc.stdout + proc.stderr
    assert proc.returncode == case.code, out
    assert case.says in out, out
    assert "Traceback" not in out
    assert SECRET not in out
    if case.code == 2:
        assert "report it" not in out
        assert len(proc.stderr.strip().splitlines()) <= case.lines, proc.stderr
    assert not outcome.left, f"left behind: {outcome.left}"
    assert not outcome.new_files, f"new files in the project: {outcome.new_files}"
    assert not outcome.new_databases, f"scratch databases left: {outcome.new_databases}"


def _line(outcome: Outcome) -> str:
    proc = outcome.proc
    lines = proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or [""]
    return lines[-1] if proc.returncode != 1 else proc.stdout.strip().splitlines()[3].strip()


if __name__ == "__main__":  # the table for the issue note
    with contextlib.ExitStack() as stack:
        pg: PostgresProvider | None = None
        for case in CASES:
            if case.pg is not None and pg is None:
                url = os.environ.get("MIGRATION_GATE_PG_URL")
                pg = stack.enter_context(PostgresProvider(url))
            with tempfile.TemporaryDirectory() as d:
                outcome = run_case(case, Path(d), pg)
            line = _line(outcome).replace("|", "/")[:160]
            print(f"| {case.name} | {outcome.proc.returncode} | {line} |")
