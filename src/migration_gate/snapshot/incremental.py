"""Snapshots of one connection's database, each re-reading only what changed since the last.

The roundtrip walk snapshots after every step; a full catalog read costs time in
proportion to the schema, which would make a long chain quadratic. `IncrementalCapture`
keeps the last snapshot of its connection and, per dialect, learns what changed since
(`incremental_postgres`: event triggers log the DDL of the session; `incremental_sqlite`:
`sqlite_master` compared with its last rows), then re-reads only those tables and reuses
every other `Table` object. The result is exactly what `capture` would return; with
`verify=True` (the test suite turns it on, see `VERIFY`) every snapshot is checked
against a full `capture` and a difference raises. `stats` counts the reads, so a test can
tell that the fast path is on; `reason` says why it is off: the one legitimate case is a
PostgreSQL server that refuses the event triggers (they need a superuser). A tracker that
fails while reading raises: it is never quietly replaced by full reads.

The caller says when something happened that the trackers cannot see (`invalidate`: env.py
migrated through a connection of its own) and closes it with its connection.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from migration_gate.snapshot.capture import IGNORED_TABLES, capture
from migration_gate.snapshot.diff import diff
from migration_gate.snapshot.incremental_postgres import PostgresTracker
from migration_gate.snapshot.incremental_sqlite import SqliteTracker
from migration_gate.snapshot.model import SchemaSnapshot
from migration_gate.snapshot.read_stats import ReadStats

__all__ = ["VERIFY", "IncrementalCapture"]

#: check every incremental snapshot against a full capture (tests set this)
VERIFY = False


class IncrementalCapture:
    """Snapshots of `connection`'s database; call `close` before closing the connection."""

    def __init__(
        self,
        connection: Connection,
        *,
        ignore_tables: tuple[str, ...] = IGNORED_TABLES,
        verify: bool | None = None,
    ) -> None:
        self.connection = connection
        self.ignored = frozenset(ignore_tables)
        self.verify = VERIFY if verify is None else verify
        self._tracker: PostgresTracker | SqliteTracker | None = None
        self._reason: str | None = None
        self._untracked_stats = ReadStats()
        name = connection.dialect.name
        if name == "postgresql":
            self._tracker = PostgresTracker(connection)
        elif name == "sqlite":
            self._tracker = SqliteTracker(connection)
        else:
            self._reason = f"no incremental capture for dialect {name!r}"
        if self._tracker is not None:
            self._tracker.start()
            if not self._tracker.enabled:
                self._reason = self._tracker.reason
                self._tracker = None

    @property
    def incremental(self) -> bool:
        """False when every snapshot is a full read (see `reason`)."""
        return self._tracker is not None

    @property
    def reason(self) -> str | None:
        """Why every snapshot is a full read (a server that refuses the event triggers,
        say), or None while snapshots are incremental. A walk should report it."""
        if self._tracker is None:
            return self._reason or "closed"
        return None

    @property
    def stats(self) -> ReadStats:
        """How the snapshots so far read the catalogs."""
        return self._untracked_stats if self._tracker is None else self._tracker.stats

    def snapshot(self) -> SchemaSnapshot:
        """The schema now. Leaves no transaction open."""
        if self._tracker is None:
            self._untracked_stats = self._untracked_stats.full()
            return capture(self.connection, ignore_tables=tuple(self.ignored))
        if self.connection.in_transaction():
            self.connection.commit()
        snap = self._tracker.snapshot(self.ignored)
        if self.verify:
            self._check(snap)
        return snap

    def invalidate(self) -> None:
        """Read everything at the next snapshot."""
        if self._tracker is not None:
            self._tracker.invalidate()

    def close(self) -> None:
        """Remove what the tracker installed (the connection stays open)."""
        if self._tracker is not None:
            self._tracker.stop()
            self._untracked_stats = self._tracker.stats
            self._tracker = None
            self._reason = "closed"

    def _check(self, snap: SchemaSnapshot) -> None:
        full = capture(self.connection, ignore_tables=tuple(self.ignored))
        changes = diff(full, snap)
        if changes or full.sha256() != snap.sha256():
            raise AssertionError(
                "incremental snapshot differs from a full capture: "
                + "; ".join(
                    changes.sentences(
                        added="extra in the incremental snapshot",
                        removed="missing from the incremental snapshot",
                    )
                )
            )
