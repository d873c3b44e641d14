"""Every option of the command line, declared once, and the parser built from them.

`OPTIONS` holds the verbs' options (each the keyword-only parameter of the same name of the
verb's function); `COMMON` the options of every verb (where output goes, `-c`); `DATABASES`
those of the verbs that work on databases. `build_parser` derives the whole parser from these
and `commands.COMMANDS`, so a flag exists in one place only.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from migration_gate.commands import COMMANDS

__all__ = ["COMMON", "DATABASES", "FORMATS", "OPTIONS", "Option", "build_parser"]

FORMATS = ("text", "json", "markdown", "junit", "annotations")
DIALECTS = ("sqlite", "postgresql", "all")


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def add_to(self, parser: argparse.ArgumentParser, dest: str, **override: Any) -> None:
        if not self.flags[0].startswith("-"):  # a positional argument: its name is its dest
            parser.add_argument(dest, **{**self.kwargs, **override})
            return
        kwargs = {"dest": dest, **self.kwargs, **override}
        parser.add_argument(*self.flags, **kwargs)


OPTIONS: dict[str, Option] = {
    "dialect": Option(
        ("--dialect",),
        {"default": "all", "choices": DIALECTS, "help": "dialects to work on (default all)"},
    ),
    "start": Option(
        ("--from",), {"metavar": "REV", "help": "check from this revision on (or base)"}
    ),
    "end": Option(("--to",), {"metavar": "REV", "help": "check up to this revision (or head)"}),
    "shard": Option(
        ("--shard",), {"metavar": "I/N", "help": "check only the I-th of N contiguous ranges"}
    ),
    "data": Option(
        ("--no-data",),
        {
            "action": "store_false",
            "help": "no data probe: do not fill tables with rows before each upgrade, so "
            "lost rows (data-loss) are not checked",
        },
    ),
    "models": Option(
        ("--models",),
        {
            "metavar": "MODULE:ATTR",
            "help": "the MetaData to compare (default: models in [tool.migration-gate], "
            "else env.py's target_metadata)",
        },
    ),
    "base": Option(
        ("--base",), {"metavar": "REF", "help": "lint only the revisions added since git REF"}
    ),
    "show_sql": Option(
        ("--show-sql",),
        {
            "action": "store_true",
            "help": "print the SQL each linted revision runs on PostgreSQL after the report",
        },
    ),
    "check": Option(
        ("--check",), {"action": "store_true", "help": "fail on edited or unlocked revisions"}
    ),
    "base_ref": Option(
        ("--base-ref",),
        {
            "metavar": "REF",
            "help": "with --check: also compare with the lock file at git REF (revisions "
            "released there must never change)",
        },
    ),
    "schemas": Option(
        ("--schemas",),
        {
            "action": "store_true",
            "help": "with --check: also verify the schema hashes (walks the chain)",
        },
    ),
    "environment": Option(
        ("--env",),
        {
            "metavar": "NAME",
            "help": "the environment whose database to capture (its URL comes from the "
            "variable envs/NAME.yaml names)",
        },
    ),
    "url": Option(("--url",), {"metavar": "URL", "help": "the database to capture"}),
    "snapshot_file": Option(
        ("--output",),
        {"metavar": "FILE", "help": "where to write the snapshot (its metadata goes to FILE.json)"},
    ),
    "sample": Option(
        ("--sample",),
        {
            "metavar": "N",
            "type": int,
            "help": "at most N rows per table, every foreign key still resolving (PostgreSQL)",
        },
    ),
    "mask": Option(
        ("--mask",),
        {
            "metavar": "TABLE.COLUMN[=KIND]",
            "action": "append",
            "default": [],
            "help": "replace the column's values by deterministic fakes of the same type "
            "(kinds: hash, email, name, phone, uuid, number, date, json, bool, null; "
            "repeatable; PostgreSQL)",
        },
    ),
    "schema_only": Option(
        ("--schema-only",),
        {"action": "store_true", "help": "no rows (but the Alembic version table's)"},
    ),
    "snapshots": Option(
        ("snapshots",),
        {
            "metavar": "SNAPSHOT",
            "nargs": "*",
            "help": "snapshot files (default: every snapshot in snapshots_dir)",
        },
    ),
    "jobs": Option(
        ("--jobs",),
        {
            "metavar": "N",
            "type": int,
            "help": "parallel pg_restore jobs in all (default: the number of CPU cores)",
        },
    ),
    "env": Option(
        ("--env",),
        {
            "required": True,
            "metavar": "NAME",
            "help": "the environment (envs/NAME.yaml; its database URL comes from the "
            "variable it names)",
        },
    ),
    "dry_run": Option(
        ("--dry-run",),
        {
            "action": "store_true",
            "help": "show the plan and the SQL each pending revision sends (run on a scratch "
            "database); change nothing",
        },
    ),
    "allow_drift": Option(
        ("--allow-drift",),
        {
            "action": "store_true",
            "help": "deploy even when the schema is not the one the chain produces at the "
            "database's revision (reported as a warning)",
        },
    ),
    "backup": Option(
        ("--backup",),
        {
            "action": "store_true",
            "help": "take a backup (pg_dump -Fc) before applying, whatever deploy.backup says",
        },
    ),
}

DATABASES: dict[str, Option] = {
    "pg_url": Option(
        ("--pg-url",),
        {
            "metavar": "URL",
            "help": "PostgreSQL server to work on (its database is only the admin connection); "
            "default $MIGRATION_GATE_PG_URL, else the embedded server",
        },
    ),
    "pg_bin": Option(
        ("--pg-bin",),
        {"metavar": "DIR", "help": "bin directory of local PostgreSQL binaries to start instead"},
    ),
}

COMMON: dict[str, Option] = {
    "config": Option(
        ("-c", "--config"),
        {"metavar": "INI", "help": "the Alembic ini file (default alembic.ini)"},
    ),
    "formats": Option(
        ("--format",),
        {
            "action": "append",
            "choices": FORMATS,
            "help": "output format (repeatable; pairs with --output in order); default text",
        },
    ),
    "outputs": Option(
        ("--output",),
        {
            "action": "append",
            "metavar": "PATH",
            "help": "write the matching --format to PATH instead of stdout",
        },
    ),
    "quiet": Option(("--quiet",), {"action": "store_true", "help": "no progress, no text summary"}),
    "debug": Option(
        ("--debug",),
        {"action": "store_true", "help": "show tracebacks (the exit code stays the same)"},
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line like every other error of the tool."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"FAILED: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="migration-gate",
        description="CI migration pipeline for Alembic + SQLAlchemy: roundtrip every migration "
        "on SQLite and PostgreSQL, compare models, lint, lock, and fail loudly.",
        epilog="exit codes: 0 no error findings, 1 error findings, 2 usage/config error, "
        "3 infrastructure error",
    )
    COMMON["config"].add_to(parser, "config", default="alembic.ini")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        for name in (*command.options, *command.cli_only):
            OPTIONS[name].add_to(p, name)
        if command.databases:
            for name, option in DATABASES.items():
                option.add_to(p, name)
        own = {flag for name in command.options for flag in OPTIONS[name].flags}
        for name, option in COMMON.items():
            if own.intersection(option.flags):
                continue  # the verb's own option of that name wins (snapshot --output FILE)
            # after the verb too; SUPPRESS keeps a -c given before the verb
            option.add_to(p, name, **({"default": argparse.SUPPRESS} if name == "config" else {}))
    return parser
