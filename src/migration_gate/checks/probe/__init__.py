"""The data probe: synthetic rows before each upgrade, `data-loss` when the upgrade loses them.

`generate` plans rows from a `SchemaSnapshot` (pure), `fill` inserts and reads them through
the step runner's connection, `compare` decides what was lost (pure), and `DataProbe` is
the walk hook that ties them together (post-mortems 000 and 001).
"""

from __future__ import annotations

from migration_gate.checks.probe.hook import DataProbe

__all__ = ["DataProbe"]
