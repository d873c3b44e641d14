"""For applications: is the database ready for this code, and the one safe way to migrate at
startup.

`readiness(config, url)` answers ``{revision, head, schema_hash, expected_hash, in_sync}``:
the database's Alembic revision, the chain's head, the sha256 of the live schema and of the
schema the chain produces at its head, and whether the database is at the head with that
schema. A `/health/schema` endpoint answers 503 when `in_sync` is false (the reference app
does). The expected schema comes from the lock file when it vouches for it, else it is built
once per process on a scratch database (`pg_url`, or the embedded server) and remembered:
the migrations do not change while the application runs. The chain is read once per process.

`upgrade_or_raise(config, url)` runs the same locked, pre-flighted, ledgered deploy as
`migration-gate deploy` and raises `DeployFailed` (with the report) on any failure: an
application that must migrate at startup crashes instead of serving traffic on a schema
that does not match its code (post-mortem 000). Never catch it to log and go on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config

from migration_gate.chain.graph import heads as chain_heads
from migration_gate.chain.script import Chain, load_chain
from migration_gate.config.envs import Deploy
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import urls
from migration_gate.deploy.expected import ExpectedSchemas
from migration_gate.deploy.files import FileFacts, read_files
from migration_gate.deploy.live import LiveDatabase
from migration_gate.deploy.project import Project, Providers, Target, version_table
from migration_gate.errors import ConfigError, GateError
from migration_gate.findings import Report
from migration_gate.lock.lockfile import LockFile, parse_lock

__all__ = ["DeployFailed", "readiness", "upgrade_or_raise"]


class DeployFailed(GateError):
    """The deploy did not bring the database to the head; `report` says why."""

    def __init__(self, report: Report) -> None:
        errors = report.errors()
        first = errors[0].message if errors else "the deploy failed"
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        super().__init__(urls.mask_text(first + more))
        self.report = report


def _where(config: Config) -> tuple[Path, Path | None]:
    """(project root, lock file) for a Config: from [tool.migration-gate] when the Config
    comes from an ini file, else the working directory and no lock file."""
    if config.config_file_name:
        from migration_gate.config.settings import load_settings

        try:
            settings = load_settings(config.config_file_name, require_ini=False)
        except ConfigError:
            return Path(config.config_file_name).resolve().parent, None
        return settings.root, settings.lock_file
    return Path.cwd(), None


def _lock(path: Path | None) -> LockFile | None:
    if path is None or not path.is_file():
        return None
    try:
        return parse_lock(path.read_text(encoding="utf-8"), source=path.name)
    except (GateError, UnicodeDecodeError):
        return None


@dataclass
class _Known:
    """What readiness reads once per process and config."""

    chain: Chain
    files: FileFacts
    lock: LockFile | None
    heads: tuple[str, ...]
    #: dialect -> "sha256:..." of the expected head schema built on a scratch database
    built: dict[str, str]


_KNOWN: dict[tuple[str, str], _Known] = {}
_GUARD = threading.Lock()


def _known(config: Config) -> _Known:
    script = config.get_main_option("script_location") or ""
    key = (str(config.config_file_name), script)
    with _GUARD:
        if key not in _KNOWN:
            root, lock_file = _where(config)
            chain = load_chain(config, root=root)
            if chain.blocked:
                problems = "; ".join(f.message for f in chain.problems if f.is_error)
                raise ConfigError(f"the migration chain cannot be loaded: {problems}")
            _KNOWN[key] = _Known(
                chain,
                read_files(chain),
                _lock(lock_file),
                tuple(sorted(chain_heads(list(chain.revisions)))),
                {},
            )
        return _KNOWN[key]


def _joined(revs: tuple[str, ...]) -> str | None:
    return ",".join(revs) if revs else None


def readiness(
    config: Config, url: str, *, pg_url: str | None = None, setup: Setup | None = None
) -> dict[str, Any]:
    """``{revision, head, schema_hash, expected_hash, in_sync}`` of the database at `url`.
    `pg_url` names the server for a scratch database, when the lock file cannot vouch for
    the expected schema (default: the embedded one); `setup` runs on that database first."""
    known = _known(config)
    source = ConfigSource(config)
    dialect = urls.dialect_of(url)
    with LiveDatabase(url, version_table=version_table(source), environment="database") as live:
        state = live.read()
    live_hash = f"sha256:{state.schema.sha256()}"
    providers = Providers(pg_url=pg_url)
    expected = ExpectedSchemas(
        source,
        known.chain,
        known.files,
        known.lock,
        dialect=dialect,
        provider=lambda: providers(dialect),
        setup=setup,
    )
    at_head = set(state.heads) == set(known.heads)
    try:
        expected_hash = expected.lock_hash(known.heads)
        # the lock's hash settles it when it matches; a mismatch at the head may be two
        # server versions rendering one schema differently: build it to know
        if expected_hash is None or (at_head and expected_hash != live_hash):
            if dialect not in known.built:
                known.built[dialect] = f"sha256:{expected.build(known.heads).sha256()}"
            expected_hash = known.built[dialect]
    finally:
        expected.close()
        providers.close()
    return {
        "revision": _joined(state.heads),
        "head": _joined(known.heads),
        "schema_hash": live_hash,
        "expected_hash": expected_hash,
        "in_sync": at_head and live_hash == expected_hash,
    }


def upgrade_or_raise(
    config: Config,
    url: str,
    *,
    environment: str = "database",
    deploy: Deploy | None = None,
    pg_url: str | None = None,
    pg_bin: Path | None = None,
    environ: Mapping[str, str] | None = None,
    setup: Setup | None = None,
) -> Report:
    """Deploy the pending revisions to `url` as `migration-gate deploy` does (lock,
    pre-flight, one transaction and ledger row per revision, post-check); raise
    `DeployFailed` on any failure. Returns the report when the database is at the head."""
    from migration_gate.deploy.run import run_deploy

    root, lock_file = _where(config)
    urls.remember_secrets(url)
    providers = Providers(pg_url=pg_url, pg_bin=pg_bin)
    try:
        project = Project(
            source=ConfigSource(config),
            chain=load_chain(config, root=root),
            root=root,
            lock_file=lock_file,
            scratch=providers,
            environ=dict(os.environ if environ is None else environ),
            pg_bin=pg_bin,
            setup=setup,
        )
        report = run_deploy(project, Target(environment, url, deploy or Deploy()))
    finally:
        providers.close()
    if not report.ok:
        raise DeployFailed(report)
    return report
