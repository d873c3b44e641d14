"""The schema the chain produces at a revision: vouched for by the lock file, or built.

`ExpectedSchemas.lock_hash(targets)` is the fast path: the lock file's schema hash after
revision R, on the live database's dialect, when the lock can vouch for it: every revision
R descends from is pinned in the lock with the checksum its file has now, and in the walk
that computed the hash nothing but those revisions came before R. A live schema with that
hash is in sync without building anything; a different hash proves nothing by itself (the
snapshots of two server versions may render one meaning differently), so then, and
whenever the lock cannot vouch, `build(targets)` walks a scratch database from empty to the
targets through the user's env.py (the step runner, as `chain.expected.expected_schema`
does) and snapshots it, for a real diff. The scratch database is made on first use and kept:
a later `build` of a descendant (the head, after a deploy) only applies the revisions between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from migration_gate.chain.expected import path_to
from migration_gate.chain.runner import StepRunner
from migration_gate.chain.script import Chain
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.db.provision import Provider
from migration_gate.deploy.files import FileFacts
from migration_gate.lock.lockfile import LockFile
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["ExpectedSchemas"]


class ExpectedSchemas:
    """Expected schemas of one chain on one dialect; `close` drops the scratch database."""

    def __init__(
        self,
        source: ConfigSource,
        chain: Chain,
        files: FileFacts,
        lock: LockFile | None,
        *,
        dialect: str,
        provider: Callable[[], Provider],
        setup: Setup | None = None,
    ) -> None:
        self.source = source
        self.chain = chain
        self.files = files
        self.lock = lock
        self.dialect = dialect
        self._provider = provider
        self._setup = setup
        self._runner: StepRunner | None = None
        self._scratch: tuple[Provider, str] | None = None
        self._applied: list[str] = []
        #: how many scratch builds ran (the report says where the expected schema came from)
        self.builds = 0

    def lock_hash(self, targets: Sequence[str]) -> str | None:
        """The lock file's hash ("sha256:<hex>") of the schema at `targets`, when it vouches."""
        if self.lock is None or len(targets) != 1:
            return None
        target = targets[0]
        entry = self.lock.get(target)
        if entry is None or self.dialect not in entry.schemas:
            return None
        wanted = set(path_to(self.chain, targets))
        order = list(self.chain.order)
        locked = [e.revision for e in self.lock.entries]
        if target not in order or target not in locked:
            return None
        if set(order[: order.index(target) + 1]) != wanted:
            return None
        if set(locked[: locked.index(target) + 1]) != wanted:
            return None
        for rev in wanted:
            pinned = self.lock.get(rev)
            if pinned is None or pinned.checksum != self.files.checksums.get(rev):
                return None
        return entry.schemas[self.dialect]

    def build(self, targets: Sequence[str]) -> SchemaSnapshot:
        """Walk the scratch database to `targets` and snapshot it. A revision that fails
        raises `StepFailed` (the caller reports it)."""
        path = path_to(self.chain, targets)
        if self._runner is not None and not set(self._applied) <= set(path):
            self._reset()
        if self._runner is None:
            provider = self._provider()
            url = provider.scratch("deploy_expected")
            self._scratch = (provider, url)
            self._runner = StepRunner(self.source, url, script=self.chain.script, setup=self._setup)
            self._applied = []
        todo = [r for r in path if r not in set(self._applied)]
        self.builds += 1
        for rev in todo:
            self._runner.upgrade(rev)
            self._applied.append(rev)
        return self._runner.snapshot()

    def _reset(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._scratch is not None:
            provider, url = self._scratch
            provider.drop(url)
            self._scratch = None

    def close(self) -> None:
        self._reset()
