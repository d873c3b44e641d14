"""The rows of the bad-input table (tests/integration/test_bad_inputs.py) for the verbs that
work on an environment's database or its copies: deploy and drift (envs/NAME.yaml and the
variable it names), snapshot (--env/--url, --output, --sample, --mask) and replay."""

from __future__ import annotations

from tests.bad_inputs import SECRET, Case, Prepare, sqlite_file, write

# deploy / drift: envs/NAME.yaml and the variable it names
DEV = "name: dev\ndatabase:\n  url_env: DEV_DATABASE_URL\n"
DEPLOY, DRIFT = ["deploy", "--env", "dev"], ["drift", "--env", "dev"]


def envs(text: str = DEV) -> Prepare:
    return write("envs/dev.yaml", text)


def url(value: str) -> dict[str, str]:
    return {"DEV_DATABASE_URL": value}


USERS = "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, born date)"
SNAP = ["snapshot", "--url", "{db}", "--output", "snap.dump"]
VERSION = "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
RELEASE = [
    Case("envs: malformed YAML", DEPLOY, 2, "dev.yaml is not valid YAML", envs("name: [dev\n")),
    Case("deploy --env unknown", ["deploy", "--env", "prod"], 2, "no environment 'prod'", envs()),
    Case(
        "drift without an envs directory",
        DRIFT,
        2,
        "envs does not exist",
        env=url("sqlite:///a.db"),
    ),
    Case(
        "envs: unknown key",
        DRIFT,
        2,
        "unknown key 'deploy.lock_wiat' (known: backup, backup_dir, lock_retries, lock_timeout, lock_wait,",
        envs(DEV + "deploy:\n  lock_wiat: 5s\n"),
    ),
    Case(
        "envs: wrong type",
        DEPLOY,
        2,
        "deploy.lock_retries: Input should be a valid integer",
        envs(DEV + "deploy:\n  lock_retries: many\n"),
    ),
    Case(
        "envs: bad duration",
        DEPLOY,
        2,
        "a duration like 500ms, 5s, 2min or 1h, not '5 minutes'",
        envs(DEV + "deploy:\n  lock_timeout: 5 minutes\n"),
    ),
    Case(
        "envs: the URL written in the file",
        DEPLOY,
        2,
        "database.url: the file names the variable",
        envs(f"name: dev\ndatabase:\n  url: postgresql://app:{SECRET}@db.example/app\n"),
    ),
    Case(
        "envs: url_env is not a variable name",
        DEPLOY,
        2,
        "database.url_env: the name of an environment variable",
        envs("name: dev\ndatabase:\n  url_env: $DEV_DATABASE_URL\n"),
    ),
    Case("$VAR not set", DEPLOY, 2, "$DEV_DATABASE_URL is not set", envs(), url("")),
    Case(
        "$VAR holds no URL",
        DEPLOY,
        2,
        "$DEV_DATABASE_URL is not a database URL",
        envs(),
        url(f"app:{SECRET}@db.example/app"),
    ),
    Case(
        "$VAR is postgres://",
        DEPLOY,
        2,
        "starts with postgres://, a scheme SQLAlchemy does not know",
        envs(),
        url(f"postgres://app:{SECRET}@db.example/app"),
    ),
    Case(
        "deploy: tables but no Alembic revision",
        DEPLOY,
        1,
        "adopt it with `alembic -c alembic.ini stamp REVISION`",
        envs(),
        url("{db}"),
        pg=USERS,
    ),
    Case(
        "drift: no SQLite file there", DRIFT, 2, "no SQLite database", envs(), url("sqlite:///a.db")
    ),
    Case(
        "deploy: SQLite in a missing directory",
        DEPLOY,
        2,
        "the directory data does not exist",
        envs(),
        url("sqlite:///data/app.db"),
    ),
    # snapshot
    Case(
        "snapshot --output in a missing directory",
        ["snapshot", "--env", "dev", "--output", "no/dir/snap.dump"],
        2,
        "the directory no/dir does not exist",
        envs(),
        url("{db}"),
        pg=USERS,
    ),
    Case(
        "snapshot --output is a directory",
        [*SNAP[:-1], "migrations"],
        2,
        "--output migrations is a directory",
        pg=USERS,
    ),
    Case("snapshot --sample 0", [*SNAP, "--sample", "0"], 2, "--sample 0: give a number", pg=USERS),
    Case("snapshot --sample -5", [*SNAP, "--sample", "-5"], 2, "1 or more", pg=USERS),
    Case(
        "snapshot --mask unknown table",
        [*SNAP, "--mask", "userz.email"],
        2,
        "--mask userz.email: no such table",
        pg=USERS,
    ),
    Case(
        "snapshot --mask unknown column",
        [*SNAP, "--mask", "users.mail"],
        2,
        "--mask users.mail: no such column",
        pg=USERS,
    ),
    Case(
        "snapshot --mask unknown kind",
        [*SNAP, "--mask", "users.email=magic"],
        2,
        "unknown kind 'magic'",
        pg=USERS,
    ),
    Case(
        "snapshot --mask kind that does not fit",
        [*SNAP, "--mask", "users.born=email"],
        2,
        "fake does not fit (the column is date)",
        pg=USERS,
    ),
    # replay
    Case("replay: no such file", ["replay", "nope.dump"], 2, "snapshot nope.dump does not exist"),
    Case("replay: a directory", ["replay", "migrations"], 2, "migrations is a directory"),
    Case(
        "replay: a damaged archive",
        ["replay", "snap.dump"],
        2,
        "snap.dump is damaged or unreadable",
        write("snap.dump", b"PGDMP\x01\x0e\x00" + b"\xff" * 40),
    ),
    Case(
        "replay: a plain SQL dump",
        ["replay", "backup.sql"],
        2,
        "it looks like a plain SQL dump",
        write("backup.sql", "--\n-- PostgreSQL database dump\n--\nSET lock_timeout = 0;\n"),
    ),
    Case(
        "replay: the metadata file",
        ["replay", "snap.dump.json"],
        2,
        "snap.dump.json is the metadata of a snapshot",
        write("snap.dump.json", '{"dialect": "postgresql"}\n'),
    ),
    Case(
        "replay: a revision the chain does not know",
        ["replay", "old.sqlite"],
        2,
        "at revision zz9, which the chain does not know",
        sqlite_file("old.sqlite", VERSION + "INSERT INTO alembic_version VALUES ('zz9');"),
    ),
    Case("replay: no snapshot, no snapshots_dir", ["replay"], 2, "no snapshots directory"),
    Case("replay --jobs 0", ["replay", "--jobs", "0"], 2, "--jobs 0: give"),
]
