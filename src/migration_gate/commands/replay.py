"""replay: restore each snapshot, upgrade it to head revision by revision, and report."""

from __future__ import annotations

from collections.abc import Sequence

from migration_gate.config.settings import Settings
from migration_gate.errors import ConfigError
from migration_gate.findings import Report
from migration_gate.replay.run import ProgressFn

__all__ = ["replay"]


def replay(
    settings: Settings,
    *,
    snapshots: Sequence[str] = (),
    jobs: int | None = None,
    progress: ProgressFn | None = None,
) -> Report:
    """Restore each snapshot, upgrade it to head revision by revision, and report.

    Snapshots are pg_dump -Fc archives or SQLite files (default: every one in
    snapshots_dir); each is upgraded through env.py one revision at a time and reported
    for a failing revision (replay-failed), rows lost (data-loss), tables rewritten or
    locked (table-rewrite) and a head unlike a fresh one (replay-drift), with timings."""
    from migration_gate.replay.session import ReplayOptions, replay_snapshots

    if jobs is not None and jobs < 1:
        raise ConfigError(
            f"--jobs {jobs}: give a number of parallel restore jobs, 1 or more",
            hint="leave it out for one per CPU core",
        )
    return replay_snapshots(settings, snapshots, ReplayOptions(jobs=jobs, progress=progress))
