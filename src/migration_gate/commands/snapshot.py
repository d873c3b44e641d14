"""snapshot: capture a database (an environment's, or a URL's) into a snapshot file."""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path

from migration_gate.config.settings import Settings
from migration_gate.errors import ConfigError
from migration_gate.findings import Report

__all__ = ["snapshot"]


def _command(
    environment: str | None,
    url: str | None,
    output: str,
    sample: int | None,
    mask: Sequence[str],
    schema_only: bool,
) -> str:
    from migration_gate.db.urls import mask as mask_url

    words = ["migration-gate", "snapshot"]
    words += ["--env", environment] if environment else ["--url", mask_url(url or "")]
    words += ["--output", output]
    if sample is not None:
        words += ["--sample", str(sample)]
    for m in mask:
        words += ["--mask", m]
    if schema_only:
        words.append("--schema-only")
    return shlex.join(words)


def snapshot(
    settings: Settings,
    *,
    environment: str | None = None,
    url: str | None = None,
    snapshot_file: str | None = None,
    sample: int | None = None,
    mask: Sequence[str] = (),
    schema_only: bool = False,
    command: str | None = None,
) -> Report:
    """Capture a database into a snapshot file (pg_dump -Fc, or a SQLite copy) with metadata.

    The database is the one of environment `environment` (the URL from the env var its
    envs/NAME.yaml names) or `url`; `sample` keeps at most N rows per table with every
    foreign key resolving, `mask` replaces table.column[=kind] by deterministic fakes."""
    from migration_gate.replay.mask import parse_mask
    from migration_gate.replay.take import SnapshotRequest, take_snapshot

    if (environment is None) == (url is None):
        raise ConfigError("snapshot needs one database: --env NAME or --url URL")
    if not snapshot_file:
        raise ConfigError("snapshot needs --output FILE (where to write the snapshot)")
    from migration_gate.db.urls import remember_secrets

    source = url or settings.environment(environment or "").database_url(settings.environ)
    remember_secrets(source)
    output = Path(snapshot_file)
    request = SnapshotRequest(
        url=source,
        output=output,
        environment=environment,
        sample=sample,
        masks=tuple(parse_mask(m) for m in mask),
        schema_only=schema_only,
        command=command or _command(environment, url, snapshot_file, sample, mask, schema_only),
    )
    started = time.perf_counter()
    take_snapshot(settings, request)
    report = Report("snapshot")
    report.written += [str(output), str(output) + ".json"]
    report.timings["snapshot.total"] = time.perf_counter() - started
    return report
