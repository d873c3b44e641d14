"""Settings, read once at the edge into a frozen value; nothing deeper reads the environment.

Sources: the Alembic ini file named by `-c/--config` (default `alembic.ini`), the
`[tool.migration-gate]` table of the nearest `pyproject.toml` (searched upward from the
ini file's directory), command-line flags, and the `MIGRATION_GATE_PG_URL` variable.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.config import Config

from migration_gate.errors import ConfigError

__all__ = ["Settings", "import_object", "load_settings"]

_KNOWN = {
    "models",
    "envs_dir",
    "snapshots_dir",
    "lock_file",
    "config_factory",
    "lint",
    "enum_naming",
}


@dataclass(frozen=True)
class Settings:
    root: Path
    alembic_ini: Path
    models: str | None = None
    envs_dir: Path = Path("envs")
    snapshots_dir: Path = Path("snapshots")
    lock_file: Path = Path("migrations/migration-gate.lock")
    config_factory: str | None = None
    lint: Mapping[str, Any] = field(default_factory=dict)
    pg_url: str | None = None
    pg_bin: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def alembic_config(self, url: str | None = None) -> Config:
        """A fresh Alembic Config for `url`: from config_factory when set, else the ini file."""
        if self.config_factory:
            factory: Callable[[str | None], Config] = import_object(
                self.config_factory, "config_factory", self.root
            )
            cfg = factory(url)
            if not isinstance(cfg, Config):
                raise ConfigError(
                    f"config_factory {self.config_factory} did not return an alembic Config"
                )
            return cfg
        cfg = Config(str(self.alembic_ini))
        if url is not None:
            cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        return cfg


def import_object(spec: str, what: str, root: Path | None = None) -> Any:
    """Import `module:attr.path` (from the project `root` too) or raise a ConfigError."""
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what} must look like module:attribute, not {spec!r}")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"cannot import {what} {spec!r}: {exc}",
            hint="check the name, and run from the project root",
        ) from None
    return obj


def _find_pyproject(start: Path) -> Path | None:
    for d in (start, *start.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    config_path: str | Path = "alembic.ini",
    *,
    pg_url: str | None = None,
    pg_bin: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    require_ini: bool = True,
) -> Settings:
    """Read every setting once. Missing ini (when required) or malformed TOML: ConfigError."""
    environ = environ or {}
    ini = Path(config_path).resolve()
    if require_ini and not ini.is_file():
        raise ConfigError(
            f"Alembic config {config_path} not found",
            hint="run from the project root or pass -c path/to/alembic.ini",
        )
    pyproject = _find_pyproject(ini.parent)
    table: dict[str, Any] = {}
    root = ini.parent
    if pyproject is not None:
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from None
        table = data.get("tool", {}).get("migration-gate", {})
        if not isinstance(table, dict):
            raise ConfigError(f"[tool.migration-gate] in {pyproject} must be a table")
        if table:
            root = pyproject.parent
        unknown = set(table) - _KNOWN
        if unknown:
            raise ConfigError(
                f"unknown setting(s) in [tool.migration-gate]: {', '.join(sorted(unknown))}",
                hint=f"known settings: {', '.join(sorted(_KNOWN))}",
            )
    lint = table.get("lint", {})
    if not isinstance(lint, dict):
        raise ConfigError("[tool.migration-gate.lint] must be a table")
    bin_dir = pg_bin or environ.get("MIGRATION_GATE_PG_BIN")
    return Settings(
        root=root,
        alembic_ini=ini,
        models=table.get("models"),
        envs_dir=root / table.get("envs_dir", "envs"),
        snapshots_dir=root / table.get("snapshots_dir", "snapshots"),
        lock_file=root / table.get("lock_file", "migrations/migration-gate.lock"),
        config_factory=table.get("config_factory"),
        lint=lint,
        pg_url=pg_url or environ.get("MIGRATION_GATE_PG_URL") or None,
        pg_bin=Path(bin_dir) if bin_dir else None,
        raw=table,
    )
