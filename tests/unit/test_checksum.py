"""The ast-v1 checksum of migration sources, and the lock file format and comparison (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate.chain.checksum import (
    ALGORITHM,
    canonical_tree,
    first_change_line,
    source_checksum,
    split_checksum,
)
from migration_gate.errors import ConfigError
from migration_gate.lock.lockfile import Current, LockEntry, LockFile, compare, parse_lock

SOURCE = '''"""add users.nickname

Revision ID: a2
Revises: a1
"""
import sqlalchemy as sa
from alembic import op

revision = "a2"
down_revision = "a1"


def upgrade():
    op.add_column("users", sa.Column("nickname", sa.String(100), nullable=True))
    op.execute("UPDATE users SET nickname = email")


def downgrade():
    op.drop_column("users", "nickname")
'''

#: the same migration, rewritten by hand: comments, docstrings, quotes, wrapping, blank lines
SAME_MEANING = '''# -*- coding: utf-8 -*-
"""Add a nickname to users (reworded docstring)."""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a2'
down_revision = ('a1')


def upgrade():
    """Add the column, then fill it."""
    op.add_column(
        'users',
        sa.Column('nickname', sa.String(100), nullable=True),  # shown in the UI
    )

    op.execute("UPDATE users SET nickname = email")  # every row


def downgrade():
  op.drop_column(
      "users",
      "nickname",
  )
'''


def test_checksum_names_its_algorithm() -> None:
    value = source_checksum(SOURCE)
    assert value.startswith(f"{ALGORITHM}:") and ALGORITHM == "ast-v1"
    algorithm, digest = split_checksum(value)
    assert algorithm == "ast-v1" and len(digest) == 64
    assert split_checksum("deadbeef") == ("", "deadbeef")


GOLDEN = '''"""doc"""
from alembic import op
revision = "a1"
def upgrade() -> None:
    op.execute(f"SELECT {1}")  # c
    op.create_table("t", *[], x=1.5, y=None, z=...)
'''


def test_golden_value_is_the_same_on_every_os_and_python() -> None:
    # Pinned: when this changes, every committed lock file breaks. Name a new algorithm instead.
    assert canonical_tree("x = 1  # one\n") == (
        "Module(body=[Assign(targets=[Name(id=str:'x';ctx=Store();),];"
        "value=Constant(value=int:1;);),];)"
    )
    assert source_checksum(GOLDEN) == (
        "ast-v1:928ec75854d835d6471b25024fc3cd3b15d58776fe58e0543b2f37f5f63ff1fb"
    )


def test_comments_docstrings_and_formatting_do_not_count() -> None:
    assert source_checksum(SAME_MEANING) == source_checksum(SOURCE)


def test_newlines_and_encodings_do_not_count() -> None:
    crlf = SOURCE.replace("\n", "\r\n").encode("utf-8")
    bom = b"\xef\xbb\xbf" + SOURCE.encode("utf-8")
    latin = ("# -*- coding: latin-1 -*-\n" + SOURCE.replace("email", "'émail'")).encode("latin-1")
    utf8 = ("# -*- coding: utf-8 -*-\n" + SOURCE.replace("email", "'émail'")).encode("utf-8")
    assert source_checksum(crlf) == source_checksum(bom) == source_checksum(SOURCE)
    assert source_checksum(latin) == source_checksum(utf8)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("sa.String(100)", "sa.String(50)"),  # an argument
        ("nullable=True", "nullable=False"),  # a keyword value
        ("SET nickname = email", "SET nickname = name"),  # the SQL a migration runs
        ('op.add_column("users"', 'op.add_column("accounts"'),  # the table
        ('down_revision = "a1"', 'down_revision = "a0"'),  # the parent
    ],
)
def test_a_changed_operation_changes_the_checksum(old: str, new: str) -> None:
    assert old in SOURCE
    assert source_checksum(SOURCE.replace(old, new)) != source_checksum(SOURCE)


def test_reordered_operations_change_the_checksum() -> None:
    a = 'op.add_column("users", sa.Column("nickname", sa.String(100), nullable=True))'
    b = 'op.execute("UPDATE users SET nickname = email")'
    swapped = SOURCE.replace(a, "@@").replace(b, a).replace("@@", b)
    assert source_checksum(swapped) != source_checksum(SOURCE)


def test_checksum_of_a_path_reads_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a2.py"
    path.write_bytes(SOURCE.replace("\n", "\r\n").encode())
    assert source_checksum(path) == source_checksum(SOURCE)


def test_invalid_python_raises() -> None:
    with pytest.raises(SyntaxError):
        source_checksum("def upgrade(:\n")


def test_first_change_line_points_into_the_function() -> None:
    edited = SOURCE.replace("SET nickname = email", "SET nickname = name")
    assert first_change_line(SOURCE, edited) == 15
    assert first_change_line(SOURCE, SAME_MEANING) is None
    added = SOURCE.replace("def downgrade():", "X = 1\n\n\ndef downgrade():")
    assert first_change_line(SOURCE, added) == 18


# -- the lock file ---------------------------------------------------------------------------

LOCK = LockFile(
    entries=(
        LockEntry(
            "a1",
            (),
            "migrations/versions/a1.py",
            "ast-v1:" + "1" * 64,
            {"sqlite": "sha256:" + "a" * 64, "postgresql": "sha256:" + "b" * 64},
        ),
        LockEntry("a2", ("a1",), "migrations/versions/a2.py", "ast-v1:" + "2" * 64),
    ),
    heads=("a2",),
)


def test_lock_renders_reviewable_text_and_reads_back() -> None:
    text = LOCK.render()
    assert "\nrevision: a1\nparents: -\nfile: migrations/versions/a1.py\n" in text
    assert "schema.postgresql: sha256:" in text and text.index("schema.postgresql") < text.index(
        "schema.sqlite"
    )
    assert text.endswith("\nhead: a2\n")
    assert "add a new migration" in text
    assert parse_lock(text) == LOCK


def test_lock_with_conflict_markers_is_a_config_error() -> None:
    text = LOCK.render().replace(
        "head: a2\n", "<<<<<<< HEAD\nhead: a3\n=======\nhead: b3\n>>>>>>> b\n"
    )
    with pytest.raises(ConfigError, match="conflict markers") as info:
        parse_lock(text)
    assert info.value.hint and "rebase" in info.value.hint


@pytest.mark.parametrize(
    "text",
    [
        "lock-version: 9\n",
        "revision: a1\nparents: -\n",
        "nonsense\n",
        "revision: a1\ncolour: red\n",
    ],
)
def test_malformed_lock_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_lock(text)


def _current(a2: str = "ast-v1:" + "2" * 64, *extra: Current) -> list[Current]:
    return [
        Current("a1", "migrations/versions/a1.py", "ast-v1:" + "1" * 64),
        Current("a2", "migrations/versions/a2.py", a2, line=14),
        *extra,
    ]


def test_compare_matching_lock_finds_nothing() -> None:
    assert compare(_current(), LOCK) == []


def test_compare_reports_an_unlocked_revision() -> None:
    found = compare(
        _current("ast-v1:" + "2" * 64, Current("a3", "migrations/versions/a3.py", "x")), LOCK
    )
    assert [(f.check, f.revision, f.severity) for f in found] == [
        ("unlocked-migration", "a3", "error")
    ]
    assert "migration-gate lock" in found[0].details["hint"]


def test_compare_reports_an_edited_revision_and_says_to_add_a_new_migration() -> None:
    found = compare(
        _current("ast-v1:" + "9" * 64), LOCK, lock_path="migrations/migration-gate.lock"
    )
    assert [(f.check, f.revision, f.line) for f in found] == [("edited-migration", "a2", 14)]
    assert "add a new migration instead" in found[0].details["hint"]
    assert "migrations/migration-gate.lock" in found[0].message


def test_compare_with_the_base_lock_refuses_a_relocked_released_revision() -> None:
    relocked = LockFile(
        (
            LOCK.entries[0],
            LockEntry("a2", ("a1",), "migrations/versions/a2.py", "ast-v1:" + "9" * 64),
        ),
        ("a2",),
    )
    assert compare(_current("ast-v1:" + "9" * 64), relocked) == []
    found = compare(_current("ast-v1:" + "9" * 64), relocked, base=LOCK, base_ref="main")
    assert [(f.check, f.revision) for f in found] == [("edited-migration", "a2")]
    assert "released on main" in found[0].message
    assert "add a new migration instead" in found[0].details["hint"]


def test_compare_reports_a_removed_revision() -> None:
    found = compare(_current()[:1], LOCK)
    assert [(f.check, f.revision) for f in found] == [("edited-migration", "a2")]
    assert "no migration file declares it" in found[0].message


def test_docstrings_of_nested_definitions_do_not_count() -> None:
    """Wherever a def or class is (in a class, an if, a try's handler, a with, a match case),
    its docstring is dropped; a string statement that is not a docstring counts."""
    body = """
class A:
    {doc}
    def f(self):
        {doc}
        return 1
if X:
    def g():
        {doc}
        pass
try:
    pass
except ValueError:
    def h():
        {doc}
        pass
finally:
    with ctx():
        class B:
            {doc}
match v:
    case 1:
        def k():
            {doc}
            pass
"""
    with_docs = body.format(doc='"""a docstring"""')
    other_docs = body.format(doc="'another docstring, of several words'")
    assert source_checksum(with_docs) == source_checksum(other_docs)
    moved = with_docs.replace("        return 1", '        "not a docstring"\n        return 1')
    assert source_checksum(moved) != source_checksum(with_docs)
