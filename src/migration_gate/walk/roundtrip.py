"""roundtrip: the chain's own findings, one walk per dialect, then the checks across dialects.

One function serves the Python API (`roundtrip(config, url)`, one database the caller gave)
and the command (scratch databases per dialect): `run_roundtrip` takes a loaded `Chain` and a
workspace per dialect. A chain that cannot be loaded is reported and nothing is walked; a
selection that checks nothing is a usage error. With `--shard I/N` the shard reports add up
to the whole report: the chain's graph findings are shard 1's, the cross-dialect checks (which
need every revision's schema) the last shard's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace

from alembic.config import Config

from migration_gate.chain.script import CHAIN_LOAD_FAILED, Chain, Invoke, load_chain
from migration_gate.checks import cross_dialect_findings
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db.workspace import Workspace, workspace_for_url
from migration_gate.findings import Finding, Report
from migration_gate.walk.run import WalkOptions, walk
from migration_gate.walk.select import select

__all__ = ["roundtrip", "run_roundtrip"]

#: dialect -> a context manager that yields the walk's workspace and cleans it up
Workspaces = Mapping[str, Callable[[], AbstractContextManager[Workspace]]]


def _not_walked(chain: Chain) -> Finding | None:
    """Why nothing can be walked, when the chain's own findings do not say it already."""
    if any(f.check == CHAIN_LOAD_FAILED for f in chain.problems):
        return None
    return Finding(
        check="broken-down-revision",
        severity="info",
        message="roundtrip did not run: Alembic cannot load the chain until the revision "
        "graph is fixed (see the errors above)",
    )


def run_roundtrip(
    chain: Chain,
    source: ConfigSource,
    workspaces: Workspaces,
    *,
    start: str | None = None,
    end: str | None = None,
    shard: tuple[int, int] | None = None,
    options: WalkOptions | None = None,
    invoke: Invoke | None = None,
) -> Report:
    """Graph checks, then the up/down/up walk of the selected revisions on each dialect."""
    options = options or WalkOptions()
    first = shard is None or shard[0] == 1
    last = shard is None or shard[0] == shard[1]
    report = Report("roundtrip")
    report.extend(f for f in chain.problems if first or f.check == CHAIN_LOAD_FAILED)
    if chain.blocked:
        note = _not_walked(chain)
        if note is not None:
            report.add(note)
        return report
    selection = select(chain.order, start=start, end=end, shard=shard)
    both = len(workspaces) > 1
    # the last shard compares the head schemas, naming the revision that made each
    # difference, which may be in an earlier shard's range
    options = replace(options, record_skipped=both and last and shard is not None)
    ended = {}
    for dialect, make in workspaces.items():
        with make() as ws:
            result = walk(source, ws, chain, selection, options, invoke=invoke)
        report.extend(result.findings)
        report.timings.update(result.timings)
        report.checked[dialect] = list(result.checked)
        if result.completed:
            ended[dialect] = result.snapshots
    if last and len(ended) == len(workspaces):
        report.extend(cross_dialect_findings(ended, chain.infos, options.root))
    return report


def roundtrip(
    config: Config,
    url: str,
    invoke: Invoke | None = None,
    *,
    setup: Setup | None = None,
    options: WalkOptions | None = None,
    start: str | None = None,
    end: str | None = None,
    shard: tuple[int, int] | None = None,
) -> Report:
    """Graph checks, then the up/down/up walk of every revision on the database at `url`.

    `url` names an empty database to work in (SQLite file or PostgreSQL, sync or async
    driver); it decides the dialect. The database is reset when a rebuild is needed.
    `invoke`, when given, wraps each Alembic command the tool runs (and the loading of the
    revision files). `setup`, when given, is called with a connection on every fresh
    database before the first revision (an application that creates its first tables with
    `metadata.create_all()`): "base" is the state after it."""
    options = options or WalkOptions()
    if setup is not None:
        options = replace(options, setup=setup)
    chain = load_chain(config, invoke=invoke, root=options.root)
    ws = workspace_for_url(url)

    def workspace() -> AbstractContextManager[Workspace]:
        ws.ensure_empty()
        return ws

    return run_roundtrip(
        chain,
        ConfigSource(config),
        {ws.dialect: workspace},
        start=start,
        end=end,
        shard=shard,
        options=options,
        invoke=invoke,
    )
