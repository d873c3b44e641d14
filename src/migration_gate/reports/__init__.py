"""Report renderers: one small module per output format, registered here."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from migration_gate.errors import ConfigError
from migration_gate.findings import Report

__all__ = ["FORMATS", "render"]

#: format name → module that defines `render(report) -> str`
FORMATS: dict[str, str] = {
    "text": "migration_gate.reports.text",
    "json": "migration_gate.reports.json_report",
    "markdown": "migration_gate.reports.markdown",
    "junit": "migration_gate.reports.junit",
    "annotations": "migration_gate.reports.annotations",
}


def render(report: Report, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[fmt])
    renderer: Callable[[Report], str] = module.render
    return renderer(report)
