"""Settings and environments are validated on load: every mistake is one ConfigError naming
the file, the key, what was found and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate.config.envs import load_env, parse_duration
from migration_gate.config.settings import load_settings
from migration_gate.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (tmp_path / "pyproject.toml").write_text(f"[tool.migration-gate]\n{table}\n")
    return tmp_path / "alembic.ini"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("models = 5", "models: Input should be a valid string (found int 5)"),
        ('lock_file = ["a"]', "lock_file: Input should be a valid string (found list"),
        ("config_factory = 42", "config_factory: Input should be a valid string (found int 42)"),
        ("setup = true", "setup: Input should be a valid string (found bool True)"),
        ("bogus = 1", "unknown key 'bogus' (known: config_factory,"),
        ("lint = 3", "lint: Input should be a valid dictionary (found int 3)"),
    ],
)
def test_a_wrong_setting_names_the_key_and_both_types(
    tmp_path: Path, table: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_project(tmp_path, table))
    assert expected in str(err.value)
    assert str(tmp_path / "pyproject.toml") in str(err.value)


@pytest.mark.parametrize(
    ("url", "source", "expected"),
    [
        ("mysql://u@h/db", "--pg-url", "names a mysql server"),
        ("sqlite:///x.db", "--pg-url", "names a sqlite server"),
        ("postgresql://u@h:abc/db", "--pg-url", "the port must be a number"),
        ("garbage", "MIGRATION_GATE_PG_URL", "MIGRATION_GATE_PG_URL is not a database URL"),
    ],
)
def test_an_unusable_server_url_is_a_usage_error(
    tmp_path: Path, url: str, source: str, expected: str
) -> None:
    ini = _project(tmp_path, "")
    kwargs = {"pg_url": url} if source == "--pg-url" else {"environ": {source: url}}
    with pytest.raises(ConfigError) as err:
        load_settings(ini, **kwargs)  # type: ignore[arg-type]
    assert expected in str(err.value) or expected in (err.value.hint or "")
    assert not (tmp_path / "x.db").exists()


def test_the_reference_environments_load() -> None:
    dev = load_env(ROOT / "envs", "dev")
    assert dev.database.url_env == "DEV_DATABASE_URL"
    assert dev.deploy.lock_timeout == 5.0 and dev.deploy.statement_timeout == 300.0
    assert dev.verify is not None and dev.verify.checks[0].path == "/health"
    main = load_env(ROOT / "envs", "main")
    assert main.promoted_from == "dev" and main.deploy.backup == "always"
    assert dev.deploy.backup == "destructive" and dev.deploy.lock_wait == 600.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("name: x\n", "database is missing"),
        (
            "name: x\ndatabase: {url_env: X}\ndeploy: {lock_timeout: soon}\n",
            "deploy.lock_timeout: a duration like 500ms, 5s, 2min or 1h, not 'soon'",
        ),
        (
            "name: x\ndatabase: {url_env: X}\ndeploy: {backup: sometimes}\n",
            "deploy.backup: Input should be 'never', 'destructive' or 'always'",
        ),
        ("name: x\ndatabase: {url_env: X}\nfoo: 1\n", "unknown key 'foo'"),
        (
            "name: x\ndatabase: {url_env: X, url: postgresql://a}\n",
            "database.url: the file names the variable that holds the database URL",
        ),
        ("name: [x\n", "is not valid YAML"),
        ("name: y\ndatabase: {url_env: X}\n", "name is 'y' but the file is x.yaml"),
        (
            "name: x\ndatabase: {url_env: 'not a var'}\n",
            "database.url_env: the name of an environment variable",
        ),
    ],
)
def test_a_broken_environment_file_names_the_file_and_the_key(
    tmp_path: Path, body: str, expected: str
) -> None:
    (tmp_path / "x.yaml").write_text(body)
    with pytest.raises(ConfigError) as err:
        load_env(tmp_path, "x")
    assert expected in str(err.value)
    assert "x.yaml" in str(err.value)


def test_an_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_env(ROOT / "envs", "prod")
    assert "no environment 'prod'" in str(err.value) and "dev, main" in (err.value.hint or "")


def test_a_missing_database_variable_is_named() -> None:
    dev = load_env(ROOT / "envs", "dev")
    with pytest.raises(ConfigError, match=r"\$DEV_DATABASE_URL is not set"):
        dev.database_url({})
    assert dev.database_url({"DEV_DATABASE_URL": "postgresql://h/db"}) == "postgresql://h/db"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("5s", 5.0), ("2min", 120.0), ("2m", 120.0), ("1h", 3600.0), (3, 3.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-1s", True, "5 parsecs"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
