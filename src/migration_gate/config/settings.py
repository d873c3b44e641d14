"""Settings, read once at the edge into a frozen value; nothing deeper reads the environment.

Sources: the Alembic ini file named by `-c/--config` (default `alembic.ini`), the
`[tool.migration-gate]` table of the nearest `pyproject.toml` (searched upward from the ini
file's directory), command-line flags, and the `MIGRATION_GATE_PG_URL` / `MIGRATION_GATE_PG_BIN`
variables. The table is validated by pydantic on load: an unknown key or a value of the wrong
type is a `ConfigError` (exit 2) naming the key, what was found and what was expected.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.config import Config
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Connection

from migration_gate.config.envs import Duration, Environment, load_env
from migration_gate.config.imports import import_object, validation_message
from migration_gate.config.source import ConfigSource
from migration_gate.db import urls
from migration_gate.errors import ConfigError

__all__ = ["ReplayTable", "Settings", "Setup", "Table", "import_object", "load_settings"]


class ReplayTable(BaseModel):
    """`[tool.migration-gate.replay]`: when a table rewrite or a long lock fails `replay`.

    Thresholds are the seconds an ACCESS EXCLUSIVE lock would be held on the source
    database (the lock held on the replayed data, projected to the source's row count);
    written as durations (`500ms`, `5s`, `2min`) or seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a rewrite or lock projected to last this long is a warning
    lock_warning: Duration = 5.0
    #: ... and this long an error
    lock_error: Duration = 60.0
    #: parallel pg_restore jobs in all (default: the number of CPU cores)
    jobs: int | None = Field(default=None, ge=1, le=64)


#: `[tool.migration-gate] setup`: called with a connection on every fresh database
Setup = Callable[[Connection], None]


class Table(BaseModel):
    """`[tool.migration-gate]`: every key the tool reads, with its type."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    #: "module:attribute" of the models' MetaData (check-models, lint's enum names)
    models: str | None = None
    #: directory of envs/<name>.yaml, relative to the project root
    envs_dir: str = "envs"
    #: directory of the snapshots `replay` reads by default
    snapshots_dir: str = "snapshots"
    lock_file: str = "migrations/migration-gate.lock"
    #: "module:function": a function of the URL returning an Alembic Config
    config_factory: str | None = None
    #: "module:function": called with a connection on every fresh database before the chain
    setup: str | None = None
    #: enum type naming convention (also under [tool.migration-gate.lint])
    enum_naming: str | None = None
    #: [tool.migration-gate.lint], validated by `lint.config`
    lint: dict[str, Any] = {}
    #: [tool.migration-gate.replay]
    replay: ReplayTable = ReplayTable()


@dataclass(frozen=True)
class Settings:
    root: Path
    alembic_ini: Path
    models: str | None = None
    envs_dir: Path = Path("envs")
    snapshots_dir: Path = Path("snapshots")
    lock_file: Path = Path("migrations/migration-gate.lock")
    config_factory: str | None = None
    setup: str | None = None
    enum_naming: str | None = None
    lint: Mapping[str, Any] = field(default_factory=dict)
    pg_url: str | None = None
    pg_bin: Path | None = None
    #: the process environment, read once at the edge (env vars named by envs/*.yaml)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: [tool.migration-gate.replay]
    replay: ReplayTable = field(default_factory=ReplayTable)
    #: the pyproject.toml that holds [tool.alembic] (Alembic 1.16's pyproject template)
    alembic_toml: Path | None = None

    def environment(self, name: str) -> Environment:
        """`envs/<name>.yaml`, validated."""
        return load_env(self.envs_dir, name)

    def config_source(self) -> ConfigSource:
        """Where each database's Alembic Config comes from: config_factory, else the ini."""
        if self.config_factory:
            spec = self.config_factory
            factory = import_object(spec, "config_factory", self.root)
            if not callable(factory):
                raise ConfigError(
                    f"config_factory {spec} is a {type(factory).__name__}, not a function",
                    hint="config_factory names a function of the database URL returning an "
                    "alembic Config",
                )

            def build(url: str | None) -> Config:
                cfg = factory(url)
                if not isinstance(cfg, Config):
                    raise ConfigError(
                        f"config_factory {spec} returned {type(cfg).__name__}, not an "
                        "alembic.config.Config"
                    )
                return cfg

            return ConfigSource(factory=build)
        if self.alembic_toml is not None:
            return ConfigSource(
                config=Config(str(self.alembic_ini), toml_file=str(self.alembic_toml))
            )
        return ConfigSource(config=Config(str(self.alembic_ini)))

    def setup_hook(self) -> Setup | None:
        """The function `setup` names, called on every fresh database before the chain."""
        if not self.setup:
            return None
        hook = import_object(self.setup, "setup", self.root)
        if not callable(hook):
            raise ConfigError(
                f"setup {self.setup} is a {type(hook).__name__}, not a function",
                hint="setup names a function that takes a SQLAlchemy connection",
            )
        setup: Setup = hook
        return setup

    def alembic_config(self) -> Config:
        """The Alembic Config for no database in particular (to load the chain)."""
        return self.config_source().base()


def _find_pyproject(start: Path) -> Path | None:
    for d in (start, *start.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_toml(pyproject: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from None


def _table(pyproject: Path, data: Mapping[str, Any]) -> Table:
    raw = data.get("tool", {}).get("migration-gate", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"[tool.migration-gate] in {pyproject} must be a table")
    try:
        return Table.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            validation_message(exc, "[tool.migration-gate]", Table),
            hint=f"fix it in {pyproject}",
        ) from None


def _pg_url(value: str | None, source: str) -> str | None:
    """A PostgreSQL server URL as given, or a ConfigError naming where it came from."""
    if not value:
        return None
    urls.remember_secrets(value)
    try:
        u = urls.parse(value)
    except ConfigError as exc:
        raise ConfigError(
            f"{source} is {exc.message}",
            hint="use a URL like postgresql://user@host:5432/postgres, or a libpq string",
        ) from None
    except ValueError as exc:  # a port that is not a number
        raise ConfigError(
            f"{source} is not a valid URL ({exc}): {urls.mask(value)}",
            hint="the port must be a number, e.g. postgresql://user@host:5432/postgres",
        ) from None
    if u.get_backend_name() != "postgresql":
        raise ConfigError(
            f"{source} names a {u.get_backend_name()} server ({urls.mask(u)}); it must name a "
            "PostgreSQL server",
            hint="migration-gate supports PostgreSQL (postgresql://...) and makes its SQLite "
            "databases itself: leave --pg-url out for SQLite",
        )
    return value


def load_settings(
    config_path: str | Path = "alembic.ini",
    *,
    pg_url: str | None = None,
    pg_bin: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    require_ini: bool = True,
) -> Settings:
    """Read every setting once. A missing ini (when required), malformed TOML, a setting of
    the wrong type or an unusable server URL: ConfigError."""
    environ = environ or {}
    ini = Path(config_path).resolve()
    if require_ini and not ini.is_file():
        raise ConfigError(
            f"Alembic config {config_path} not found",
            hint="run from the project root or pass -c path/to/alembic.ini",
        )
    pyproject = _find_pyproject(ini.parent)
    data = _read_toml(pyproject) if pyproject is not None else {}
    table = _table(pyproject, data) if pyproject is not None else Table()
    tool = data.get("tool", {})
    alembic_toml = pyproject if isinstance(tool, dict) and "alembic" in tool else None
    root = ini.parent
    if pyproject is not None and table.model_fields_set:
        root = pyproject.parent
    bin_dir = pg_bin or environ.get("MIGRATION_GATE_PG_BIN")
    url = _pg_url(pg_url, "--pg-url") or _pg_url(
        environ.get("MIGRATION_GATE_PG_URL"), "MIGRATION_GATE_PG_URL"
    )
    if root.is_dir() and str(root) not in sys.path:
        sys.path.insert(0, str(root))  # models, config_factory and setup import from here
    return Settings(
        root=root,
        alembic_ini=ini,
        models=table.models,
        envs_dir=root / table.envs_dir,
        snapshots_dir=root / table.snapshots_dir,
        lock_file=root / table.lock_file,
        config_factory=table.config_factory,
        setup=table.setup,
        enum_naming=table.enum_naming,
        lint=table.lint,
        pg_url=url,
        pg_bin=Path(bin_dir) if bin_dir else None,
        environ=dict(environ),
        replay=table.replay,
        alembic_toml=alembic_toml,
    )
