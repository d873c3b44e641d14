"""After each upgrade: what happened to the probe rows, and what the revision did to them.

`judge` compares every table something may have changed with what the probe recorded before
the upgrade (`compare`), follows renamed tables silently, and looks for rows gone from one
table among the rows other tables gained in the same revision (`relocate.destinations`):
rows moved are no loss. Only the lost rows' own values count (`evidence`: not the parents'
keys they hold, nor labels), and only rows a table gained (`relocate.gained`: not the
probe's own rows it held already). Each remaining change gets its cause from the statements the revision
sent (`explain`). Reads are proportional to what the revision changed: a table that is the
same object with no statement since keeps its rows, and tables are read for moved rows only
when rows are gone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from migration_gate.checks.probe import fill
from migration_gate.checks.probe.compare import Loss, TableState, compare_table, find_rename
from migration_gate.checks.probe.evidence import own_columns
from migration_gate.checks.probe.explain import Cause, Parsed, parse, rows_cause, values_cause
from migration_gate.checks.probe.norm import Row
from migration_gate.checks.probe.relocate import destinations, gained
from migration_gate.checks.probe.state import ProbeState, Tracked, families, read
from migration_gate.checks.probe.watch import DataWatch
from migration_gate.snapshot.model import SchemaSnapshot, Table

if TYPE_CHECKING:
    from migration_gate.chain.runner import StepRunner

__all__ = ["judge"]


def judge(
    state: ProbeState, runner: StepRunner, before: SchemaSnapshot, after: SchemaSnapshot
) -> list[tuple[Loss, Cause]]:
    """The changes the upgrade from `before` to `after` made to the probe's rows."""
    if before is not state.before_snap:
        return []  # before_upgrade did not record this snapshot
    conn, watch = runner.conn, state.watching(runner, after)
    sent = watch.take()
    with watch.quiet():
        counts_before = dict(state.counts)
        tracked_before = dict(state.tracked)  # `_compare_tables` follows the rows on
        found = _compare_tables(state, conn, before, after, watch)
        if not found:
            state.before_snap = None
            return []
        parsed = parse(sent)
        moves = _Moves(state, conn, before, after, counts_before, tracked_before)
        out = []
        for loss, lost in found:
            moved = moves.moved(loss, lost) if loss.kind in ("dropped", "rows") else loss
            if moved is not loss:  # say whether the old table is gone or only its rows
                out.append((moved, Cause("moved", "dropped" if loss.kind == "dropped" else "")))
            else:
                out.append((loss, _cause(loss, parsed, before, after)))
    state.before_snap = None
    return out


def _cause(
    loss: Loss, parsed: list[Parsed], before: SchemaSnapshot, after: SchemaSnapshot
) -> Cause:
    if loss.kind == "rows":
        return rows_cause(loss.table, parsed, before.table(loss.table))
    if loss.kind == "values" and loss.column is not None:
        return values_cause(loss.table, loss.column, loss.uniform, parsed, after.table(loss.table))
    return Cause(loss.kind)


def _compare_tables(
    state: ProbeState,
    conn: Connection,
    before: SchemaSnapshot,
    after: SchemaSnapshot,
    watch: DataWatch,
) -> list[tuple[Loss, tuple[Row, ...]]]:
    """Every change found, with the probe rows no longer found (for rows gone)."""
    found: list[tuple[Loss, tuple[Row, ...]]] = []
    new_tables = [t for t in after.tables if before.table(t.name) is None]
    if watch.epoch != state.before_epoch:
        todo = list(before.tables)
    else:  # skip the same objects with no statement since: they hold the rows they held
        present = set(map(id, after.tables))
        unclean = {id(t) for t in state.unclean(before.tables, watch)}
        todo = [t for t in before.tables if id(t) not in present or id(t) in unclean]
    for t in todo:
        name, table = t.name, after.table(t.name)
        was = state.state_before(t)
        if table is None:
            found += _vanished(state, conn, name, was, new_tables, after)
            state.synced.pop(name, None)
            continue
        count = fill.row_count(conn, name)
        tracked = state.tracked.get(name)
        columns = [c for c in (tracked.families if tracked else ()) if table.column(c) is not None]
        now = TableState(
            count, families(after, table), read(conn, table, columns), table.primary_key
        )
        outcome = compare_table(name, was, now)
        found += [(loss, outcome.lost) for loss in outcome.losses]
        if tracked is not None:
            kept = {c: f for c, f in outcome.families.items() if c in tracked.families}
            state.tracked[name] = Tracked(kept, table.primary_key, outcome.rows)
        state.counts[name] = count
        state.synced[name] = (table, watch.epoch)
    return found


def _vanished(
    state: ProbeState,
    conn: Connection,
    name: str,
    was: TableState,
    new_tables: list[Table],
    after: SchemaSnapshot,
) -> list[tuple[Loss, tuple[Row, ...]]]:
    """A table gone from the schema: renamed (its rows are in a new table) or dropped."""
    tracked = state.tracked.pop(name, None)
    state.counts.pop(name, None)
    if not was.row_count:
        return []
    columns = list(tracked.families) if tracked else []
    candidates = {
        t.name: TableState(
            fill.row_count(conn, t.name), families(after, t), read(conn, t, columns), t.primary_key
        )
        for t in new_tables
    }
    renamed = find_rename(was, candidates)
    if renamed is None:
        outcome = compare_table(name, was, None)
        return [(loss, outcome.lost) for loss in outcome.losses]
    if tracked is not None:
        state.tracked[renamed] = tracked
    return []


class _Moves:
    """The rows tables gained in the revision, read once and only when rows are gone."""

    def __init__(
        self,
        state: ProbeState,
        conn: Connection,
        before: SchemaSnapshot,
        after: SchemaSnapshot,
        counts_before: dict[str, int],
        tracked_before: dict[str, Tracked],
    ) -> None:
        self.state, self.conn, self.before, self.after = state, conn, before, after
        self.counts_before, self.tracked_before = counts_before, tracked_before
        self._candidates: dict[str, tuple[Row, ...]] | None = None

    def candidates(self) -> dict[str, tuple[Row, ...]]:
        if self._candidates is None:
            self._candidates = {}
            for t in self.after.tables:
                new = self.before.table(t.name) is None
                count = self.state.counts.get(t.name) if not new else None
                if count is None:
                    count = fill.row_count(self.conn, t.name)
                if count > (0 if new else self.counts_before.get(t.name, 0)):
                    rows = read(self.conn, t, [c.name for c in t.columns])
                    self._candidates[t.name] = tuple(gained(rows, self._probe_rows(t.name)))
        return self._candidates

    def _probe_rows(self, name: str) -> list[Row]:
        """The probe's rows of a table, as recorded before the upgrade and as followed after
        it (a renamed table's are its old name's)."""
        out: list[Row] = []
        for tracked in (self.tracked_before.get(name), self.state.tracked.get(name)):
            if tracked is not None:
                out.extend(tracked.rows)
        return out

    def moved(self, loss: Loss, lost: tuple[Row, ...]) -> Loss:
        """`loss` as `moved` when every probe row it lost is found in a table that gained
        rows in this revision (the rows are elsewhere), else `loss` unchanged."""
        if not lost:
            return loss
        table = self.before.table(loss.table)
        own = own_columns(table, self.before) if table is not None else frozenset()
        marks = [{c: v for c, v in row.items() if c in own} for row in lost]
        found = destinations(marks, {n: r for n, r in self.candidates().items() if n != loss.table})
        if found is None:
            return loss
        return replace(loss, kind="moved", found=tuple(sorted(found.items())))
