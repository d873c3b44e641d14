"""The verbs of migration-gate, one function each, taking `Settings` first.

Each verb provisions what it needs (scratch databases, the embedded server), calls the
library, and returns a `Report`; the CLI derives nothing else. Providers are closed and
scratch databases dropped when a verb returns, raises, or is interrupted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from migration_gate.errors import ConfigError
from migration_gate.findings import Report
from migration_gate.graph import graph_findings
from migration_gate.provision import Provider, provider_for
from migration_gate.revisions import load_chain
from migration_gate.runner import load_script
from migration_gate.settings import Settings, import_object
from migration_gate.walk import Progress, RevisionHook, WalkOptions, walk
from migration_gate.workspace import ProviderWorkspace

__all__ = ["DIALECTS", "check_models", "roundtrip"]

DIALECTS = ("sqlite", "postgresql")


def _dialects(choice: str) -> tuple[str, ...]:
    if choice == "all":
        return DIALECTS
    if choice not in DIALECTS:
        raise ConfigError(f"unknown dialect {choice!r}", hint="use sqlite, postgresql or all")
    return (choice,)


@contextlib.contextmanager
def _providers(settings: Settings, dialects: Sequence[str]) -> Iterator[dict[str, Provider]]:
    made: dict[str, Provider] = {}
    try:
        for d in dialects:
            made[d] = provider_for(d, pg_url=settings.pg_url, pg_bin=settings.pg_bin)
        yield made
    finally:
        for p in made.values():
            p.close()


def _parse_shard(shard: str | None) -> tuple[int, int] | None:
    if not shard:
        return None
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like I/N (e.g. 2/4), not {shard!r}") from None
    if not 1 <= i <= n:
        raise ConfigError(f"--shard {shard}: I must be between 1 and N")
    return i, n


def roundtrip(settings: Settings, *, dialect: str = "all", start: str | None = None,
              end: str | None = None, shard: str | None = None,
              hooks: Sequence[RevisionHook] = (), progress: Progress | None = None) -> Report:
    """Graph checks, then upgrade / downgrade / re-upgrade of every revision, per dialect."""
    config = settings.alembic_config()
    script = load_script(config)
    revs = load_chain(script)
    known = {r.revision for r in revs}
    for name, rev in (("--from", start), ("--to", end)):
        if rev is not None and rev not in known:
            raise ConfigError(f"{name} {rev}: no such revision in the chain")
    options = WalkOptions(start=start, end=end, shard=_parse_shard(shard), hooks=hooks,
                          progress=progress, root=settings.root)
    report = Report("roundtrip")
    report.extend(graph_findings(revs, settings.root))
    with _providers(settings, _dialects(dialect)) as providers:
        for d, provider in providers.items():
            with ProviderWorkspace(provider, f"roundtrip_{d}") as ws:
                part = walk(settings.alembic_config(ws.url), ws, options)
            report.extend(part.findings)
            report.timings.update(part.timings)
            report.extras.update(part.extras)
    return report


def check_models(settings: Settings, *, dialect: str = "all", models: str | None = None) -> Report:
    """Head schema of the chain vs the models' MetaData, per dialect."""
    from migration_gate.models_check import check_models_in

    spec = models or settings.models
    metadata = import_object(spec, "models", settings.root) if spec else None
    report = Report("check-models")
    with _providers(settings, _dialects(dialect)) as providers:
        for d, provider in providers.items():
            with ProviderWorkspace(provider, f"models_{d}") as ws:
                part = check_models_in(settings.alembic_config(ws.url), ws, metadata=metadata,
                                       root=settings.root)
            report.extend(part.findings)
            report.timings.update(part.timings)
    return report
