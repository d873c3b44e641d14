"""check-models: the head schema of the chain against the models' MetaData, per dialect."""

from __future__ import annotations

from migration_gate.chain.script import load_chain
from migration_gate.commands._common import dialects, scratch
from migration_gate.config.settings import Settings, import_object
from migration_gate.findings import Report
from migration_gate.modelcheck.check import check_models_in

__all__ = ["check_models"]


def check_models(settings: Settings, *, dialect: str = "all", models: str | None = None) -> Report:
    """Head schema of the chain vs the models' MetaData.

    The models are `models` (module:attribute), else `models` of [tool.migration-gate],
    else env.py's target_metadata."""
    spec = models or settings.models
    metadata = import_object(spec, "models", settings.root) if spec else None
    source = settings.config_source()
    chain = load_chain(source.base(), root=settings.root)
    report = Report("check-models")
    report.extend(chain.problems)
    if chain.blocked:
        return report
    for d in dialects(dialect):
        with scratch(settings, d, f"models_{d}") as ws:
            report.merge(
                check_models_in(
                    source,
                    ws,
                    chain,
                    metadata=metadata,
                    root=settings.root,
                    setup=settings.setup_hook(),
                )
            )
    return report
