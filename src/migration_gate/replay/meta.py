"""The metadata file beside a snapshot: where it came from and how big the source was.

`FILE.json` beside `FILE` records the environment, the Alembic revision, the server
version, when it was taken, the schema hash, the row count and size of every table of the
*source* database (so a replay of a sampled snapshot can project lock times to the real
size), how it was sampled and masked, and the command that made it. It is optional: a
plain `pg_dump -Fc` file replays without one. A metadata file that exists but does not
parse is a ConfigError naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from migration_gate.config.imports import validation_message
from migration_gate.errors import ConfigError

__all__ = ["FORMAT_VERSION", "SnapshotMeta", "TableStats", "meta_path", "read_meta", "write_meta"]

FORMAT_VERSION = 1


class TableStats(BaseModel):
    """One table of the source database."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    #: bytes on disk with its indexes and TOAST (None where the database cannot tell)
    bytes: int | None = None


class SnapshotMeta(BaseModel):
    """What `FILE.json` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = FORMAT_VERSION
    #: "postgresql" (a pg_dump custom-format archive) or "sqlite" (a database file)
    dialect: str
    #: the environment it was taken from (`snapshot --env`), if any
    environment: str | None = None
    #: the Alembic revisions (heads) the source was at; empty when it had no version table
    revision: tuple[str, ...] = ()
    server_version: str | None = None
    #: ISO 8601, UTC
    taken_at: str
    #: sha256 of the source's schema snapshot
    schema_hash: str | None = None
    #: every table of the source database: rows and size
    tables: dict[str, TableStats] = {}
    #: at most this many rows per table (`--sample`), None for every row
    sample: int | None = None
    #: the masked columns, as given (`table.column=kind`)
    masked: tuple[str, ...] = ()
    schema_only: bool = False
    #: the command that made it (passwords masked)
    command: str = ""
    tool_version: str = ""


def meta_path(snapshot: Path) -> Path:
    """`snapshots/main.dump` → `snapshots/main.dump.json`."""
    return snapshot.with_name(snapshot.name + ".json")


def write_meta(snapshot: Path, meta: SnapshotMeta) -> Path:
    path = meta_path(snapshot)
    path.write_text(
        json.dumps(meta.model_dump(mode="json"), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return path


def read_meta(snapshot: Path) -> SnapshotMeta | None:
    """The metadata beside `snapshot`, or None when there is none."""
    path = meta_path(snapshot)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid JSON: {exc}",
            hint="fix or delete it (the metadata file is optional)",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object", hint="fix or delete it")
    try:
        return SnapshotMeta.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            validation_message(exc, str(path), SnapshotMeta),
            hint="fix or delete it (the metadata file is optional)",
        ) from None
