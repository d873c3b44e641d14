"""No password ever leaves: every command, every report format, --debug, with a server URL
that holds a known password in each place a password can sit (userinfo, `?password=`, a
libpq connection string), reachable or not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.chain_builder import write_chain

SECRET = "Xq7-s3cr3t-pw"
CHAIN = [
    (
        "a1",
        None,
        "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True))",
        "op.drop_table('users')",
    ),
    ("a2", "a1", "op.create_index('ix_u', 'users', ['id'])", "op.execute('SELECT 1')"),
]
COMMANDS = [
    ["roundtrip"],
    ["check-models"],
    ["lint"],
    ["lock"],
    ["lock", "--check", "--schemas"],
]


def _forms(host: str, port: int) -> dict[str, str]:
    return {
        "userinfo": f"postgresql://postgres:{SECRET}@{host}:{port}/postgres",
        "query": f"postgresql://postgres@{host}:{port}/postgres?password={SECRET}",
        "libpq": f"host={host} port={port} user=postgres password={SECRET} dbname=postgres",
    }


@pytest.mark.postgres
@pytest.mark.parametrize("reachable", [True, False], ids=["reachable", "unreachable"])
@pytest.mark.parametrize("place", ["userinfo", "query", "libpq"])
def test_the_password_appears_in_no_byte_of_any_output(
    tmp_path: Path, pg_admin_url: str, reachable: bool, place: str
) -> None:
    admin = make_url(pg_admin_url)
    port = (admin.port or 5432) if reachable else 1
    url = _forms(admin.host or "127.0.0.1", port)[place]
    ini = write_chain(tmp_path, CHAIN)
    models = tmp_path / "models.py"
    models.write_text("import sqlalchemy as sa\nmetadata = sa.MetaData()\n")
    (tmp_path / "pyproject.toml").write_text("[tool.migration-gate]\nmodels = 'models:metadata'\n")
    seen: list[bytes] = []
    codes = []
    for i, command in enumerate(COMMANDS):
        # the error paths print tracebacks with --debug: there the password is nearest
        for debug in [["--debug"]] if not reachable else [[]]:
            reports = [tmp_path / f"r{i}{len(debug)}.{ext}" for ext in ("json", "md", "xml", "txt")]
            argv = [
                *command,
                "--dialect",
                "postgresql",
                "--pg-url",
                url,
                *debug,
                *(
                    [
                        "--format",
                        "json",
                        "--format",
                        "markdown",
                        "--format",
                        "junit",
                        "--format",
                        "annotations",
                    ]
                ),
                *(arg for r in reports for arg in ("--output", str(r))),
            ]
            env = {**os.environ, "GITHUB_ACTIONS": "true"}  # annotations on stdout too
            proc = subprocess.run(
                [sys.executable, "-m", "migration_gate", "-c", str(ini), *argv],
                capture_output=True,
                cwd=tmp_path,
                env=env,
                timeout=300,
                check=False,
            )
            codes.append(proc.returncode)
            seen += [proc.stdout, proc.stderr, *(r.read_bytes() for r in reports if r.exists())]
    leaked = [blob for blob in seen if SECRET.encode() in blob]
    assert not leaked, leaked[0].decode(errors="replace")[:2000]
    if reachable:
        assert set(codes) <= {0, 1}, codes  # the commands ran
    else:
        assert set(codes) == {3}, codes  # the server could not be reached
    assert any(b"***" in blob for blob in seen) or reachable
