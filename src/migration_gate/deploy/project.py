"""What a deploy works with: the project (chain, Config, lock file, scratch databases) and
the target (an environment's name, database URL and deploy settings).

`project_for(settings)` builds the `Project` of the CLI from the `Settings` read at the edge;
its scratch-database providers (the embedded server, `--pg-url`, `--pg-bin`) are made only
when a step needs one (most deploys need none: the lock file vouches for the schemas) and
closed on exit. The Python API (`readiness`, `upgrade_or_raise`) builds its own from an
Alembic Config.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migration_gate.chain.script import Chain, load_chain
from migration_gate.config.envs import Deploy
from migration_gate.config.settings import Settings, Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import urls
from migration_gate.db.provision import Provider, provider_for
from migration_gate.errors import ConfigError

__all__ = ["Project", "Providers", "Target", "project_for", "target_url", "version_table"]


@dataclass(frozen=True)
class Target:
    """Where to deploy: an environment's name, its database and its deploy settings."""

    environment: str
    url: str
    deploy: Deploy = field(default_factory=Deploy)


@dataclass(frozen=True)
class Project:
    """What to deploy: the chain and where its Alembic Config, lock file and scratch
    databases come from."""

    source: ConfigSource
    chain: Chain
    root: Path
    lock_file: Path | None
    #: dialect -> a provider of scratch databases (made on first use; the caller closes it)
    scratch: Callable[[str], Provider]
    environ: Mapping[str, str] = field(default_factory=dict)
    #: `--pg-bin`: pg_dump is taken from there first (then the embedded server's, then PATH)
    pg_bin: Path | None = None
    #: the Alembic ini as a user would name it (in the `alembic stamp` hint)
    ini: str = "alembic.ini"
    #: `[tool.migration-gate] setup`: run on each scratch database before the chain (never on
    #: the environment's database, which is not fresh)
    setup: Setup | None = None


def version_table(source: ConfigSource) -> str:
    """The name of Alembic's version table (as the step runner reads it)."""
    return str(source.base().attributes.get("version_table", "alembic_version"))


class Providers:
    """Scratch-database providers by dialect, made on first use, all closed by `close`."""

    def __init__(self, *, pg_url: str | None = None, pg_bin: Path | None = None) -> None:
        self.pg_url = pg_url
        self.pg_bin = pg_bin
        self._made: dict[str, Provider] = {}

    def __call__(self, dialect: str) -> Provider:
        if dialect not in self._made:
            self._made[dialect] = provider_for(dialect, pg_url=self.pg_url, pg_bin=self.pg_bin)
        return self._made[dialect]

    def close(self) -> None:
        made, self._made = self._made, {}
        for provider in made.values():
            provider.close()


def target_url(url: str, environment: str, url_env: str, *, must_exist: bool = False) -> str:
    """The environment's database URL, checked: a URL of a dialect the deploy knows; a SQLite
    file in a directory that exists (and, `must_exist`, the file itself: drift reads a
    database, it never creates one)."""
    u = urls.parse(url)
    database = u.database or ""
    if (
        u.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and "uri" not in u.query
    ):
        path = Path(database)
        if not path.parent.is_dir():
            raise ConfigError(
                f"{environment}: ${url_env} names {path}, but the directory {path.parent} "
                "does not exist",
                hint=f"fix the path in {url_env}, or create the directory",
            )
        if must_exist and not path.is_file():
            raise ConfigError(
                f"{environment}: no SQLite database at {path} (${url_env}); drift reads a "
                "database, it never creates one",
                hint=f"fix the path in {url_env}, or deploy to it first",
            )
    if u.get_backend_name() not in ("postgresql", "sqlite"):
        raise ConfigError(
            f"{environment}: ${url_env} names a {u.get_backend_name()} database "
            f"({urls.mask(u)}); deploy works on PostgreSQL and SQLite",
            hint=f"set {url_env} to postgresql://user:password@host:5432/db",
        )
    return url


@contextlib.contextmanager
def project_for(settings: Settings) -> Iterator[Project]:
    """The project the settings describe; its scratch servers are gone on exit."""
    source = settings.config_source()
    chain = load_chain(source.base(), root=settings.root)
    providers = Providers(pg_url=settings.pg_url, pg_bin=settings.pg_bin)
    try:
        ini = settings.alembic_ini
        try:
            shown = ini.relative_to(settings.root).as_posix()
        except ValueError:
            shown = str(ini)
        yield Project(
            source=source,
            chain=chain,
            root=settings.root,
            lock_file=settings.lock_file,
            scratch=providers,
            environ=settings.environ,
            pg_bin=settings.pg_bin,
            ini=shown,
            setup=settings.setup_hook(),
        )
    finally:
        providers.close()
