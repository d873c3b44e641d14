"""What the data probe concludes from the rows before and after an upgrade (pure)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

import pytest

from migration_gate.checks.probe.compare import (
    Row,
    TableState,
    compare_table,
    find_rename,
    normalize,
)


def rows(**columns: Sequence[object]) -> tuple[Row, ...]:
    names = list(columns)
    count = len(columns[names[0]])
    return tuple({n: normalize(columns[n][i]) for n in names} for i in range(count))


FAM = {"id": "integer", "name": "string", "plan": "string"}
BEFORE = TableState(
    3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=["p1", "p2", "p3"]), ("id",)
)


def test_normalize_makes_equal_meanings_equal() -> None:
    assert normalize(Decimal("1.00")) == normalize(1) == normalize(Decimal("1"))
    assert normalize("ab   ") == normalize("ab")  # char(n) padding
    assert normalize({"b": 1, "a": [1]}) == normalize({"a": [1], "b": 1})
    u = uuid.uuid4()
    assert normalize(u) == ("uuid", u.hex)
    aware = dt.datetime(2001, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert normalize(aware) == ("datetimetz", "2001-01-01T10:00:00")
    assert normalize(True) != normalize(1)
    assert normalize(None) is None


def test_same_rows_same_values_is_quiet() -> None:
    after = TableState(3, FAM, rows(id=[3, 1, 2], name=["a3", "a1", "a2"], plan=["p3", "p1", "p2"]))
    outcome = compare_table("t", BEFORE, after)
    assert outcome.losses == ()
    assert len(outcome.rows) == 3


def test_a_dropped_table_with_rows_is_a_loss() -> None:
    (loss,) = compare_table("t", BEFORE, None).losses
    assert (loss.kind, loss.before) == ("dropped", 3)
    assert compare_table("t", TableState(0, FAM), None).losses == ()


def test_fewer_rows_is_a_loss() -> None:
    after = TableState(1, FAM, rows(id=[1], name=["a1"], plan=["p1"]))
    (loss,) = compare_table("t", BEFORE, after).losses
    assert (loss.kind, loss.before, loss.after) == ("rows", 3, 1)


def test_a_column_reset_to_its_default_is_a_loss() -> None:
    after = TableState(3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=["free"] * 3))
    (loss,) = compare_table("t", BEFORE, after).losses
    assert (loss.kind, loss.column, loss.before, loss.after) == ("values", "plan", 3, 3)
    assert loss.examples[0] == ("'p1'", "'free'")


def test_a_column_dropped_and_re_added_empty_is_a_loss() -> None:
    after = TableState(3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=[None] * 3))
    (loss,) = compare_table("t", BEFORE, after).losses
    assert loss.column == "plan" and loss.examples[0][1] == "NULL"


def test_an_integer_key_converted_to_uuid_keeps_its_rows_quietly() -> None:
    new_keys = [uuid.uuid4() for _ in range(3)]
    after = TableState(
        3,
        {**FAM, "id": "uuid"},
        rows(id=new_keys, name=["a1", "a2", "a3"], plan=["p1", "p2", "p3"]),
        ("id",),
    )
    outcome = compare_table("t", BEFORE, after)
    assert outcome.losses == ()
    # the probe follows its rows with their new keys
    assert {r["id"] for r in outcome.rows} == {normalize(k) for k in new_keys}


def test_a_conversion_that_changes_representation_is_not_compared() -> None:
    fam = {"id": "integer", "at": "datetime"}
    before = TableState(
        2, fam, rows(id=[1, 2], at=[dt.datetime(2001, 1, 1), dt.datetime(2001, 1, 2)]), ("id",)
    )
    shifted = [dt.datetime(2001, 1, 1, 5, tzinfo=dt.UTC), dt.datetime(2001, 1, 2, 5, tzinfo=dt.UTC)]
    after = TableState(2, fam, rows(id=[1, 2], at=shifted), ("id",))
    assert compare_table("t", before, after).losses == ()


def test_a_column_whose_family_changed_is_not_compared() -> None:
    after = TableState(
        3, {**FAM, "plan": "integer"}, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=[0, 0, 0])
    )
    assert compare_table("t", BEFORE, after).losses == ()


def test_enum_and_string_values_compare() -> None:
    before = TableState(
        1, {"id": "integer", "role": "string"}, rows(id=[1], role=["user"]), ("id",)
    )
    kept = TableState(1, {"id": "integer", "role": "enum"}, rows(id=[1], role=["user"]), ("id",))
    lost = TableState(
        1, {"id": "integer", "role": "enum"}, rows(id=[1], role=["assistant"]), ("id",)
    )
    assert compare_table("t", before, kept).losses == ()
    assert [x.column for x in compare_table("t", before, lost).losses] == ["role"]


def test_when_no_key_matches_values_are_checked_by_containment() -> None:
    before = TableState(2, {"a": "string", "b": "string"}, rows(a=["x", "x"], b=["y", "y"]))
    after = TableState(2, {"a": "string", "b": "string"}, rows(a=["x", "x"], b=["z", "z"]))
    assert [x.column for x in compare_table("t", before, after).losses] == ["b"]


def test_a_renamed_table_is_found_by_its_rows() -> None:
    renamed = TableState(
        3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=["p1", "p2", "p3"])
    )
    other = TableState(3, FAM, rows(id=[7, 8, 9], name=["b1", "b2", "b3"], plan=["q1", "q2", "q3"]))
    assert find_rename(BEFORE, {"accounts": renamed, "other": other}) == "accounts"
    assert find_rename(BEFORE, {"other": other}) is None
    assert find_rename(TableState(2, FAM), {"x": TableState(2, FAM)}) == "x"


# -- kinds of change (issue 13) --------------------------------------------------------------


def test_every_value_rewritten_one_to_one_with_every_row_kept_is_a_rewrite() -> None:
    hashed = ["9f86d081884c7d65", "60303ae22b998861", "fd61a03af4f77d87"]
    after = TableState(3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=hashed), ("id",))
    (change,) = compare_table("t", BEFORE, after).losses
    assert (change.kind, change.column, change.key) == ("rewritten", "plan", ("id",))
    assert change.examples[0] == ("'p1'", "'9f86d081884c7d65'")


@pytest.mark.parametrize(
    ("plans", "count"),
    [
        (["p1", "p2", "x"], 3),  # one value overwritten, the others kept
        (["free", "free", "free"], 3),  # many values made one
        (["x1", "x2", "x3"], 4),  # rewritten, but a row is gone as well (count fell)
    ],
)
def test_anything_short_of_a_full_one_to_one_rewrite_stays_a_loss(
    plans: list[str], count: int
) -> None:
    before = TableState(count, FAM, BEFORE.rows, ("id",))
    after = TableState(3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=plans), ("id",))
    kinds = [x.kind for x in compare_table("t", before, after).losses]
    assert "values" in kinds and "rewritten" not in kinds


def test_a_single_probe_value_rewritten_cannot_be_told_from_an_overwrite() -> None:
    before = TableState(1, FAM, rows(id=[1], name=["a"], plan=["p"]), ("id",))
    after = TableState(1, FAM, rows(id=[1], name=["a"], plan=["q"]), ("id",))
    assert [x.kind for x in compare_table("t", before, after).losses] == ["values"]


def test_values_shifted_between_columns_are_one_change_with_the_mapping() -> None:
    after = TableState(
        3, FAM, rows(id=[1, 2, 3], name=["p1", "p2", "p3"], plan=["a1", "a2", "a3"]), ("id",)
    )
    (change,) = compare_table("t", BEFORE, after).losses
    assert change.kind == "shifted"
    assert change.mapping == (("name", "plan"), ("plan", "name"))


def test_a_shift_into_a_column_of_another_type_is_still_seen() -> None:
    fam = {"id": "integer", "n": "integer", "s": "string"}
    before = TableState(2, fam, rows(id=[1, 2], n=[5, 6], s=["471001", "471002"]), ("id",))
    # SQLite stores what lands in an INTEGER column as an integer when it looks like one
    after = TableState(2, fam, rows(id=[1, 2], n=[471001, 471002], s=["5", "6"]), ("id",))
    (change,) = compare_table("t", before, after).losses
    assert change.kind == "shifted" and dict(change.mapping) == {"n": "s", "s": "n"}


def test_a_shift_that_moved_the_key_too_is_found_by_values() -> None:
    fam = {"id": "integer", "a": "string", "b": "string"}
    before = TableState(2, fam, rows(id=[900001, 900002], a=["x1", "x2"], b=["y1", "y2"]), ("id",))
    after = TableState(2, fam, rows(id=[900001, 900002], a=["y1", "y2"], b=["x1", "x2"]))
    rolled = TableState(2, fam, rows(id=["y1", "y2"], a=[900001, 900002], b=["x1", "x2"]))
    assert compare_table("t", before, after).losses[0].kind == "shifted"
    (change,) = compare_table("t", before, rolled).losses
    assert change.kind == "shifted" and ("id", "a") in change.mapping


def test_the_rows_no_longer_found_are_returned() -> None:
    after = TableState(1, FAM, rows(id=[2], name=["a2"], plan=["p2"]), ("id",))
    outcome = compare_table("t", BEFORE, after)
    assert [x.kind for x in outcome.losses] == ["rows"]
    assert [r["id"] for r in outcome.lost] == [normalize(1), normalize(3)]
    assert compare_table("t", BEFORE, None).lost == BEFORE.rows


def test_a_column_dropped_and_another_renamed_into_its_place_is_said_so() -> None:
    """airflow 29ce7909c52b: drop task_instance_id, rename try_id to task_instance_id: the
    values changed, but not in place (not hashed or recomputed): they are try_id's."""
    fam = {"id": "integer", "name": "string", "plan": "string", "code": "string"}
    before = TableState(
        3,
        fam,
        rows(
            id=[1, 2, 3], name=["a1", "a2", "a3"], plan=["p1", "p2", "p3"], code=["c1", "c2", "c3"]
        ),
        ("id",),
    )
    after = TableState(3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=["c1", "c2", "c3"]))
    (change,) = compare_table("t", before, after).losses
    assert (change.column, change.replaced_by) == ("plan", "code")
    from migration_gate.checks.probe.explain import Cause
    from migration_gate.checks.probe.messages import _what

    text = _what(change, Cause("unknown"))
    assert "code renamed into its place" in text and "hashed" not in text
    # a rewrite in place that matches no column that is gone stays a rewrite
    hashed = TableState(
        3, FAM, rows(id=[1, 2, 3], name=["a1", "a2", "a3"], plan=["h1", "h2", "h3"])
    )
    (rewrite,) = compare_table("t", before, hashed).losses
    assert rewrite.replaced_by is None
