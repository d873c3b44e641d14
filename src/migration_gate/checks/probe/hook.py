"""The data probe as a walk hook: rows in before each upgrade, lost rows out after it.

Before each revision, every table without rows gets a few synthetic rows (parents first);
the probe then records each table's row count and the values of its probe rows. After the
upgrade it reports `data-loss` for a table dropped while it had rows, a table with fewer
rows, and a column whose probe values changed (an error, or a warning when the migration
declares ``gate = {"destructive": "why"}``). Rows are left in place: later downgrades and
upgrades meet real data, as they would in production. A table the probe cannot fill (the
database refuses its rows) is a `probe-skipped` info finding, once per table and reason. Any
other error of the probe is a bug of migration-gate and ends the run (it is never a skip).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from migration_gate.checks.base import RoundtripCheck, StepContext
from migration_gate.checks.probe import fill
from migration_gate.checks.probe.compare import (
    Loss,
    Row,
    TableState,
    compare_table,
    find_rename,
    normalize,
)
from migration_gate.checks.probe.generate import (
    ROWS,
    Plan,
    Skip,
    fill_order,
    parent_tables,
    plan_rows,
)
from migration_gate.checks.probe.messages import DATA_LOSS, SKIPPED, loss_finding, skipped_finding
from migration_gate.checks.probe.watch import DataWatch
from migration_gate.findings import Finding
from migration_gate.snapshot.model import SchemaSnapshot, Table
from migration_gate.snapshot.normalize import type_family

if TYPE_CHECKING:
    from migration_gate.chain.revisions import RevisionInfo
    from migration_gate.chain.runner import StepRunner

__all__ = ["DATA_LOSS", "SKIPPED", "DataProbe"]


@dataclass
class _Tracked:
    """The probe rows of one table: their values, per column family."""

    families: dict[str, str]
    primary_key: tuple[str, ...]
    rows: tuple[Row, ...] = ()


@dataclass
class DataProbe(RoundtripCheck):
    """Fills empty tables before each upgrade and reports the rows the upgrade lost."""

    rows: int = ROWS
    root: Path | None = None
    _tracked: dict[str, _Tracked] = field(default_factory=dict)
    _reported: set[tuple[str, str]] = field(default_factory=set)
    #: tables whose skips the walk that checked the revisions before this one's notes
    _muted: frozenset[str] = frozenset()
    # What spares the re-reads (see `watch`): each table's last row count, the table object
    # and watch epoch it holds for, the statements of the walk's connection, the enum types.
    _counts: dict[str, int] = field(default_factory=dict)
    _synced: dict[str, tuple[Table, int]] = field(default_factory=dict)
    _watch: DataWatch | None = None
    _enums: tuple[Any, ...] = ()
    _before_snap: SchemaSnapshot | None = None
    _before_epoch: int = -1

    def populated_tables(self) -> tuple[str, ...]:
        """The tables that hold probe rows now."""
        return tuple(sorted(name for name, t in self._tracked.items() if t.rows))

    # -- the hooks -----------------------------------------------------------------------
    def before_upgrade(self, step: StepContext, before: SchemaSnapshot) -> list[Finding]:
        findings = self._fill_and_record(step.runner, step.rev, before)
        fill.finish(step.runner.conn)
        return findings

    def after_upgrade(
        self, step: StepContext, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Finding]:
        if step.rebuilt:  # the rows it put in before this upgrade are not in this database
            self._before_snap = None
            return []
        losses = self._compare(step.runner, before, after)
        fill.finish(step.runner.conn)
        return [self._loss_finding(loss, step.rev, after.dialect) for loss in losses]

    # -- before ---------------------------------------------------------------------------
    def _fill_and_record(
        self, runner: StepRunner, rev: RevisionInfo, snap: SchemaSnapshot
    ) -> list[Finding]:
        conn, watch = runner.conn, self._watching(runner, snap)
        counts = self._counts
        self._before_snap, self._before_epoch = snap, watch.epoch
        with watch.quiet():
            unclean = self._unclean(snap.tables, watch)  # something may have changed them
            for t in unclean:
                counts[t.name] = fill.row_count(conn, t.name)
            self._follow(conn, snap, counts, {t.name for t in unclean})
            return self._fill(conn, rev, snap, counts, watch)

    def _fill(
        self,
        conn: Connection,
        rev: RevisionInfo,
        snap: SchemaSnapshot,
        counts: dict[str, int],
        watch: DataWatch,
    ) -> list[Finding]:
        findings: list[Finding] = []
        filled: list[Plan] = []
        empty = [t.name for t in snap.tables if not counts[t.name]]
        order = fill_order(snap) if len(empty) > 1 else empty  # the same relative order
        triggered = {t.table for t in snap.triggers}
        for name in order:
            if counts[name]:
                continue
            table = _table(snap, name)
            plan = plan_rows(table, snap, self._parents(conn, snap, table), rows=self.rows)
            if isinstance(plan, Skip):
                findings += self._skipped(plan.table, plan.reason, rev, snap.dialect)
                continue
            error = fill.insert(conn, plan, table)
            if error:
                findings += self._skipped(
                    name, f"the database refused the probe rows: {error}", rev, snap.dialect
                )
                continue
            counts[name] = len(plan.rows)
            filled.append(plan)
            if name in triggered:
                watch.bump()  # its triggers may have written elsewhere
        for plan in filled:  # read back only now: triggers may touch rows filled earlier
            table = _table(snap, plan.table)
            columns = tuple(dict.fromkeys((*table.primary_key, *plan.columns)))
            families = _families(snap, table)
            self._tracked[plan.table] = _Tracked(
                families={c: families[c] for c in columns},
                primary_key=table.primary_key,
                rows=self._read(conn, table, columns),
            )
        for t in self._unclean(snap.tables, watch):  # what the probe knows now holds for
            self._synced[t.name] = (t, watch.epoch)  # these objects, this epoch
        return findings

    def _state_before(self, table: Table) -> TableState:
        """A table as the last `before_upgrade` found it (built only for the tables that
        `_compare` looks at: the others hold the same rows)."""
        assert self._before_snap is not None
        tracked = self._tracked.get(table.name)
        return TableState(
            self._counts[table.name],
            _families(self._before_snap, table),
            tracked.rows if tracked is not None else (),
            table.primary_key,
        )

    # -- what may have changed -------------------------------------------------------------
    def _watching(self, runner: StepRunner, snap: SchemaSnapshot) -> DataWatch:
        """The watch on the runner's connection; everything is stale after a rebuild, a step
        through another connection, or a change of the enum types (their values read back)."""
        watch = self._watch
        if watch is None or watch.connection is not runner.conn:
            if watch is not None:
                watch.close()
            watch = self._watch = DataWatch(runner.conn, runner.version_table)
            self._synced.clear()
        if not runner.shared_connection:
            watch.bump()
        if snap.enums != self._enums:
            self._enums = snap.enums
            self._synced.clear()
        return watch

    def _unclean(self, tables: Iterable[Table], watch: DataWatch) -> list[Table]:
        """The tables whose count and rows the probe must read again. It may keep what it
        knows of a table only when the table is the same object (no statement altered,
        dropped or created it since) and no other statement may have changed rows (the same
        watch epoch). One pass, inline: this runs over every table, twice per revision."""
        synced, epoch = self._synced, watch.epoch
        return [
            t for t in tables if (s := synced.get(t.name)) is None or s[0] is not t or s[1] != epoch
        ]

    def _follow(
        self,
        conn: Connection,
        snap: SchemaSnapshot,
        counts: Mapping[str, int],
        unclean: set[str],
    ) -> None:
        """Find the probe rows again (a downgrade and re-upgrade, or a rebuilt database,
        may have changed or removed them since the last upgrade) in the `unclean` tables
        and in those that are gone; in the others they are the rows the probe holds."""
        stale = [
            (name, tracked)
            for name, tracked in self._tracked.items()
            if name in unclean or snap.table(name) is None
        ]
        for name, tracked in stale:
            table = snap.table(name)
            if table is None or not counts.get(name):
                del self._tracked[name]
                continue
            self._refresh(conn, name, tracked, table, snap, counts[name])

    def _refresh(
        self,
        conn: Connection,
        name: str,
        tracked: _Tracked,
        table: Table,
        snap: SchemaSnapshot,
        count: int,
    ) -> None:
        columns = [c for c in tracked.families if table.column(c) is not None]
        now = TableState(
            count, _families(snap, table), self._read(conn, table, columns), table.primary_key
        )
        outcome = compare_table(
            name, TableState(count, tracked.families, tracked.rows, tracked.primary_key), now
        )
        kept = {c: f for c, f in outcome.families.items() if c in tracked.families}
        self._tracked[name] = _Tracked(kept, table.primary_key, outcome.rows)

    def _parents(
        self, conn: Connection, snap: SchemaSnapshot, table: Table
    ) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for name in sorted(parent_tables(table, snap)):
            parent = _table(snap, name)
            out[name] = fill.read_rows(
                conn, parent, [c.name for c in parent.columns], limit=max(self.rows, 1) * 3
            )
        return out

    @staticmethod
    def _read(
        conn: Connection, table: Table, columns: tuple[str, ...] | list[str]
    ) -> tuple[Row, ...]:
        return tuple(
            {c: normalize(v) for c, v in row.items()}
            for row in fill.read_rows(conn, table, columns)
        )

    # -- after ----------------------------------------------------------------------------
    def _compare(
        self, runner: StepRunner, before: SchemaSnapshot, after: SchemaSnapshot
    ) -> list[Loss]:
        if before is not self._before_snap:
            return []  # before_upgrade did not record this snapshot
        conn, watch = runner.conn, self._watching(runner, after)
        with watch.quiet():
            losses = self._compare_tables(conn, before, after, watch)
        self._before_snap = None
        return losses

    def _compare_tables(
        self, conn: Connection, before: SchemaSnapshot, after: SchemaSnapshot, watch: DataWatch
    ) -> list[Loss]:
        losses: list[Loss] = []
        new_tables = [t for t in after.tables if before.table(t.name) is None]
        if watch.epoch != self._before_epoch:
            todo = list(before.tables)
        else:  # skip the same objects with no statement since: they hold the rows they held
            present = set(map(id, after.tables))
            unclean = {id(t) for t in self._unclean(before.tables, watch)}
            todo = [t for t in before.tables if id(t) not in present or id(t) in unclean]
        for t in todo:
            name, table = t.name, after.table(t.name)
            state = self._state_before(t)
            if table is None:
                losses += self._vanished(conn, name, state, new_tables, after)
                self._synced.pop(name, None)
                continue
            count = fill.row_count(conn, name)
            tracked = self._tracked.get(name)
            columns = [
                c for c in (tracked.families if tracked else ()) if table.column(c) is not None
            ]
            now = TableState(
                count, _families(after, table), self._read(conn, table, columns), table.primary_key
            )
            outcome = compare_table(name, state, now)
            losses += outcome.losses
            if tracked is not None:
                kept = {c: f for c, f in outcome.families.items() if c in tracked.families}
                self._tracked[name] = _Tracked(kept, table.primary_key, outcome.rows)
            self._counts[name] = count
            self._synced[name] = (table, watch.epoch)
        return losses

    def _vanished(
        self,
        conn: Connection,
        name: str,
        state: TableState,
        new_tables: list[Table],
        after: SchemaSnapshot,
    ) -> list[Loss]:
        """A table gone from the schema: renamed (its rows are in a new table) or dropped."""
        tracked = self._tracked.pop(name, None)
        if not state.row_count:
            return []
        columns = list(tracked.families) if tracked else []
        candidates = {
            t.name: TableState(
                fill.row_count(conn, t.name),
                _families(after, t),
                self._read(conn, t, columns),
                t.primary_key,
            )
            for t in new_tables
        }
        renamed = find_rename(state, candidates)
        if renamed is None:
            return list(compare_table(name, state, None).losses)
        if tracked is not None:
            self._tracked[renamed] = tracked
        return []

    # -- findings -------------------------------------------------------------------------
    def fast_forwarded(self, snapshot: SchemaSnapshot) -> None:
        """The walk starts mid-chain (a shard, `--from`). A table of `snapshot` was first
        tried before an earlier revision, which another walk checks: that walk notes it if
        it cannot be filled (so that the union of shard reports is the whole report)."""
        self._muted = frozenset(t.name for t in snapshot.tables)

    def _skipped(self, table: str, reason: str, rev: RevisionInfo, dialect: str) -> list[Finding]:
        if (table, reason) in self._reported or table in self._muted:
            return []
        self._reported.add((table, reason))
        return [skipped_finding(table, reason, rev, dialect)]

    def _loss_finding(self, loss: Loss, rev: RevisionInfo, dialect: str) -> Finding:
        return loss_finding(loss, rev, dialect, self.root)


def _table(snap: SchemaSnapshot, name: str) -> Table:
    table = snap.table(name)
    assert table is not None
    return table


def _families(snap: SchemaSnapshot, table: Table) -> dict[str, str]:
    enums = [e.name for e in snap.enums]
    return {c.name: type_family(c.type, enums=enums) for c in table.columns}
