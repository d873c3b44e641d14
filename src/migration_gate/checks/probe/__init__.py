"""The data probe: synthetic rows before each upgrade, a finding for what the upgrade did to them.

Planning rows (pure): `values` (one value of a type), `constraints` (what check constraints
ask), `references` (parents first, rows that resolve), `generate` (the rows of one table, or
why it cannot be filled validly). Database I/O: `fill` (driver SQL on the step runner's
connection), `watch` (which statements may have changed rows, and the ones a finding can
name). Judging (pure): `norm` (values read back), `compare` (kinds of change in one table),
`relocate` (values found in another column or table), `evidence` (which columns of a row
say where it came from), `explain` (the statement behind a change), `messages` (the findings). Along the walk: `state` (what the probe knows),
`fillpass` (before an upgrade), `judge` (after it), and `DataProbe` in `hook`, the walk hook
that ties them together (post-mortems 000 and 001, issue 13).
"""

from __future__ import annotations

from migration_gate.checks.probe.hook import DataProbe

__all__ = ["DataProbe"]
