"""Index elements' details (collation, order, NULLS) and what an index lost (pure)."""

from __future__ import annotations

import pytest

from migration_gate.snapshot.index_details import (
    IndexElement,
    collation_name,
    element_text,
    index_detail_losses,
    parse_element,
)
from migration_gate.snapshot.model import Index


@pytest.mark.parametrize(
    "element",
    [
        IndexElement("name"),
        IndexElement("name", "nocase"),
        IndexElement("lower(name)", "c", descending=True),
        IndexElement("score", descending=True, nulls="last"),
        IndexElement("coalesce(a, 'x collate y')", None, nulls="first"),
    ],
)
def test_element_text_reads_back(element: IndexElement) -> None:
    assert parse_element(element_text(element)) == element


def test_element_spelling_and_expressions() -> None:
    assert (
        element_text(IndexElement("a", "nocase", True, "last"))
        == "a COLLATE nocase DESC NULLS LAST"
    )
    assert not IndexElement("email").is_expression
    assert IndexElement("lower(email)").is_expression
    assert IndexElement("a || b").is_expression
    assert collation_name("NOCASE") == "nocase"
    assert collation_name("POSIX") == collation_name("C") == "c"
    assert collation_name("BINARY", default=frozenset({"binary"})) is None
    assert collation_name(None) is None


def _ix(*elements: str, unique: bool = False, where: str | None = None) -> Index:
    return Index("ix", elements, unique=unique, predicate=where)


def _losses(before: Index, after: Index | None) -> list[tuple[str, str | None, str | None, str]]:
    return [(x.detail, x.before, x.after, x.severity) for x in index_detail_losses(before, after)]


def test_order_only_is_a_warning() -> None:
    assert _losses(_ix("score DESC"), _ix("score")) == [("order", "score DESC", "score", "warning")]
    assert _losses(_ix("score DESC", unique=True), _ix("score", unique=True)) == [
        ("order", "score DESC", "score", "warning")
    ]
    assert _losses(_ix("a NULLS FIRST"), _ix("a")) == [("order", "a NULLS FIRST", "a", "warning")]


def test_collation_is_an_error_on_a_unique_index_only() -> None:
    assert _losses(_ix("name COLLATE nocase", "b", unique=True), _ix("name", "b", unique=True)) == [
        ("collation", "name COLLATE nocase", "name", "error")
    ]
    assert _losses(_ix("name COLLATE nocase DESC"), _ix("name")) == [
        ("collation", "name COLLATE nocase DESC", "name", "warning"),
        ("order", "name COLLATE nocase DESC", "name", "warning"),
    ]


def test_where_and_unique_change_meaning() -> None:
    assert _losses(_ix("email", where="deleted_at is null"), _ix("email")) == [
        ("predicate", "WHERE deleted_at is null", None, "error")
    ]
    assert _losses(_ix("email", unique=True), _ix("email")) == [("unique", "unique", None, "error")]


def test_an_expression_index_that_is_gone() -> None:
    assert _losses(_ix("lower(email)", unique=True), None) == [
        ("expression", "(lower(email))", None, "error")
    ]
    assert _losses(_ix("name", "lower(email)"), None) == [
        ("expression", "(name, lower(email))", None, "warning")
    ]
    assert _losses(_ix("lower(email)"), _ix("email")) == [
        ("expression", "lower(email)", "email", "warning")
    ]
    (loss,) = index_detail_losses(_ix("score DESC"), _ix("score"))
    assert loss.sentence() == "index ix lost its order: score DESC → score"


def test_a_column_index_that_is_gone_is_not_a_batch_loss() -> None:
    """A rebuild from reflection recreates every index of columns: one that is gone was
    dropped by the migration (mlflow drops a unique index by a name it reads at run time)."""
    assert _losses(_ix("secret_name", unique=True), None) == []
    assert _losses(_ix("score DESC", "name COLLATE nocase"), None) == []


def test_gains_and_equal_indexes_are_not_losses() -> None:
    assert _losses(_ix("score"), _ix("score DESC")) == []
    assert _losses(_ix("a", where="x"), _ix("a", where="x")) == []
    assert _losses(_ix("a"), _ix("a", unique=True)) == []
    assert _losses(_ix("a", "b"), _ix("c", "b")) == []  # another column: not a lost detail
