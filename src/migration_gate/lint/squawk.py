"""Run Squawk on the rendered SQL of several revisions at once: the edge to the `squawk` binary.

One process lints every revision: each revision's script is written to its own file in a
temporary directory, Squawk reports JSON, and the violations come back keyed by revision.
The scripts are linted with ``--assume-in-transaction`` (Alembic runs each revision in a
transaction on PostgreSQL) and ``--pg-version`` of the server the SQL was captured on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from migration_gate.errors import ConfigError, InfrastructureError
from migration_gate.lint.context import SquawkViolation

__all__ = ["find_squawk", "run_squawk"]


def find_squawk(configured: str | None = None) -> str | None:
    """The squawk binary: the configured path, the one beside this Python, or on PATH."""
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ConfigError(
                f"squawk not found at {configured!r}",
                hint="fix squawk in [tool.migration-gate.lint]",
            )
        return found
    for name in ("squawk", "squawk.exe"):
        beside = Path(sys.executable).parent / name
        if beside.is_file():
            return str(beside)
    return shutil.which("squawk")


def run_squawk(
    binary: str,
    scripts: Mapping[str, str],
    *,
    pg_version: str | None = None,
    include: Iterable[str] = (),
) -> dict[str, list[SquawkViolation]]:
    """Violations per key of `scripts` (revision → SQL text). Empty scripts are skipped."""
    out: dict[str, list[SquawkViolation]] = {key: [] for key in scripts}
    with tempfile.TemporaryDirectory(prefix="mgsquawk-") as tmp:
        files: dict[str, str] = {}
        for i, (key, sql) in enumerate(scripts.items()):
            if sql.strip():
                name = f"r{i:04d}.sql"
                (Path(tmp) / name).write_text(sql, encoding="utf-8")
                files[name] = key
        if not files:
            return out
        cmd = [
            binary,
            "--reporter",
            "json",
            "--assume-in-transaction",
            *(f"--include={rule}" for rule in include),
        ]
        if pg_version:
            cmd.append(f"--pg-version={pg_version}")
        try:
            proc = subprocess.run(
                [*cmd, *sorted(files)],
                cwd=tmp,
                capture_output=True,
                text=True,
                encoding="utf-8",
                check=False,
            )
        except OSError as exc:
            raise InfrastructureError(f"cannot run squawk ({binary}): {exc}") from None
        try:
            reported = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError:
            reported = None
        if proc.returncode not in (0, 1) or not isinstance(reported, list):
            raise InfrastructureError(
                f"squawk failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[:500]}",
                hint="check the squawk-cli installation (pip install 'migration-gate[lint]')",
            )
    for item in reported:
        rev = files.get(Path(str(item.get("file", ""))).name)
        if rev is None:
            continue
        out[rev].append(
            SquawkViolation(
                rule=str(item.get("rule_name", "unknown")),
                message=str(item.get("message", "")),
                line=int(item.get("line", 0)),
                column=int(item.get("column", 0)),
                help=item.get("help") or None,
                level=str(item.get("level", "Warning")),
            )
        )
    return out
