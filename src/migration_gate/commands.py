"""The verbs of migration-gate, one function each, taking `Settings` first.

Each verb provisions what it needs (scratch databases, the embedded server), calls the
library, and returns a `Report`; the CLI derives nothing else. Providers are closed and
scratch databases dropped when a verb returns, raises, or is interrupted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from migration_gate.chain.graph import graph_findings
from migration_gate.chain.revisions import RevisionInfo, load_chain
from migration_gate.chain.runner import load_script
from migration_gate.config.settings import Settings, import_object
from migration_gate.db.provision import Provider, provider_for
from migration_gate.db.workspace import ProviderWorkspace
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding, Report
from migration_gate.walk.run import Progress, RevisionHook, WalkOptions, walk

__all__ = ["DIALECTS", "check_models", "lint", "lock", "roundtrip"]

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


def roundtrip(
    settings: Settings,
    *,
    dialect: str = "all",
    start: str | None = None,
    end: str | None = None,
    shard: str | None = None,
    hooks: Sequence[RevisionHook] = (),
    progress: Progress | None = None,
    data: bool = True,
) -> Report:
    """Graph checks, then upgrade / downgrade / re-upgrade of every revision, per dialect.

    `data` runs the data probe (`data-loss`); with both dialects, their head schemas are
    compared too (`dialect-divergence`)."""
    config = settings.alembic_config()
    script = load_script(config)
    revs = load_chain(script)
    known = {r.revision for r in revs}
    for name, rev in (("--from", start), ("--to", end)):
        if rev is not None and rev not in known:
            raise ConfigError(f"{name} {rev}: no such revision in the chain")
    part_of = _parse_shard(shard)
    first = part_of is None or part_of[0] == 1
    last = part_of is None or part_of[0] == part_of[1]
    both = _dialects(dialect) == DIALECTS
    options = WalkOptions(
        start=start,
        end=end,
        shard=part_of,
        hooks=hooks,
        progress=progress,
        root=settings.root,
        data_probe=data,
        # the last shard compares the head schemas, naming the revision that made each
        # difference, which may be in an earlier shard's range
        record_skipped=both and last and part_of is not None,
    )
    report = Report("roundtrip")
    if first:  # chain-level findings: the first shard's
        report.extend(graph_findings(revs, settings.root))
    with _providers(settings, _dialects(dialect)) as providers:
        for d, provider in providers.items():
            with ProviderWorkspace(provider, f"roundtrip_{d}") as ws:
                walk_config = settings.alembic_config(ws.url)
                same = walk_config.get_main_option("script_location") == config.get_main_option(
                    "script_location"
                )
                part = walk(walk_config, ws, options, chain=(script, revs) if same else None)
            report.extend(part.findings)
            report.timings.update(part.timings)
            report.extras.update(part.extras)
    if last:
        report.extend(_divergence(report, {r.revision: r for r in revs}, settings.root))
    return report


def _divergence(report: Report, infos: Mapping[str, RevisionInfo], root: Path) -> list[Finding]:
    """dialect-divergence (issue 3), when both dialects were walked to the end."""
    from migration_gate.checks.divergence import divergence_findings

    if not all(f"{d}.head_snapshot" in report.extras for d in DIALECTS):
        return []
    return divergence_findings(
        report.extras["sqlite.snapshots"], report.extras["postgresql.snapshots"], infos, root=root
    )


def check_models(settings: Settings, *, dialect: str = "all", models: str | None = None) -> Report:
    """Head schema of the chain vs the models' MetaData, per dialect."""
    from migration_gate.modelcheck.check import check_models_in

    spec = models or settings.models
    metadata = import_object(spec, "models", settings.root) if spec else None
    report = Report("check-models")
    with _providers(settings, _dialects(dialect)) as providers:
        for d, provider in providers.items():
            with ProviderWorkspace(provider, f"models_{d}") as ws:
                part = check_models_in(
                    settings.alembic_config(ws.url), ws, metadata=metadata, root=settings.root
                )
            report.extend(part.findings)
            report.timings.update(part.timings)
    return report


# -- lint and lock (issue 5) -------------------------------------------------------------------


def lint(settings: Settings, *, dialect: str = "all", base: str | None = None) -> Report:
    """Lint rules on each revision's source, its schemas and the SQL it runs on PostgreSQL;
    with `base` (a git ref), only the revisions the branch adds."""
    from migration_gate.lint.run import lint_chain

    with _providers(settings, _dialects(dialect)) as providers, contextlib.ExitStack() as stack:
        databases = {
            d: stack.enter_context(ProviderWorkspace(p, f"lint_{d}")).url
            for d, p in providers.items()
        }
        return lint_chain(settings, databases, base=base)


def lock(
    settings: Settings,
    *,
    check: bool = False,
    base_ref: str | None = None,
    schemas: bool = False,
    dialect: str = "all",
) -> Report:
    """Write the lock file (checksums and schema hashes of every revision), or with `check`
    compare the migrations with it (and with the lock at `base_ref`)."""
    from migration_gate.lock import locking

    if not check:
        with _providers(settings, _dialects(dialect)) as providers:
            return locking.write_lock(settings, providers)
    if not schemas:
        return locking.check_lock(settings, base_ref=base_ref)
    with _providers(settings, _dialects(dialect)) as providers:
        return locking.check_lock(settings, base_ref=base_ref, providers=providers)
