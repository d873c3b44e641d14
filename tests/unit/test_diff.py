"""Unit tests of the snapshot model's canonical form and hash, and of the keyed diff that
turns two snapshots into sentences a person can act on."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from migration_gate.snapshot.diff import diff, split_renames
from migration_gate.snapshot.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Function,
    Index,
    SchemaSnapshot,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)

ROLES = ("user", "assistant")


def _messages(
    *,
    role_type: str = "message_role",
    role_default: str | None = "'user'",
    role_nullable: bool = False,
    check: str = "role in ('user', 'assistant')",
    indexes: tuple[Index, ...] = (Index("ix_messages_role", ("role",)),),
    reverse: bool = False,
) -> Table:
    columns = (
        Column("id", "bigint", nullable=False, identity="by default"),
        Column("conversation_id", "uuid", nullable=False),
        Column("role", role_type, nullable=role_nullable, default=role_default),
        Column("content", "text"),
    )
    fks = (
        ForeignKey(
            "fk_messages_conversation", ("conversation_id",), "conversations", ("id",), "CASCADE"
        ),
        ForeignKey(None, ("id",), "other", ("id",)),
    )
    checks = (CheckConstraint("ck_messages_role", check), CheckConstraint(None, "id > 0"))
    if reverse:
        columns, fks, checks, indexes = columns[::-1], fks[::-1], checks[::-1], indexes[::-1]
    return Table(
        "messages",
        columns,
        primary_key=("id",),
        foreign_keys=fks,
        unique_constraints=(UniqueConstraint("uq_messages_content", ("content",)),),
        check_constraints=checks,
        indexes=indexes,
    )


def _conversations() -> Table:
    return Table(
        "conversations",
        (
            Column("id", "uuid", nullable=False, default="gen_random_uuid()"),
            Column("title", "varchar(200)"),
        ),
        primary_key=("id",),
    )


def snapshot(
    *,
    messages: Table | None = None,
    enums: tuple[EnumType, ...] = (EnumType("message_role", ROLES),),
    reverse: bool = False,
) -> SchemaSnapshot:
    tables = (_conversations(), messages or _messages(reverse=reverse))
    return SchemaSnapshot(
        dialect="postgresql",
        tables=tables[::-1] if reverse else tables,
        enums=enums,
        sequences=(Sequence("counter_seq", start=10),),
        views=(View("v_users", "select id from conversations"),),
        functions=(Function("touch()", "trigger", "plpgsql", "BEGIN RETURN NEW; END;"),),
        triggers=(
            Trigger("trg_touch", "messages", "before update for each row execute function touch()"),
        ),
        extensions=("citext", "pg_trgm")[:: -1 if reverse else 1],
    )


# -- canonical form and hash ----------------------------------------------------------------


def test_canonical_json_is_stable_under_reordering() -> None:
    a, b = snapshot(), snapshot(reverse=True)
    assert a.tables[0].name != b.tables[0].name  # the orders really differ
    assert a.to_json() == b.to_json()
    assert a.sha256() == b.sha256()
    assert a == b
    assert hash(a) == hash(b)


def test_canonical_json_is_compact_and_sorted() -> None:
    text = snapshot().to_json()
    assert ": " not in text and ", " not in text.replace("', '", "")
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert list(data["tables"]) == ["conversations", "messages"]


@pytest.mark.parametrize(
    "changed",
    [
        snapshot(messages=_messages(role_type="messagerole")),
        snapshot(messages=_messages(role_nullable=True)),
        snapshot(messages=_messages(role_default=None)),
        snapshot(messages=_messages(check="role in ('user')")),
        snapshot(messages=_messages(indexes=(Index("ix_messages_role", ("role DESC",)),))),
        snapshot(
            messages=_messages(
                indexes=(Index("ix_messages_role", ("role",), predicate="role is not null"),)
            )
        ),
        snapshot(enums=(EnumType("message_role", ROLES[::-1]),)),
    ],
)
def test_hash_changes_when_meaning_changes(changed: SchemaSnapshot) -> None:
    base = snapshot()
    assert changed.sha256() != base.sha256()
    assert changed != base
    assert diff(base, changed)


def test_round_trip_through_the_canonical_form() -> None:
    original = snapshot()
    restored = SchemaSnapshot.from_dict(json.loads(original.to_json()))
    assert restored == original
    table = restored.table("messages")
    assert table is not None
    assert table.column("role") == Column("role", "message_role", nullable=False, default="'user'")


def test_without_tables_drops_the_table_and_its_triggers() -> None:
    smaller = snapshot().without_tables("messages")
    assert smaller.table_names == ("conversations",)
    assert smaller.triggers == ()


# -- diff sentences -------------------------------------------------------------------------


def test_same_schema_has_no_diff() -> None:
    d = diff(snapshot(), snapshot(reverse=True))
    assert not d
    assert d.sentences() == []


def test_enum_renamed_reads_as_type_change_plus_enum_types() -> None:
    after = snapshot(
        messages=_messages(role_type="messagerole"), enums=(EnumType("messagerole", ROLES),)
    )
    assert diff(snapshot(), after).sentences() == [
        "enum type message_role ('user', 'assistant') removed",
        "enum type messagerole ('user', 'assistant') added",
        "messages.role: type message_role → messagerole",
    ]


def test_index_added_and_removed() -> None:
    without = snapshot(messages=_messages(indexes=()))
    assert diff(snapshot(), without).sentences() == [
        "index ix_messages_role on messages (role) removed"
    ]
    assert diff(without, snapshot()).sentences(added="extra") == [
        "index ix_messages_role on messages (role) extra"
    ]


def test_column_property_changes() -> None:
    after = snapshot(messages=_messages(role_default="'assistant'", role_nullable=True))
    assert diff(snapshot(), after).sentences() == [
        "messages.role: default 'user' → 'assistant'",
        "messages.role: NOT NULL → NULL",
    ]


def test_check_constraint_changed() -> None:
    after = snapshot(messages=_messages(check="role in ('user')"))
    assert diff(snapshot(), after).sentences() == [
        "check constraint ck_messages_role on messages: "
        "expression role in ('user', 'assistant') → role in ('user')"
    ]


def test_left_over_enum_type() -> None:
    after = snapshot(enums=(EnumType("message_role", ROLES), EnumType("messagerole", ROLES)))
    assert diff(snapshot(), after).sentences(added="left behind") == [
        "enum type messagerole ('user', 'assistant') left behind"
    ]


def test_table_removed_and_ignored_tables() -> None:
    after = snapshot().without_tables("conversations")
    assert diff(snapshot(), after).sentences() == ["table conversations (2 columns) removed"]
    assert not diff(snapshot(), after, ignore_tables=("conversations",))


def test_diff_records_paths_and_values() -> None:
    after = snapshot(messages=_messages(role_type="messagerole"))
    (change,) = [c for c in diff(snapshot(), after) if c.kind == "changed"]
    assert change.path == ("tables", "messages", "columns", "role", "type")
    assert (change.before, change.after) == ("message_role", "messagerole")
    assert change.to_dict()["path"] == ["tables", "messages", "columns", "role", "type"]


def test_comments_are_in_the_canonical_form_and_read_as_sentences() -> None:
    plain = snapshot()
    assert plain.to_dict()["tables"]["conversations"]["comment"] is None
    assert plain.to_dict()["tables"]["conversations"]["columns"]["title"]["comment"] is None
    described = Table(
        "conversations",
        (
            Column("id", "uuid", nullable=False, default="gen_random_uuid()"),
            Column("title", "varchar(200)", comment="Shown in the list"),
        ),
        primary_key=("id",),
        comment="A user's chat",
    )
    after = SchemaSnapshot(
        dialect="postgresql",
        tables=(described, _messages()),
        enums=plain.enums,
        sequences=plain.sequences,
        views=plain.views,
        functions=plain.functions,
        triggers=plain.triggers,
        extensions=plain.extensions,
    )
    assert after.sha256() != plain.sha256()
    assert SchemaSnapshot.from_dict(after.to_dict()) == after
    assert diff(plain, after).sentences(added="left behind") == [
        "conversations.title: comment 'Shown in the list' left behind",
        "table conversations: comment 'A user''s chat' left behind",
    ]
    assert diff(after, plain).sentences() == [
        "conversations.title: comment 'Shown in the list' removed",
        "table conversations: comment 'A user''s chat' removed",
    ]


# -- a changed object says which part changed, with both values -----------------------------


def _replaced(**parts: Any) -> SchemaSnapshot:
    return replace(snapshot(), **parts)


def test_sequence_change_names_the_property_and_both_values() -> None:
    after = _replaced(sequences=(Sequence("counter_seq", data_type="integer", start=10),))
    assert diff(snapshot(), after).sentences() == ["sequence counter_seq: type bigint → integer"]
    after = _replaced(sequences=(Sequence("counter_seq", start=1, increment=5),))
    assert diff(snapshot(), after).sentences() == [
        "sequence counter_seq: start 10 → 1; increment 1 → 5"
    ]


def test_view_function_and_trigger_changes_say_what_part_changed() -> None:
    after = _replaced(
        views=(View("v_users", "select id, title from conversations", materialized=True),),
        functions=(Function("touch()", "trigger", "sql", "BEGIN RETURN NEW; END;"),),
        triggers=(
            Trigger("trg_touch", "messages", "after update for each row execute function touch()"),
        ),
    )
    assert diff(snapshot(), after).sentences() == [
        "function touch(): language plpgsql → sql",
        "trigger trg_touch on messages: definition before update for each row execute "
        "function touch() → after update for each row execute function touch()",
        "view v_users: definition select id from conversations → select id, title from "
        "conversations; materialized no → yes",
    ]


def test_a_long_body_is_shown_around_its_first_difference() -> None:
    body = "BEGIN " + "PERFORM 1; " * 20 + "NEW.updated_at := now(); RETURN NEW; END;"
    before = _replaced(functions=(Function("touch()", "trigger", "plpgsql", body),))
    after = _replaced(
        functions=(Function("touch()", "trigger", "plpgsql", body.replace("NEW;", "OLD;")),)
    )
    (sentence,) = diff(before, after).sentences()
    assert sentence.startswith("function touch(): body …")
    left, right = sentence.removeprefix("function touch(): body ").split(" → ")
    assert "RETURN NEW" in left and "RETURN OLD" in right
    assert len(left) < 70 and len(right) < 70


def test_index_and_foreign_key_changes_name_the_property() -> None:
    desc = _messages(indexes=(Index("ix_messages_role", ("role DESC",), unique=True),))
    assert diff(snapshot(), snapshot(messages=desc)).sentences() == [
        "index ix_messages_role on messages: elements (role) → (role DESC); unique no → yes"
    ]
    table = _messages()
    moved = Table(
        table.name,
        table.columns,
        primary_key=table.primary_key,
        foreign_keys=(
            ForeignKey(
                "fk_messages_conversation", ("conversation_id",), "chats", ("uid",), "SET NULL"
            ),
            table.foreign_keys[1],
        ),
        unique_constraints=table.unique_constraints,
        check_constraints=table.check_constraints,
        indexes=table.indexes,
    )
    assert diff(snapshot(), snapshot(messages=moved)).sentences() == [
        "foreign key fk_messages_conversation on messages: ON DELETE CASCADE → SET NULL; "
        "references conversations(id) → chats(uid)"
    ]


def test_extensions_added_and_removed_one_by_one() -> None:
    after = _replaced(extensions=("citext", "postgis"))
    assert diff(snapshot(), after).sentences(added="left behind", removed="missing") == [
        "extension postgis left behind; extension pg_trgm missing"
    ]


# -- constraints that come back under another name -----------------------------------------


def _with(**parts: Any) -> SchemaSnapshot:
    return snapshot(messages=replace(_messages(), **parts))


def test_a_constraint_back_under_another_name_is_a_rename_not_a_change() -> None:
    before = _with()
    after = _with(
        unique_constraints=(UniqueConstraint(None, ("content",)),),  # was uq_messages_content
        indexes=(Index("ix_role", ("role",)),),  # was ix_messages_role
    )
    changes = diff(before, after)
    assert len(changes) == 4
    renames, rest = split_renames(changes)
    assert not rest
    assert sorted((r.part, r.before, r.after) for r in renames) == [
        ("indexes", "ix_messages_role", "ix_role"),
        ("unique_constraints", "uq_messages_content", None),
    ]
    assert sorted(r.sentence() for r in renames) == [
        "index ix_messages_role on messages (role) comes back as ix_role",
        "unique constraint uq_messages_content on messages (content) comes back unnamed",
    ]
    back = split_renames(diff(after, before))[0]
    assert sorted(r.sentence() for r in back) == [
        "index ix_role on messages (role) comes back as ix_messages_role",
        "unnamed unique constraint on messages (content) comes back as uq_messages_content",
    ]


def test_a_different_definition_is_not_a_rename() -> None:
    before = _with()
    after = _with(indexes=(Index("ix_role", ("role DESC",)),))
    renames, rest = split_renames(diff(before, after))
    assert renames == ()
    assert rest.sentences() == [
        "index ix_messages_role on messages (role) removed",
        "index ix_role on messages (role DESC) added",
    ]


def test_each_removed_constraint_pairs_once() -> None:
    fk = _messages().foreign_keys[0]
    twin = ForeignKey("fk_a", fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete)
    other = ForeignKey("fk_b", fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete)
    renames, rest = split_renames(
        diff(_with(foreign_keys=(fk,)), _with(foreign_keys=(twin, other)))
    )
    assert [(r.before, r.after) for r in renames] == [("fk_messages_conversation", "fk_a")]
    assert rest.sentences() == [
        "foreign key fk_b on messages (conversation_id) -> conversations(id) ON DELETE CASCADE added"
    ]
