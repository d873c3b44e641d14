"""How an incremental capture read the catalogs: a value the walk and the tests can look at.

`IncrementalCapture.stats` counts full reads, scoped reads (only the relations that DDL
touched, and their neighbours) and snapshots that read nothing at all, and keeps the names
the last scoped read took again. A test that asserts a scoped read after one step fails
when the fast path is off, which no comparison of snapshots can tell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

__all__ = ["ReadStats"]


@dataclass(frozen=True)
class ReadStats:
    """Counts of the reads of one capture, and the scope of the last one."""

    full_reads: int = 0
    scoped_reads: int = 0
    #: snapshots that nothing had changed since the last one (nothing read but the log)
    unchanged: int = 0
    #: the relations (tables, views, sequences) the last scoped read took, sorted
    last_scope: tuple[str, ...] = ()

    def full(self) -> ReadStats:
        return replace(self, full_reads=self.full_reads + 1, last_scope=())

    def scoped(self, names: Iterable[str]) -> ReadStats:
        return replace(self, scoped_reads=self.scoped_reads + 1, last_scope=tuple(sorted(names)))

    def same(self) -> ReadStats:
        return replace(self, unchanged=self.unchanged + 1, last_scope=())
