"""Watching one revision run: which tables it locked ACCESS EXCLUSIVE, and from when.

A revision runs in one transaction, so a lock it takes is held until it commits. While the
step runs, `LockWatch` polls `pg_locks` from a connection of its own (every `interval`
seconds) for ACCESS EXCLUSIVE locks granted on relations of the replayed database to any
other session (env.py may open its own), and remembers when it first saw each one; the
hold is then the time from there to the end of the step. A lock shorter than the interval
can be missed; a rewrite is still seen by its new `relfilenode` (see `tables`).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import sqlalchemy as sa

from migration_gate.db import engines

__all__ = ["LockWatch"]

_LOCKS = sa.text(
    "SELECT relation::bigint FROM pg_locks WHERE locktype = 'relation' "
    "AND mode = 'AccessExclusiveLock' AND granted AND pid <> pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class LockWatch:
    """`with LockWatch(url) as watch: ...; watch.first_seen` → {relation oid: monotonic time}."""

    def __init__(self, url: str, *, interval: float = 0.02) -> None:
        self.interval = interval
        self.first_seen: dict[int, float] = {}
        self._engine = engines.engine(url, autocommit=True)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _poll(self) -> None:
        try:
            with self._engine.connect() as conn:
                while True:
                    now = time.monotonic()
                    for (oid,) in conn.execute(_LOCKS):
                        self.first_seen.setdefault(int(oid), now)
                    self._ready.set()
                    if self._stop.wait(self.interval):
                        return
        except BaseException as exc:  # reported by the caller, never swallowed
            self.error = exc
            self._ready.set()

    def __enter__(self) -> LockWatch:
        self._thread = threading.Thread(target=self._poll, name="mg-lock-watch", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)  # the step starts only once the watch is looking
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._engine.dispose()
