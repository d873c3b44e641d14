"""The reference snapshots (snapshots/, made by scripts/reference_snapshots.py) replayed.

main was taken before the INTEGER → UUID key conversion and must upgrade keeping every row;
dev kept the misnamed enum of post-mortem 004 and must be repaired by 0008. Without 0008 dev
is replay-drift naming the enum; with post-mortem 001's drop-and-recreate as 0004, main's
rows are data-loss.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migration_gate.commands.replay import replay
from migration_gate.config.settings import load_settings
from migration_gate.findings import Report
from migration_gate.replay.meta import read_meta

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "snapshots"
VERSIONS = Path("migrations") / "versions"

#: post-mortem 001's upgrade: conversations and messages dropped and created with UUID keys
DROP_AND_RECREATE = '''"""conversations and messages: UUID keys by dropping and recreating the tables (post-mortem 001)

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trigger_update_conversation_timestamp ON messages")
    op.execute("DROP TABLE messages")
    op.execute("DROP TABLE conversations")
    op.execute(
        "CREATE TABLE conversations (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), "
        "user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
        "title VARCHAR(200) NOT NULL DEFAULT 'New Conversation', "
        "created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE TABLE messages (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), "
        "conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, "
        "role VARCHAR(20) NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')), "
        "content TEXT NOT NULL, tool_calls JSONB, tool_call_id VARCHAR(100), name VARCHAR(100), "
        "created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )


def downgrade() -> None:
    pass
'''


def _copy(tmp_path: Path, drop: tuple[str, ...] = ()) -> Path:
    """The reference project in `tmp_path`, without the revision files named in `drop`."""
    for name in ("alembic.ini", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("migrations", "app", "snapshots"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for rev in drop:
        (path,) = (tmp_path / VERSIONS).glob(f"*_{rev}_*.py")
        path.unlink()
    return tmp_path / "alembic.ini"


def _checks(report: Report, snapshot: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in report.findings:
        if f.details.get("snapshot") == snapshot:
            out.setdefault(f.check, []).append(f.message)
    return out


def test_the_reference_snapshots_are_small_and_say_how_they_were_made() -> None:
    for name, revision in (("main.dump", ("0003",)), ("dev.dump", ("0007",))):
        path = SNAPSHOTS / name
        assert path.stat().st_size < 1_000_000, f"{name} must stay small: it is committed"
        meta = read_meta(path)
        assert meta is not None and meta.revision == revision
        assert meta.command == "python scripts/reference_snapshots.py"
        assert meta.masked and meta.environment == name.split(".")[0]
    main = read_meta(SNAPSHOTS / "main.dump")
    assert main is not None and main.sample and main.tables["messages"].rows > main.sample


@pytest.mark.reference_service
def test_the_reference_snapshots_replay_green(pg_admin_url: str) -> None:
    report = replay(load_settings(ROOT / "alembic.ini", pg_url=pg_admin_url))
    assert report.ok, report.errors()
    bad = {"replay-failed", "replay-drift", "data-loss"}
    assert not [f for f in report.findings if f.check in bad or f.severity != "info"], (
        report.findings
    )
    steps = {(s.target, s.revision): s.status for s in report.steps}
    assert steps == {
        **{("main.dump", r): "ok" for r in ("0004", "0005", "0006", "0007", "0008")},
        ("dev.dump", "0008"): "ok",
    }
    # dev's repair rewrote messages (the column moved to message_role)
    assert any("rewrote messages" in m for m in _checks(report, "dev.dump")["table-rewrite"])


@pytest.mark.reference_service
def test_without_the_repair_dev_is_replay_drift_naming_the_enum(
    tmp_path: Path, pg_admin_url: str
) -> None:
    ini = _copy(tmp_path, drop=("0008",))
    settings = load_settings(ini, pg_url=pg_admin_url)
    report = replay(settings, snapshots=[str(tmp_path / "snapshots" / "dev.dump")])
    (drift,) = [f for f in report.findings if f.check == "replay-drift"]
    assert drift.severity == "error" and drift.revision == "0007"
    assert "messages.role: type messagerole, expected message_role" in drift.details["diff"]
    assert "messages.role: type messagerole, expected message_role" in drift.message
    assert any(s.startswith("enum type messagerole") for s in drift.details["diff"])
    assert report.steps == []  # dev is at 0007, the head of this chain


@pytest.mark.reference_service
def test_post_mortem_001s_drop_and_recreate_on_main_is_data_loss(
    tmp_path: Path, pg_admin_url: str
) -> None:
    ini = _copy(tmp_path, drop=("0004", "0005", "0006", "0007", "0008"))
    (tmp_path / VERSIONS / "2025_02_10_0004_drop_and_recreate.py").write_text(DROP_AND_RECREATE)
    settings = load_settings(ini, pg_url=pg_admin_url)
    report = replay(settings, snapshots=[str(tmp_path / "snapshots" / "main.dump")])
    (loss,) = [f for f in report.findings if f.check == "data-loss"]
    assert loss.severity == "error" and loss.revision == "0004" and not report.ok
    tables = loss.details["tables"]
    assert set(tables) == {"conversations", "messages"}
    assert tables["conversations"]["before"] == 3000 and tables["conversations"]["after"] == 0
    assert tables["messages"]["before"] == 3000 and tables["messages"]["after"] == 0
    assert "conversations 3,000 → 0 rows (dropped and created again)" in loss.message
    assert "messages 3,000 → 0 rows (dropped and created again)" in loss.message
