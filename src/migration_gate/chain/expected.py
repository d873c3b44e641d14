"""The schema a chain produces at a revision, built for real on a scratch database.

"Expected schema at revision R" is always a `SchemaSnapshot` of a database walked from empty
to R through the user's env.py (the revisions R descends from, in walk order, each as its own
step), never a guess: drift (`deploy`, `drift`) and `replay` diff a live or replayed schema
against it, object by object.
"""

from __future__ import annotations

from collections.abc import Sequence

from migration_gate.chain.graph import ancestors
from migration_gate.chain.runner import StepRunner
from migration_gate.chain.script import Chain, Invoke
from migration_gate.config.settings import Setup
from migration_gate.config.source import ConfigSource
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["expected_schema", "path_to"]


def path_to(chain: Chain, targets: Sequence[str]) -> list[str]:
    """The revisions a database at `targets` has applied, in walk order (empty: base)."""
    wanted = ancestors(chain.revisions, targets)
    return [r for r in chain.order if r in wanted]


def expected_schema(
    source: ConfigSource,
    chain: Chain,
    url: str,
    targets: Sequence[str] | None = None,
    *,
    invoke: Invoke | None = None,
    setup: Setup | None = None,
) -> SchemaSnapshot:
    """Upgrade the empty database at `url` to `targets` (default: every head) and snapshot
    it. A failing revision raises `StepFailed` (the caller reports it)."""
    steps = list(chain.order) if targets is None else path_to(chain, targets)
    runner = StepRunner(source, url, script=chain.script, invoke=invoke, setup=setup)
    try:
        runner.upgrade_many(steps)
        return runner.snapshot()
    finally:
        runner.close()
