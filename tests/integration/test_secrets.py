"""No password ever leaves: every verb, every report format, --debug, with a server URL that
holds a known password in each place a password can sit (userinfo, `?password=`, a libpq
connection string), reachable or not.

Every verb of `commands.COMMANDS` must have a run here (a new verb without one fails the
test). The reachable runs deploy into a database of their own on the shared test server (it
trusts everyone, so any password is accepted); the unreachable ones point at port 1. After
the runs, no byte of their stdout, their stderr or any file under the project (reports,
snapshots and their metadata, backups, the lock file) may hold the password.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from migration_gate.commands import COMMANDS
from migration_gate.db.provision import PostgresProvider
from tests import deploy_project as dp

pytestmark = pytest.mark.postgres

SECRET = "Xq7-s3cr3t-pw"
CHAIN = [
    (
        "a1",
        None,
        "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('email', sa.String(100)))",
        "op.drop_table('users')",
    ),
    ("a2", "a1", "op.create_index('ix_u', 'users', ['id'])", "op.execute('SELECT 1')"),
]
#: placeholders in RUNS: the server URL (its database only the admin connection), the
#: environment's database URL, and the snapshot to replay (taken without a password)
SERVER, DATABASE, BASE = "{server}", "{database}", "{base}"
FORMATS = ("json", "markdown", "junit", "annotations")
#: (argv, whether the verb writes reports with --format/--output), in the order they run
RUNS = [
    ("roundtrip --dialect postgresql --pg-url {server}", True),
    ("check-models --dialect postgresql --pg-url {server}", True),
    ("lint --dialect postgresql --pg-url {server}", True),
    ("lock --dialect postgresql --pg-url {server}", True),
    ("lock --check --schemas --dialect postgresql --pg-url {server}", True),
    ("deploy --env dev --dry-run --pg-url {server}", True),
    ("deploy --env dev --backup --pg-url {server}", True),
    ("drift --env dev --pg-url {server}", True),
    # snapshot's --output is the snapshot file: its reports go to stdout
    ("snapshot --url {database} --output url.dump", False),
    (
        "snapshot --env dev --output env.dump --sample 5 --mask users.email=email --pg-url {server}",
        False,
    ),
    ("replay {base} --pg-url {server}", True),
]
#: the runs whose chain has findings on purpose (exit 1): a downgrade that leaves its index
#: behind, models that lack the table
FINDINGS = ("roundtrip", "check-models")


def test_every_verb_has_a_run() -> None:
    covered, verbs = {run.split()[0] for run, _ in RUNS}, {c.name for c in COMMANDS}
    assert covered == verbs, f"verbs without a run in RUNS: {sorted(verbs - covered)}"


def _forms(host: str, port: int, db: str) -> dict[str, str]:
    return {
        "userinfo": f"postgresql://postgres:{SECRET}@{host}:{port}/{db}",
        "query": f"postgresql://postgres@{host}:{port}/{db}?password={SECRET}",
        "libpq": f"host={host} port={port} user=postgres password={SECRET} dbname={db}",
    }


@pytest.fixture(scope="module")
def base_snapshot(
    tmp_path_factory: pytest.TempPathFactory, pg_provider: PostgresProvider, pg_admin_url: str
) -> Iterator[Path]:
    """A snapshot of a database at a1 (taken without any password), for `replay`."""
    root = tmp_path_factory.mktemp("base")
    dp.write_project(root, CHAIN[:1])
    url = pg_provider.scratch("secrets_base")
    try:
        dp.execute(
            url,
            "CREATE TABLE users (id SERIAL PRIMARY KEY, email VARCHAR(100))",
            "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
            "INSERT INTO alembic_version VALUES ('a1')",
        )
        argv = ["snapshot", "--url", url, "--output", "base.dump", "--pg-url", pg_admin_url]
        proc = dp.cli(root, *argv)
        assert proc.returncode == 0, proc.stderr
    finally:
        pg_provider.drop(url)
    yield root / "base.dump"


def _argv(run: str, reports: bool, urls: dict[str, str], out: Path) -> list[str]:
    argv = [urls.get(arg, arg) for arg in run.split()]
    argv += [arg for fmt in FORMATS for arg in ("--format", fmt)]
    if reports:
        argv += [arg for fmt in FORMATS for arg in ("--output", str(out / f"{fmt}.report"))]
    return argv


@pytest.mark.parametrize("reachable", [True, False], ids=["reachable", "unreachable"])
@pytest.mark.parametrize("place", ["userinfo", "query", "libpq"])
def test_the_password_appears_in_no_byte_of_any_output(
    tmp_path: Path,
    pg_admin_url: str,
    pg_url: str,
    base_snapshot: Path,
    reachable: bool,
    place: str,
) -> None:
    admin, own = make_url(pg_admin_url), make_url(pg_url)
    host, port = admin.host or "127.0.0.1", (admin.port or 5432) if reachable else 1
    urls = {
        SERVER: _forms(host, port, "postgres")[place],
        DATABASE: _forms(host, port, own.database or "")[place],  # never the shared `postgres`
        BASE: str(base_snapshot),
    }
    dp.write_project(tmp_path, CHAIN)
    (tmp_path / "models.py").write_text("import sqlalchemy as sa\nmetadata = sa.MetaData()\n")
    (tmp_path / "pyproject.toml").write_text("[tool.migration-gate]\nmodels = 'models:metadata'\n")
    env = {
        **dp.clean_environ(),
        "DEV_DATABASE_URL": urls[DATABASE],
        "GITHUB_ACTIONS": "true",  # annotations on stdout too
    }
    # the error paths print tracebacks with --debug: there the password is nearest
    debug = [] if reachable else ["--debug"]
    codes = []
    for i, (run, reports) in enumerate(RUNS):  # in order: each builds on those before
        out = tmp_path / "out" / str(i)  # its reports, stdout and stderr
        out.mkdir(parents=True)
        argv = [*_argv(run, reports, urls, out), *debug]
        with (out / "stdout").open("wb") as stdout, (out / "stderr").open("wb") as stderr:
            proc = subprocess.run(
                [sys.executable, "-m", "migration_gate", "-c", "alembic.ini", *argv],
                stdout=stdout,
                stderr=stderr,
                cwd=tmp_path,
                env=env,
                timeout=300,
                check=False,
            )
        codes.append((run.split()[0], proc.returncode))
    seen = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    leaked = [p for p, blob in seen.items() if SECRET.encode() in blob]
    where = [str(p.relative_to(tmp_path)) for p in leaked]
    assert not leaked, f"{where}; {seen[leaked[0]].decode(errors='replace')[:2000]}"
    assert any(b"***" in blob for blob in seen.values())  # a URL was shown, masked
    if reachable:
        # every run did its work: exit 1 only where the findings are on purpose
        assert codes == [(verb, int(verb in FINDINGS)) for verb, _ in codes]
        written = {p.name for p in seen}
        assert {"url.dump", "env.dump.json"} <= written, written  # snapshot worked
        assert any(name.startswith("dev-") for name in written), written  # so did the backup
    else:
        assert all(code == 3 for _, code in codes), codes  # the server could not be reached
