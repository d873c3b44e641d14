"""Environments: `envs/<name>.yaml`, validated once into a frozen `Environment`.

An environment names where a branch deploys: the env var that holds its database URL (a URL
is never stored in the file), how a deploy behaves there (timeouts, waiting for another
deployer, retries, backups) and how a deploy is verified (the API's base URL and checks).
Everything is checked on load by pydantic: an unknown key, a wrong type, a duration that does
not parse is a `ConfigError` (exit 2) naming the file, the key and what was expected (a
database URL written in the file is refused as such); an env var that is missing or holds no
database URL is one too, named, when the value is needed.

Durations are written `500ms`, `5s`, `2min` (or `2m`), `1h`, or a number of seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from migration_gate.config.imports import validation_message
from migration_gate.db import urls
from migration_gate.errors import ConfigError

__all__ = [
    "Database",
    "Deploy",
    "Environment",
    "HttpCheck",
    "Verify",
    "env_names",
    "load_env",
    "parse_duration",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$", re.I)
_UNIT = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_duration(value: Any) -> float:
    """`"5s"` → 5.0, `"2min"` → 120.0, `3` → 3.0 (seconds)."""
    if isinstance(value, bool):
        raise ValueError("a duration, not true/false")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if m is None:
            raise ValueError(f"a duration like 500ms, 5s, 2min or 1h, not {value!r}")
        seconds = float(m.group(1)) * _UNIT[m.group(2).lower() if m.group(2) else None]
    if seconds < 0:
        raise ValueError("a duration of zero or more")
    return seconds


#: seconds, written as a duration in the file
Duration = Annotated[float, BeforeValidator(parse_duration)]


def _env_var(value: str) -> str:
    if not _ENV_VAR.match(value):
        raise ValueError(
            "the name of an environment variable (letters, digits and _; no $, no URL)"
        )
    return value


#: the name of an environment variable (its value is read when needed)
EnvVar = Annotated[str, AfterValidator(_env_var)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Database(_Strict):
    #: the environment variable that holds the database URL
    url_env: EnvVar


class Deploy(_Strict):
    #: per transaction: how long a statement may wait for a lock (SET LOCAL lock_timeout)
    lock_timeout: Duration = 5.0
    #: per transaction: how long one statement may run (SET LOCAL statement_timeout)
    statement_timeout: Duration = 300.0
    #: how long a second deployer waits for the first to finish
    lock_wait: Duration = 600.0
    #: retries (with backoff) of a revision that hit lock_timeout
    lock_retries: int = Field(default=3, ge=0, le=20)
    #: the first wait before a retry; doubled for each further one (at most 30 s)
    retry_backoff: Duration = 1.0
    #: take a pg_dump before applying: never, when a pending revision is destructive, always
    backup: Literal["never", "destructive", "always"] = "destructive"
    #: where backups go, relative to the project root
    backup_dir: str = "backups"
    #: the whole deploy may take at most this long
    timeout: Duration = 1800.0


class HttpCheck(_Strict):
    name: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = Field(pattern=r"^/")
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = {}
    expect_status: int = Field(default=200, ge=100, le=599)
    #: keys the JSON answer must hold with these values ("{head}": the chain's head)
    expect_json: dict[str, Any] = {}


class Verify(_Strict):
    #: the environment variable that holds the API's base URL
    base_url_env: EnvVar
    #: the environment variable that holds a bearer token for the API, if it needs one
    token_env: EnvVar | None = None
    timeout: Duration = 10.0
    retries: int = Field(default=3, ge=0, le=20)
    checks: tuple[HttpCheck, ...] = ()


class Environment(_Strict):
    """One `envs/<name>.yaml`."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    #: the git branch that deploys here
    branch: str | None = None
    #: the environment whose verified revisions are promoted here (main: dev)
    promoted_from: str | None = None
    database: Database
    deploy: Deploy = Deploy()
    verify: Verify | None = None
    #: the file it was read from (set on load)
    source: Path = Field(default=Path("."), exclude=True)

    def database_url(self, environ: Mapping[str, str]) -> str:
        """The database URL from its env var, or a ConfigError naming the variable."""
        var = self.database.url_env
        value = environ.get(var, "").strip()
        if not value:
            raise ConfigError(
                f"environment {self.name}: ${var} is not set",
                hint=f"export {var}=postgresql://... (the database of "
                f"{self.name}; {self.source.name} names the variable)",
            )
        urls.remember_secrets(value)
        try:
            backend = urls.parse(value).get_backend_name()
        except ConfigError as exc:
            raise ConfigError(
                f"environment {self.name}: ${var} is {exc.message}", hint=exc.hint
            ) from None
        if backend == "postgres":
            raise ConfigError(
                f"environment {self.name}: ${var} starts with postgres://, a scheme SQLAlchemy "
                "does not know",
                hint=f"write postgresql:// in {var} (the rest of the URL stays as it is)",
            )
        return value


def env_names(envs_dir: Path) -> list[str]:
    """The environments defined in `envs_dir` (file names without .yaml/.yml)."""
    if not envs_dir.is_dir():
        return []
    return sorted({p.stem for p in envs_dir.iterdir() if p.suffix in (".yaml", ".yml")})


def load_env(envs_dir: Path, name: str) -> Environment:
    """Read and validate `envs_dir/<name>.yaml` (or .yml)."""
    path = next(
        (p for p in (envs_dir / f"{name}.yaml", envs_dir / f"{name}.yml") if p.is_file()), None
    )
    if path is None and not envs_dir.is_dir():
        raise ConfigError(
            f"no environment {name!r}: the directory {envs_dir} does not exist",
            hint=f"create {envs_dir / (name + '.yaml')} (name: {name}, database: url_env: "
            "THE_VARIABLE_WITH_ITS_URL), or set [tool.migration-gate] envs_dir",
        )
    if path is None:
        known = ", ".join(env_names(envs_dir)) or "none"
        raise ConfigError(
            f"no environment {name!r}: {envs_dir / (name + '.yaml')} does not exist",
            hint=f"environments in {envs_dir}: {known} ([tool.migration-gate] envs_dir)",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()
        raise ConfigError(
            f"{path} is not valid YAML: {' '.join(first[:3])}", hint="fix the file"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys (name, database, deploy, ...)")
    if "source" in data:
        raise ConfigError(f"{path}: unknown key 'source'")
    if isinstance(data.get("database"), dict) and "url" in data["database"]:
        raise ConfigError(
            f"{path}: database.url: the file names the variable that holds the database URL, "
            "never the URL itself (it would put the password in git)",
            hint="write database: {url_env: NAME} and set the variable NAME to the URL "
            "(a CI secret)",
        )
    try:
        env = Environment.model_validate({**data, "source": path})
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, str(path), Environment)) from None
    if env.name != name:
        raise ConfigError(
            f"{path}: name is {env.name!r} but the file is {path.name}",
            hint=f"set name: {name}, or rename the file",
        )
    return env
