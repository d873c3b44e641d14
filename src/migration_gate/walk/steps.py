"""One revision of the walk: up, down, up, with every check's hooks around the steps.

`check_revision` is the walk's unit of work. A failed downgrade or re-upgrade, or a schema
that does not come back (a check reports it), does not end the walk: the database is rebuilt
at that revision and the walk goes on. A failed upgrade ends it (later revisions depend on
it), except one that failed with the data probe's rows in the tables: it is tried again on a
fresh database without them (`rows.retry_on_empty_tables`).
"""

from __future__ import annotations

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import EnvFailed, StepFailed
from migration_gate.checks.base import Roundtrip
from migration_gate.snapshot import SchemaDiff, SchemaSnapshot, diff
from migration_gate.walk import rows
from migration_gate.walk.state import WalkState

__all__ = ["check_revision"]


def check_revision(w: WalkState, rev: RevisionInfo) -> bool:
    """Up, down, up one revision. False when the upgrade failed (the walk must stop)."""
    step = w.step(rev)
    before = w.last if w.last is not None else w.snapshot()
    w.last = None
    w.run_hook(lambda c: c.before_upgrade(step, before))
    try:
        w.timed("upgrade", lambda: w.runner.upgrade(rev.revision))
    except StepFailed as exc:
        populated = () if isinstance(exc, EnvFailed) else w.populated_tables()
        retried = rows.retry_on_empty_tables(w, rev, exc, populated) if populated else exc
        if isinstance(retried, StepFailed):
            hint = "fix the migration; the database refused it (earlier revisions are fine)"
            if populated:
                hint = "fix the migration; the database refuses it on empty tables too"
            w.failed("upgrade-failed", rev, retried, f"upgrade of {rev.label()} failed", hint)
            return False
        before = retried
    w.applied.append(rev.revision)
    after = w.snapshot()
    w.snapshots[rev.revision] = after
    w.run_hook(lambda c: c.after_upgrade(step, before, after))
    if rev.lacks_downgrade:  # nothing to undo (missing-downgrade says whether it is declared)
        w.last = after
        return True
    down = _downgrade(w, rev)
    if down is None:
        return True
    try:
        w.timed("upgrade", lambda: w.runner.upgrade(rev.revision))
        again: SchemaSnapshot | None = w.snapshot()
        failure = None
    except StepFailed as exc:
        again, failure = None, exc
    states = Roundtrip(
        before,
        after,
        down,
        again,
        diff(before, down),
        diff(after, again) if again is not None else SchemaDiff(()),
    )
    w.run_hook(lambda c: c.after_roundtrip(step, states))
    if failure is not None:
        w.failed(
            "reupgrade-failed",
            rev,
            failure,
            f"upgrade of {rev.label()} fails after its own downgrade",
            "the downgrade left something the upgrade trips over; see downgrade-leaves-trace",
        )
    if failure is not None or states.trace or states.differs:
        w.rebuild()
    else:
        w.last = again
    return True


def _downgrade(w: WalkState, rev: RevisionInfo) -> SchemaSnapshot | None:
    """The schema after the downgrade; None when it failed (the database was rebuilt)."""
    try:
        w.timed("downgrade", lambda: w.runner.downgrade(rev.revision))
    except StepFailed as exc:
        w.failed(
            "downgrade-failed",
            rev,
            exc,
            f"downgrade of {rev.label()} failed",
            "fix downgrade() so that it undoes exactly what upgrade() did",
        )
        w.rebuild()
        return None
    return w.snapshot()
