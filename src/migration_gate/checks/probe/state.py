"""What the data probe knows between hooks: its rows, each table's count, what is still true.

`ProbeState` is the memory of one probe along one walk: the probe rows of each table (per
column family, as read back), each table's last row count, and the `Table` object and watch
epoch for which that knowledge holds (see `watch`). `fillpass` writes it before an upgrade,
`judge` reads and updates it after. The helpers here read tables through `fill`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from migration_gate.checks.probe import fill
from migration_gate.checks.probe.compare import TableState
from migration_gate.checks.probe.generate import ROWS
from migration_gate.checks.probe.norm import Row, normalize
from migration_gate.checks.probe.watch import DataWatch
from migration_gate.snapshot.model import SchemaSnapshot, Table
from migration_gate.snapshot.normalize import type_family

if TYPE_CHECKING:
    from migration_gate.chain.runner import StepRunner

__all__ = ["ProbeState", "Tracked", "families", "read", "table_of"]


@dataclass
class Tracked:
    """The probe rows of one table: their values, per column family."""

    families: dict[str, str]
    primary_key: tuple[str, ...]
    rows: tuple[Row, ...] = ()


@dataclass
class ProbeState:
    """The probe's memory along one walk."""

    rows: int = ROWS
    tracked: dict[str, Tracked] = field(default_factory=dict)
    # What spares the re-reads (see `watch`): each table's last row count, the table object
    # and watch epoch it holds for, the statements of the walk's connection, the enum types.
    counts: dict[str, int] = field(default_factory=dict)
    synced: dict[str, tuple[Table, int]] = field(default_factory=dict)
    watch: DataWatch | None = None
    enums: tuple[Any, ...] = ()
    #: the schema the last `before_upgrade` recorded, and the watch epoch then
    before_snap: SchemaSnapshot | None = None
    before_epoch: int = -1

    def watching(self, runner: StepRunner, snap: SchemaSnapshot) -> DataWatch:
        """The watch on the runner's connection; everything is stale after a rebuild, a step
        through another connection, or a change of the enum types (their values read back)."""
        watch = self.watch
        if watch is None or watch.connection is not runner.conn:
            if watch is not None:
                watch.close()
            watch = self.watch = DataWatch(runner.conn, runner.version_table)
            self.synced.clear()
        if not runner.shared_connection:
            watch.bump()
        if snap.enums != self.enums:
            self.enums = snap.enums
            self.synced.clear()
        return watch

    def unclean(self, tables: Iterable[Table], watch: DataWatch) -> list[Table]:
        """The tables whose count and rows the probe must read again. It may keep what it
        knows of a table only when the table is the same object (no statement altered,
        dropped or created it since) and no other statement may have changed rows (the same
        watch epoch). One pass, inline: this runs over every table, twice per revision."""
        synced, epoch = self.synced, watch.epoch
        return [
            t for t in tables if (s := synced.get(t.name)) is None or s[0] is not t or s[1] != epoch
        ]

    def state_before(self, table: Table) -> TableState:
        """A table as the last `before_upgrade` found it (built only for the tables that
        `judge` looks at: the others hold the same rows)."""
        assert self.before_snap is not None
        tracked = self.tracked.get(table.name)
        return TableState(
            self.counts[table.name],
            families(self.before_snap, table),
            tracked.rows if tracked is not None else (),
            table.primary_key,
        )


def read(conn: Connection, table: Table, columns: Sequence[str]) -> tuple[Row, ...]:
    """Rows of `table` (the named columns that exist), normalized."""
    return tuple(
        {c: normalize(v) for c, v in row.items()} for row in fill.read_rows(conn, table, columns)
    )


def table_of(snap: SchemaSnapshot, name: str) -> Table:
    table = snap.table(name)
    assert table is not None
    return table


def families(snap: SchemaSnapshot, table: Table) -> dict[str, str]:
    enums = [e.name for e in snap.enums]
    return {c.name: type_family(c.type, enums=enums) for c in table.columns}
