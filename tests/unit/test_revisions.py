"""Static reading of migration files: ids, parents, lines, empty downgrades, gate."""

from __future__ import annotations

from pathlib import Path

from migration_gate.chain.revisions import load_revisions, parse_revision_file

SOURCE = '''"""add users"""
from alembic import op

revision = "a2"
down_revision = ("a1", "b1")
depends_on = None
gate = {"irreversible": "data cannot come back"}


def upgrade():
    op.create_table("users")


def downgrade():
    """Nothing to do."""
    pass
'''


def test_parse_reads_ids_lines_gate_and_empty_downgrade(tmp_path: Path) -> None:
    path = tmp_path / "a2_add_users.py"
    path.write_text(SOURCE)
    info = parse_revision_file(path)
    assert info is not None
    assert info.revision == "a2"
    assert info.down_revisions == ("a1", "b1")
    assert info.upgrade_line == 10 and info.downgrade_line == 14
    assert info.downgrade_empty is True
    assert info.gate == {"irreversible": "data cannot come back"}
    assert info.doc == "add users"


def test_real_downgrade_is_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text(SOURCE.replace("    pass\n", "    op.drop_table('users')\n"))
    info = parse_revision_file(path)
    assert info is not None and info.downgrade_empty is False


def test_load_skips_non_revision_files(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "a2.py").write_text(SOURCE)
    assert [r.revision for r in load_revisions([tmp_path])] == ["a2"]
