"""Before each upgrade: find the probe rows again, fill every empty table, remember it all.

`fill_and_record` reads again only the tables something may have changed (`ProbeState.
unclean`), follows the probe rows in them (a downgrade and re-upgrade may have changed or
removed them), then fills the empty tables parents first. A table it cannot fill validly
(no valid plan, or the database refuses the rows) is returned with the reason, and every
table whose references point at it is left empty too: its rows would point nowhere, and a
later migration that removes such rows loses nothing real.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from migration_gate.checks.probe import fill
from migration_gate.checks.probe.compare import TableState, compare_table
from migration_gate.checks.probe.generate import Plan, Skip, fill_order, parent_tables, plan_rows
from migration_gate.checks.probe.state import ProbeState, Tracked, families, read, table_of
from migration_gate.checks.probe.watch import DataWatch
from migration_gate.snapshot.model import SchemaSnapshot, Table

if TYPE_CHECKING:
    from migration_gate.chain.runner import StepRunner

__all__ = ["fill_and_record"]


def fill_and_record(
    state: ProbeState, runner: StepRunner, snap: SchemaSnapshot
) -> list[tuple[str, str]]:
    """Fill the empty tables of `snap` and record every table; the tables it could not
    fill, with the reason."""
    conn, watch = runner.conn, state.watching(runner, snap)
    counts = state.counts
    state.before_snap, state.before_epoch = snap, watch.epoch
    with watch.quiet():
        unclean = state.unclean(snap.tables, watch)  # something may have changed them
        for t in unclean:
            counts[t.name] = fill.row_count(conn, t.name)
        _follow(state, conn, snap, {t.name for t in unclean})
        skipped = _fill(state, conn, snap, watch)
    watch.take()  # what ran before this upgrade is not the upgrade's
    return skipped


def _fill(
    state: ProbeState, conn: Connection, snap: SchemaSnapshot, watch: DataWatch
) -> list[tuple[str, str]]:
    counts = state.counts
    skipped: list[tuple[str, str]] = []
    unfilled: set[str] = set()
    done: set[str] = set()
    filled: list[Plan] = []
    empty = [t.name for t in snap.tables if not counts[t.name]]
    if len(empty) > 1:  # parents first (the same relative order when only one is empty)
        order = fill_order(snap, filled=[t.name for t in snap.tables if counts[t.name]])
    else:
        order = empty
    triggered = {t.table for t in snap.triggers}
    for name in order:
        done.add(name)
        if counts[name]:
            continue
        table = table_of(snap, name)
        parents = parent_tables(table, snap)
        later = {p for p in parents if p not in done and not counts.get(p)}
        plan = plan_rows(
            table,
            snap,
            _parents(state, conn, snap, parents),
            rows=state.rows,
            unfilled=unfilled,
            later=later,
        )
        if isinstance(plan, Skip):
            skipped.append((name, plan.reason))
            unfilled.add(name)
            continue
        error = fill.insert(conn, plan, table)
        if error:
            skipped.append((name, f"the database refused the probe rows: {error}"))
            unfilled.add(name)
            continue
        counts[name] = len(plan.rows)
        filled.append(plan)
        if name in triggered:
            watch.bump()  # its triggers may have written elsewhere
    for plan in filled:  # read back only now: triggers may touch rows filled earlier
        table = table_of(snap, plan.table)
        columns = tuple(dict.fromkeys((*table.primary_key, *plan.columns)))
        fams = families(snap, table)
        state.tracked[plan.table] = Tracked(
            families={c: fams[c] for c in columns},
            primary_key=table.primary_key,
            rows=read(conn, table, columns),
        )
    for t in state.unclean(snap.tables, watch):  # what the probe knows now holds for
        state.synced[t.name] = (t, watch.epoch)  # these objects, this epoch
    return skipped


def _follow(state: ProbeState, conn: Connection, snap: SchemaSnapshot, unclean: set[str]) -> None:
    """Find the probe rows again (a downgrade and re-upgrade, or a rebuilt database,
    may have changed or removed them since the last upgrade) in the `unclean` tables
    and in those that are gone; in the others they are the rows the probe holds."""
    stale = [
        (name, tracked)
        for name, tracked in state.tracked.items()
        if name in unclean or snap.table(name) is None
    ]
    for name, tracked in stale:
        table = snap.table(name)
        count = state.counts.get(name)
        if table is None or not count:
            del state.tracked[name]
            continue
        columns = [c for c in tracked.families if table.column(c) is not None]
        now = TableState(
            count, families(snap, table), read(conn, table, columns), table.primary_key
        )
        outcome = compare_table(
            name, TableState(count, tracked.families, tracked.rows, tracked.primary_key), now
        )
        kept = {c: f for c, f in outcome.families.items() if c in tracked.families}
        state.tracked[name] = Tracked(kept, table.primary_key, outcome.rows)


def _parents(
    state: ProbeState, conn: Connection, snap: SchemaSnapshot, names: set[str]
) -> Mapping[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(names):
        parent: Table = table_of(snap, name)
        out[name] = fill.read_rows(
            conn, parent, [c.name for c in parent.columns], limit=max(state.rows, 1) * 3
        )
    return out
