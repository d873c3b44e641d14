"""JSON: exactly the report shape of DESIGN.md."""

from __future__ import annotations

import json

from migration_gate.findings import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
