"""Integration tests check every incremental snapshot against a full catalog read."""

from __future__ import annotations

import pytest

from migration_gate.snapshot import incremental


@pytest.fixture(autouse=True)
def _verify_incremental_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incremental, "VERIFY", True)
