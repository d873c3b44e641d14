"""Where probe values went: the same value whatever column type holds it, and rows gone from
one table found in another."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from migration_gate.checks.probe.evidence import own_columns
from migration_gate.checks.probe.norm import Row, normalize
from migration_gate.checks.probe.relocate import destinations, gained, strong, token
from migration_gate.snapshot.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    SchemaSnapshot,
    Table,
)


def row(**values: object) -> Row:
    return {k: normalize(v) for k, v in values.items()}


def test_a_value_has_one_token_whatever_stores_it() -> None:
    u = uuid.uuid4()
    assert token(normalize(u)) == token(normalize(u.hex)) == token(normalize(str(u)))
    assert token(normalize(5)) == token(normalize("5")) == token(normalize(Decimal("5.00")))
    stamp = dt.datetime(2001, 2, 4, 4, 5, 6)
    assert token(normalize(stamp)) == token(normalize("2001-02-04 04:05:06.000000"))
    assert token(None) is None


def test_only_distinctive_values_say_where_a_row_came_from() -> None:
    assert strong(normalize("471001")) and strong(normalize(uuid.uuid4()))
    assert strong(normalize(900001)) and strong(normalize({"probe": "t.doc.1"}))
    assert strong(normalize(b"probe:t.blob.1")) and strong(normalize("p471001@example.com"))
    assert not strong(normalize(1)) and not strong(normalize(True)) and not strong(normalize("ab"))
    # untagged: the probe's short text, and what every probe row holds whatever its table
    # (one moment, stored as text on SQLite; PostgreSQL's empty arrays)
    assert not strong(normalize("1001")) and not strong(normalize("[]"))
    for moment in ("2001-02-04 04:05:06.000000", "2001-02-04", "04:05:06.000000"):
        assert not strong(normalize(moment)), moment
    assert not strong(normalize([])) and not strong(normalize({}))


def test_rows_found_in_the_tables_that_gained_rows_are_moved() -> None:
    lost = [
        row(id=900001, email="p471001@example.com"),
        row(id=900002, email="p471002@example.com"),
    ]
    users = [
        row(id=1, email="p471001@example.com", is_admin=True),
        row(id=2, email="p471002@example.com", is_admin=True),
    ]
    assert destinations(lost, {"users": users, "other": [row(id=5)]}) == {"users": 2}
    # split across two tables
    assert destinations(lost, {"a": users[:1], "b": users[1:]}) == {"a": 1, "b": 1}


def test_one_row_found_nowhere_means_the_rows_are_not_moved() -> None:
    lost = [row(id=900001, name="471001"), row(id=900002, name="471002")]
    assert destinations(lost, {"archive": [row(id=900001, name="471001")]}) is None
    assert destinations([], {"archive": []}) is None
    # shared small values (flags, counters) are no evidence
    weak = [row(flag=True, n=1)]
    assert destinations(weak, {"x": [row(flag=True, n=1)]}) is None


def test_values_a_migration_may_write_do_not_break_it() -> None:
    assert not strong(normalize(float("nan"))) and not strong(normalize(float("inf")))
    assert token(normalize(float("nan"))) == "NaN"


def test_only_rows_a_table_gained_are_looked_at() -> None:
    """prefect 4160a4841eed: the dropped policies matched the probe's own earlier automation
    rows, not the rows the migration wrote. The rows a table had are no destination."""
    own = [row(id=900001, trigger={"probe": 1}), row(id=900002, trigger={"probe": 2})]
    seed = row(id=1, trigger={"after": []})
    now = [*own, seed]
    assert gained(now, own) == [seed]
    # a probe row the upgrade changed in place is known by how it was followed
    followed = [row(id=900001, trigger={"probe": 9}), own[1]]
    assert gained([*followed, seed], [*own, *followed]) == [seed]
    assert gained(now, []) == now
    lost = [row(id=900101, tags={"probe": 1}), row(id=900102, tags={"probe": 2})]
    assert destinations(lost, {"automation": now}) == {"automation": 2}  # the coincidence
    assert destinations(lost, {"automation": gained(now, own)}) is None


def test_references_and_labels_are_not_a_rows_own_values() -> None:
    """Every table that points at the same parent holds its keys, and every table with a
    status enum holds its first label: neither says where a row came from."""
    posts = Table("posts", (Column("id", "integer", nullable=False),), primary_key=("id",))
    comments = Table(
        "comments",
        (
            Column("id", "integer", nullable=False),
            Column("post_id", "integer", nullable=False),
            Column("author_id", "integer"),
            Column("body", "text"),
            Column("status", "status"),
            Column("kind", "varchar(10)"),
            Column("origin", "varchar(10)"),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("post_id",), "posts", ("id",)),),
        check_constraints=(
            CheckConstraint(None, "kind IN ('note', 'reply')"),
            CheckConstraint(None, "origin = 'web'"),
        ),
    )
    authors = Table("authors", (Column("id", "integer", nullable=False),), primary_key=("id",))
    s = SchemaSnapshot(
        dialect="postgresql",
        tables=(authors, comments, posts),
        enums=(EnumType("status", ("open", "closed")),),
    )
    assert own_columns(comments, s) == {"id", "body"}


def test_a_row_turned_into_a_document_of_another_table_is_found_in_it() -> None:
    """prefect 4160a4841eed turns each notification policy into an automation whose actions
    document holds the policy's message template: the row's own value is there."""
    lost = [row(id=900101, message="471001"), row(id=900102, message="471002")]
    automations = [
        row(id=1, actions=[{"type": "send-notification", "body": "471001"}]),  # PostgreSQL
        row(id=2, actions='[{"type": "send-notification", "body": "471002"}]'),  # SQLite text
    ]
    assert destinations(lost, {"automation": automations}) == {"automation": 2}
    # what a document holds that no probe row made says nothing: text, flags, small numbers
    seeded = [row(id=3, actions={"body": "hello world", "n": 1, "ok": True, "x": None})]
    assert destinations(lost, {"automation": seeded}) is None
    assert destinations(lost, {"automation": [row(id=4, note="[not json")]}) is None
