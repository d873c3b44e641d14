"""roundtrip: upgrade / downgrade / re-upgrade every revision on each dialect, compared."""

from __future__ import annotations

from migration_gate.chain.script import load_chain
from migration_gate.commands._common import dialects, scratch_workspaces
from migration_gate.config.settings import Settings
from migration_gate.findings import Report
from migration_gate.walk.roundtrip import run_roundtrip
from migration_gate.walk.run import Progress, WalkOptions
from migration_gate.walk.select import parse_shard

__all__ = ["roundtrip"]


def roundtrip(
    settings: Settings,
    *,
    dialect: str = "all",
    start: str | None = None,
    end: str | None = None,
    shard: str | None = None,
    data: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Upgrade / downgrade / re-upgrade every revision and compare schema snapshots.

    Graph checks, then every selected revision on each dialect with every roundtrip check
    (the data probe unless `data` is false); with both dialects, their head schemas too."""
    part_of = parse_shard(shard)
    names = dialects(dialect)
    source = settings.config_source()
    chain = load_chain(source.base(), root=settings.root)
    return run_roundtrip(
        chain,
        source,
        scratch_workspaces(settings, names, "roundtrip"),
        start=start,
        end=end,
        shard=part_of,
        options=WalkOptions(
            progress=progress, root=settings.root, data_probe=data, setup=settings.setup_hook()
        ),
    )
