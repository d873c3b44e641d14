"""One revision of the walk: up, down, up, with every check's hooks around the steps.

`check_revision` is the walk's unit of work. A failed downgrade or re-upgrade, or a schema
that does not come back (a check reports it), does not end the walk: the database is rebuilt
at that revision and the walk goes on. A failed upgrade is reported with its kind and the
revision is still checked when it can be reached another way: without the data probe's rows
(`rows`: it fails only with rows present), or in one command with its predecessors
(`recover`: it fails only as its own command; its re-upgrade is then a rebuild the same way).
Only an upgrade that fails every way ends the walk (later revisions depend on it).
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.chain.runner import EnvFailed, StepFailed
from migration_gate.checks.base import Roundtrip
from migration_gate.snapshot import SchemaDiff, SchemaSnapshot, diff
from migration_gate.walk import recover, rows
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
    except EnvFailed as exc:
        w.failed("chain-load-failed", rev, exc, "env.py", "fix env.py")
        return False
    except StepFailed as exc:
        outcome = _after_failure(w, rev, exc, before)
        if outcome is None:
            return False
        before, step = outcome.before, w.step(rev, rebuilt=True)  # go on from there
        together, after = outcome.together, outcome.after
    else:
        together, after = False, None
    w.applied.append(rev.revision)
    if after is None:
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
        if together:  # as its own command it fails again: reach it the way it was reached
            w.rebuild()
        else:
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


@dataclass(frozen=True)
class _Reached:
    """The upgrade that failed was applied another way on a fresh database (without the
    probe's rows, or in one command with its predecessors), from a schema like `before`."""

    before: SchemaSnapshot
    #: it applies only in one command with its predecessors
    together: bool = False
    #: the schema the database is at now, when it was read already
    after: SchemaSnapshot | None = None


def _after_failure(
    w: WalkState, rev: RevisionInfo, exc: StepFailed, before: SchemaSnapshot
) -> _Reached | None:
    """Report a failed upgrade with its kind. `_Reached` when it was applied another way
    (the revision is checked on from there); None when nothing reaches it (the walk stops)."""
    populated = w.populated_tables()
    if populated:
        retried = rows.retry_on_empty_tables(w, rev, exc, populated)
        if not isinstance(retried, StepFailed):  # it failed only with rows present
            return _Reached(retried)
        exc = retried
    reached = recover.reach_together(w, rev)
    if isinstance(reached, StepFailed):
        w.failed(
            "upgrade-failed",
            rev,
            exc,
            f"upgrade of {rev.label()} failed",
            "fix the migration; the database refuses it"
            + (" on empty tables too" if populated else " (earlier revisions are fine)"),
            kind="fails-alone",
        )
        return None
    w.failed(
        "upgrade-failed",
        rev,
        exc,
        f"upgrade of {rev.label()} fails when it runs as its own command (as a deploy that "
        "applies one revision at a time would run it) and passes only in one command with "
        "the revisions before it",
        "make the revision self-contained: it must not rely on what an earlier revision "
        "left in the same session or transaction (a temporary table, a setting, an object "
        "SQLAlchemy created with checkfirst)",
        kind="only-together",
    )
    return _Reached(before, together=True, after=reached)


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
