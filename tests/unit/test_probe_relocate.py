"""Where probe values went: the same value whatever column type holds it, and rows gone from
one table found in another."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from migration_gate.checks.probe.norm import Row, normalize
from migration_gate.checks.probe.relocate import destinations, strong, token


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
    assert strong(normalize(900001)) and strong(normalize({"probe": 1}))
    assert not strong(normalize(1)) and not strong(normalize(True)) and not strong(normalize("ab"))


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
