"""Reading check constraints into per-column rules, from the normalized expressions both
dialects give (as `snapshot.capture` stores them)."""

from __future__ import annotations

import pytest

from migration_gate.checks.probe.constraints import Rules, read_rules
from migration_gate.snapshot.model import CheckConstraint, Column, Table


def rules(*expressions: str) -> Rules:
    table = Table(
        "t",
        (
            Column("a", "integer"),
            Column("Code", "varchar(20)"),
            Column("starts_at", "timestamp"),
            Column("ends_at", "timestamp"),
        ),
        check_constraints=tuple(CheckConstraint(None, e) for e in expressions),
    )
    return read_rules(table)


@pytest.mark.parametrize(
    "expression",
    ["a >= 5 and a < 100", "5 <= a and 100 > a", "(a >= 5) and (a < 100)"],
)
def test_bounds_from_comparisons_either_way_round(expression: str) -> None:
    rule = rules(expression).columns["a"]
    assert rule.lower == [(5, False)] and rule.upper == [(100, True)]


@pytest.mark.parametrize("expression", ["a between 1 and 50", "a >= 1 and a <= 50"])
def test_between_as_sqlite_keeps_it_and_as_postgresql_rewrites_it(expression: str) -> None:
    rule = rules(expression).columns["a"]
    assert rule.lower == [(1, False)] and rule.upper == [(50, False)]


def test_lengths_lists_equality_and_exclusions() -> None:
    r = rules("length(code) > 3", "char_length(code) <= 10", "a in (1, 2, -3)", "a <> 7", "a != 8")
    code, a = r.columns["Code"], r.columns["a"]  # expressions are lowercased, names are not
    assert (code.min_length, code.max_length) == (4, 10)
    assert a.allowed == (1, 2, -3) and a.not_equal == {7, 8}
    assert rules("length(code) = 8").columns["Code"].min_length == 8
    assert rules("code = 'x'").columns["Code"].equal == ["x"]


def test_an_order_between_two_columns() -> None:
    assert rules("ends_at > starts_at").less == (("starts_at", "ends_at", True),)
    assert rules("starts_at <= ends_at").less == (("starts_at", "ends_at", False),)


def test_dates_stay_literals() -> None:
    assert rules("starts_at > '2020-01-01'").columns["starts_at"].lower == [("2020-01-01", True)]


@pytest.mark.parametrize(
    "expression",
    [
        "a + a = 100",  # arithmetic
        "a > 0 or code is not null",  # a disjunction
        "code ~ '^[0-9]+$'",  # a pattern
        "not a = 3",
        "lower(code) = code",
        "other > 3",  # no such column
    ],
)
def test_what_it_cannot_read_it_leaves_to_the_database(expression: str) -> None:
    r = rules(expression)
    assert all(
        not (x.allowed or x.equal or x.not_equal or x.lower or x.upper) for x in r.columns.values()
    )
    assert r.less == ()


def test_an_aware_date_literal_reads_as_a_naive_utc_moment() -> None:
    from migration_gate.checks.probe.constraints import as_moment

    assert str(as_moment("2020-01-01 02:00:00+02")) == "2020-01-01 00:00:00"
    assert as_moment("soon") is None and as_moment(5) is None
