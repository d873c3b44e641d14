"""The replay of several snapshots: restores in parallel, upgrades one after the other.

Every snapshot is read first (a bad one stops the run before any work, exit 2). Restores
are `pg_restore` processes and run side by side, the CPU cores shared between them
(`--jobs`, `[tool.migration-gate.replay] jobs`); meanwhile the fresh head each dialect is
compared with is built. The upgrades themselves run in this thread, one snapshot at a
time, as each restore completes: Alembic's `op` and `context` are process-wide, so two
env.py runs must never overlap. Each scratch database is dropped as soon as its snapshot
is judged; everything is gone when the run ends, however it ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa

from migration_gate.chain.expected import expected_schema
from migration_gate.chain.failures import step_finding
from migration_gate.chain.runner import StepFailed
from migration_gate.chain.script import Chain, Invoke, load_chain
from migration_gate.commands._common import providers
from migration_gate.config.settings import Settings, Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db import engines
from migration_gate.db.pgtools import PgTools, find_tools
from migration_gate.db.provision import PostgresProvider, Provider
from migration_gate.findings import Finding, Report
from migration_gate.replay import load
from migration_gate.replay.judge import judge, timings
from migration_gate.replay.run import ProgressFn, replay_snapshot
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["ReplayOptions", "replay_snapshots"]


@dataclass(frozen=True)
class ReplayOptions:
    jobs: int | None = None
    invoke: Invoke | None = None
    progress: ProgressFn | None = None


def _server_version(provider: Provider) -> str:
    assert isinstance(provider, PostgresProvider)
    engine = engines.engine(provider.admin_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar_one()).split()[0]
    finally:
        engine.dispose()


def _fresh_head(
    source: ConfigSource,
    chain: Chain,
    provider: Provider,
    invoke: Invoke | None,
    setup: Setup | None,
) -> tuple[SchemaSnapshot | None, Finding | None]:
    url = provider.scratch("replay_fresh_head")
    try:
        return expected_schema(source, chain, url, invoke=invoke, setup=setup), None
    except StepFailed as exc:
        info = chain.infos[exc.revision or ""]
        finding = step_finding(
            exc,
            info,
            check="upgrade-failed",
            dialect=provider.dialect,
            root=chain.root,
            what=f"upgrade of {info.label()} failed on an empty database (the fresh head "
            "replayed snapshots are compared with)",
            hint="fix the revision: `migration-gate roundtrip` shows more",
        )
        return None, finding
    finally:
        provider.drop(url)


def _restore(
    tools: PgTools, provider: Provider, snapshot: load.Snapshot, jobs: int
) -> tuple[str, float]:
    started = time.monotonic()
    url = load.restore(tools, provider, snapshot, jobs)
    return url, time.monotonic() - started


def replay_snapshots(
    settings: Settings, paths: Sequence[str], options: ReplayOptions | None = None
) -> Report:
    """Replay `paths` (default: every snapshot of `snapshots_dir`) through the chain."""
    options = options or ReplayOptions()
    started = time.monotonic()
    source = settings.config_source()
    chain = load_chain(source.base(), invoke=options.invoke, root=settings.root)
    report = Report("replay")
    report.extend(chain.problems)
    if chain.blocked:
        return report
    tools = find_tools(settings.pg_bin, settings.environ)
    snapshots = [
        load.open_snapshot(tools, p) for p in load.find_snapshots(paths, settings.snapshots_dir)
    ]
    names = sorted({s.dialect for s in snapshots})
    with providers(settings, names) as made:
        if "postgresql" in made:
            version = _server_version(made["postgresql"])
            for s in snapshots:
                load.check_server(s, version)
        total = max(1, options.jobs or settings.replay.jobs or os.cpu_count() or 1)
        pg_count = sum(1 for s in snapshots if s.dialect == "postgresql")
        per_restore = max(1, total // max(1, pg_count))
        with ThreadPoolExecutor(max_workers=min(len(snapshots), total)) as pool:
            restores: list[Future[tuple[str, float]]] = [
                pool.submit(_restore, tools, made[s.dialect], s, per_restore) for s in snapshots
            ]
            try:
                fresh: dict[str, SchemaSnapshot | None] = {}
                for d in names:
                    t0 = time.monotonic()
                    fresh[d], broken = _fresh_head(
                        source, chain, made[d], options.invoke, settings.setup_hook()
                    )
                    report.timings[f"{d}.fresh_head"] = time.monotonic() - t0
                    if broken is not None:
                        report.add(broken)
                for snapshot, future in zip(snapshots, restores, strict=True):
                    url, seconds = future.result()
                    report.timings[f"{snapshot.name}.restore"] = seconds
                    result = replay_snapshot(
                        source,
                        chain,
                        snapshot,
                        url,
                        invoke=options.invoke,
                        progress=options.progress,
                    )
                    made[snapshot.dialect].drop(url)
                    report.timings[f"{snapshot.name}.replay"] = result.seconds
                    report.extend(
                        judge(
                            result,
                            fresh=fresh[snapshot.dialect],
                            chain=chain,
                            limits=settings.replay,
                            root=settings.root,
                        )
                    )
                    report.steps.extend(timings(result))
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    report.timings["replay.total"] = time.monotonic() - started
    return report
