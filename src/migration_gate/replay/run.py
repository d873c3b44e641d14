"""Replay one restored snapshot: from its own revision to head, one revision at a time.

The revision comes from the restored database's version table (never from the metadata
file, which is optional). Each pending revision runs as its own step through the user's
env.py (`StepRunner`), as a deploy would run it. Around each step the tables are listed
with their storage identity and exact row counts; on PostgreSQL a `LockWatch` notes when
each ACCESS EXCLUSIVE lock was first seen. A failed step ends the replay (later revisions
depend on it): the rows it choked on are looked up (`offending`) and the rest is listed as
not run. After the last step the replayed head's schema is captured for the drift check.
The outcome is a value (`SnapshotReplay`); `findings` judges it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from migration_gate.chain.expected import path_to
from migration_gate.chain.runner import StepFailed, StepRunner
from migration_gate.chain.script import Chain, Invoke
from migration_gate.config.source import ConfigSource
from migration_gate.deploy.ledger import bookkeeping
from migration_gate.errors import ConfigError, InfrastructureError
from migration_gate.replay.load import Snapshot
from migration_gate.replay.offending import Offending, find_offending
from migration_gate.replay.tables import TableInfo, count_rows, list_tables
from migration_gate.replay.watch import LockWatch
from migration_gate.snapshot import SchemaSnapshot, capture

__all__ = ["SnapshotReplay", "StepResult", "TableState", "replay_snapshot"]

#: (label, i, n, revision), as `cli.output.Progress` takes it
ProgressFn = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class TableState:
    """One table at one moment: identity, name, storage, rows."""

    info: TableInfo
    rows: int

    @property
    def name(self) -> str:
        return self.info.name


@dataclass(frozen=True)
class StepResult:
    """One revision as it ran on the snapshot's data."""

    revision: str
    seconds: float
    before: tuple[TableState, ...]
    #: empty when the step failed
    after: tuple[TableState, ...] = ()
    #: table name (before the step) -> seconds an ACCESS EXCLUSIVE lock was held on it
    holds: Mapping[str, float] = field(default_factory=dict)
    failed: bool = False


@dataclass
class SnapshotReplay:
    """Everything the replay of one snapshot saw."""

    snapshot: Snapshot
    dialect: str
    #: the revision(s) the restored database was at
    start: tuple[str, ...] = ()
    steps: list[StepResult] = field(default_factory=list)
    failure: StepFailed | None = None
    offending: Offending | None = None
    not_run: list[str] = field(default_factory=list)
    #: the schema after the last revision (None when a revision failed)
    head: SchemaSnapshot | None = None
    seconds: float = 0.0


def _state(conn: Connection, version_table: str) -> tuple[TableState, ...]:
    tables = list_tables(conn, version_table=version_table)
    rows = count_rows(conn, [t.name for t in tables])
    if conn.in_transaction():
        conn.commit()
    return tuple(TableState(t, rows[t.name]) for t in tables)


def _start(runner: StepRunner, chain: Chain, snapshot: Snapshot) -> tuple[str, ...]:
    names = {t.name for t in list_tables(runner.conn, version_table="")}
    if runner.version_table not in names:
        raise ConfigError(
            f"{snapshot.path} has no {runner.version_table} table: it is not a database "
            "this chain migrated",
            hint="snapshot a database that Alembic manages (its version table holds the revision)",
        )
    heads = runner.heads()
    unknown = [h for h in heads if h not in chain.infos]
    if unknown:
        known = ", ".join(chain.script.get_heads()) or "none"
        raise ConfigError(
            f"{snapshot.path} is at revision {', '.join(unknown)}, which the chain does not know "
            f"(its heads: {known})",
            hint="replay it with the chain that migrated it (a revision renamed or removed "
            "since? a snapshot from another branch?)",
        )
    return heads


def _holds(watch: LockWatch | None, before: tuple[TableState, ...], end: float) -> dict[str, float]:
    if watch is None:
        return {}
    if watch.error is not None:
        raise InfrastructureError(f"cannot watch the locks of the replay: {watch.error}")
    return {
        s.name: end - watch.first_seen[s.info.ident]
        for s in before
        if s.info.ident in watch.first_seen
    }


def replay_snapshot(
    source: ConfigSource,
    chain: Chain,
    snapshot: Snapshot,
    url: str,
    *,
    invoke: Invoke | None = None,
    progress: ProgressFn | None = None,
) -> SnapshotReplay:
    """Upgrade the restored snapshot at `url` to the chain's heads, step by step."""
    started = time.monotonic()
    runner = StepRunner(source, url, script=chain.script, invoke=invoke)
    result = SnapshotReplay(snapshot, runner.conn.dialect.name)
    try:
        result.start = _start(runner, chain, snapshot)
        applied = set(path_to(chain, result.start))
        pending = [r for r in chain.order if r not in applied]
        table = runner.version_table
        state = _state(runner.conn, table)
        for i, rev in enumerate(pending):
            if progress is not None:
                progress(snapshot.name, i + 1, len(pending), rev)
            watching = LockWatch(url) if result.dialect == "postgresql" else None
            t0 = time.monotonic()
            try:
                with watching if watching is not None else contextlib.nullcontext():
                    runner.upgrade(rev)
            except StepFailed as exc:
                seconds = time.monotonic() - t0
                result.failure = exc
                result.not_run = pending[i + 1 :]
                result.offending = find_offending(url, exc)
                result.steps.append(StepResult(rev, seconds, state, failed=True))
                break
            end = time.monotonic()
            holds = _holds(watching, state, end)
            after = _state(runner.conn, table)
            result.steps.append(StepResult(rev, end - t0, state, after, holds))
            state = after
        if result.failure is None:
            result.head = capture(runner.conn, ignore_tables=bookkeeping(table))
    finally:
        runner.close()
    result.seconds = time.monotonic() - started
    return result
