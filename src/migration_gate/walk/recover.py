"""Going on after a failed upgrade: reach the revision the way a successful deploy would.

A revision that fails as its own step may still apply when it runs in one Alembic command
with its predecessors (`alembic upgrade <rev>` from base: one transaction, so what an earlier
revision left in the session or the transaction is still there). That is a real
`upgrade-failed` (a deploy that stops at each revision fails), but the chain can be checked on
past it: `reach_together` builds a fresh database at the revision that way and the walk goes
on from there. Only when no way reaches the revision does the walk stop.
"""

from __future__ import annotations

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import StepFailed
from migration_gate.snapshot import SchemaSnapshot
from migration_gate.walk.state import WalkState

__all__ = ["reach_together"]


def reach_together(w: WalkState, rev: RevisionInfo) -> SchemaSnapshot | StepFailed:
    """A fresh database at `rev`, applied in one command with every revision before it. The
    schema there when it worked (the walk goes on from it), the failure when it did not."""
    path = [*w.applied, rev.revision]
    w.last = None
    url = w.timed("rebuild", w.workspace.fresh)
    w.runner.reconnect(url)
    try:
        w.timed("upgrade", lambda: w.runner.upgrade_together(path))
    except StepFailed as exc:
        return exc
    w.together.add(rev.revision)
    return w.snapshot()
