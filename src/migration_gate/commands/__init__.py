"""The verbs of migration-gate, one module each, taking `Settings` first.

Each verb provisions what it needs (scratch databases, the embedded server), calls the
library stages, and returns a `Report`; providers are closed and scratch databases dropped
when it returns, raises, or is interrupted. `COMMANDS` is the one table the CLI is built
from: a verb's keyword-only parameters are its options (declared once in `cli.options`), the
first line of its docstring is its help.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["COMMANDS", "Command"]


@dataclass(frozen=True)
class Command:
    """A verb: its CLI name, where its function lives, and options only the CLI uses."""

    name: str
    #: "module:function" under migration_gate.commands (imported when the verb runs)
    target: str
    #: the first line of the function's docstring
    help: str
    #: the function's keyword-only parameters that the CLI sets (see `cli.options`)
    options: tuple[str, ...]
    #: options of the CLI alone (how to print), not passed to the function
    cli_only: tuple[str, ...] = ()
    #: the verb works on databases: --pg-url and --pg-bin (read into the settings)
    databases: bool = True

    def function(self) -> Callable[..., Any]:
        module, _, name = self.target.partition(":")
        fn: Callable[..., Any] = getattr(
            importlib.import_module(f"migration_gate.commands.{module}"), name
        )
        return fn


COMMANDS: tuple[Command, ...] = (
    Command(
        "roundtrip",
        "roundtrip:roundtrip",
        "Upgrade / downgrade / re-upgrade every revision and compare schema snapshots.",
        ("dialect", "start", "end", "shard", "data"),
    ),
    Command(
        "check-models",
        "check_models:check_models",
        "Head schema of the chain vs the models' MetaData.",
        ("dialect", "models"),
    ),
    Command(
        "lint",
        "lint:lint",
        "Lint each migration's source, its schemas and the SQL it runs on PostgreSQL.",
        ("dialect", "base"),
        cli_only=("show_sql",),
    ),
    Command(
        "lock",
        "lock:lock",
        "Write the lock file of released migrations, or check the migrations against it.",
        ("check", "base_ref", "schemas", "dialect"),
    ),
    Command(
        "snapshot",
        "snapshot:snapshot",
        "Capture a database into a snapshot file (pg_dump -Fc, or a SQLite copy) with metadata.",
        ("environment", "url", "snapshot_file", "sample", "mask", "schema_only"),
    ),
    Command(
        "replay",
        "replay:replay",
        "Restore each snapshot, upgrade it to head revision by revision, and report.",
        ("snapshots", "jobs"),
    ),
    Command(
        "deploy",
        "deploy:deploy",
        "Deploy the pending migrations to an environment: locked, checked for drift, ledgered.",
        ("env", "dry_run", "allow_drift", "backup"),
    ),
    Command(
        "drift",
        "drift:drift",
        "Compare an environment's database with the schema the chain produces at its revision.",
        ("env",),
    ),
)
