"""What the statements of a revision say about rows gone and values changed."""

from __future__ import annotations

from typing import Any

import pytest

from migration_gate.checks.probe.explain import parse, render, rows_cause, values_cause
from migration_gate.checks.probe.watch import Sent
from migration_gate.snapshot.model import Column, ForeignKey, Table


def sent(sql: str, parameters: Any = None, rowcount: int = -1) -> Sent:
    return Sent(sql, parameters, rowcount)


@pytest.mark.parametrize(
    ("sql", "verb", "table"),
    [
        ("DELETE FROM orders WHERE x = 1", "delete", "orders"),
        ('-- purge\ndelete from public."Order Items"', "delete", "Order Items"),
        ("UPDATE ONLY users SET a = 1", "update", "users"),
        ("DROP TABLE IF EXISTS [legacy]", "drop", "legacy"),
        ("CREATE TABLE IF NOT EXISTS orders (id int)", "create", "orders"),
        ("ALTER TABLE accounts DROP COLUMN plan", "drop column", "accounts"),
    ],
)
def test_statements_name_their_table(sql: str, verb: str, table: str) -> None:
    (p,) = parse([sent(sql)])
    assert (p.verb, p.table) == (verb, table)


def test_truncate_names_every_table_and_strings_split_into_statements() -> None:
    parsed = parse([sent("TRUNCATE TABLE a, public.b RESTART IDENTITY CASCADE")])
    assert [(p.verb, p.table) for p in parsed] == [("truncate", "a"), ("truncate", "b")]
    parsed = parse([sent("DELETE FROM a; DELETE FROM b")])
    assert [p.table for p in parsed] == ["a", "b"]


def test_a_delete_is_named_with_its_parameters_and_the_rows_it_deleted() -> None:
    parsed = parse(
        [
            sent("DELETE FROM orders WHERE status = ? AND total < ?", ("open", 5), rowcount=2),
            sent("DELETE FROM orders WHERE id = %(id)s", {"id": 7}, rowcount=1),
        ]
    )
    cause = rows_cause("orders", parsed, None)
    assert cause.kind == "delete" and cause.count == 3
    assert cause.text == (
        "deleted by DELETE FROM orders WHERE status = 'open' AND total < 5 (and 1 more statement)"
    )
    assert rows_cause("orders", parse([sent("DELETE FROM orders")]), None).count is None


def test_rows_gone_by_truncate_recreation_cascade_or_nothing_known() -> None:
    assert rows_cause("t", parse([sent("TRUNCATE t")]), None).kind == "truncate"
    recreated = parse([sent("DROP TABLE t"), sent("CREATE TABLE t (id int)")])
    assert rows_cause("t", recreated, None).kind == "recreated"
    # a SQLite batch rebuild drops the table and renames a copy: no recreation
    batch = parse([sent("CREATE TABLE _alembic_tmp_t (id int)"), sent("DROP TABLE t")])
    assert rows_cause("t", batch, None).kind == "unknown"
    child = Table(
        "items",
        (Column("order_id", "integer"),),
        foreign_keys=(ForeignKey(None, ("order_id",), "orders", ("id",), on_delete="CASCADE"),),
    )
    cascade = rows_cause("items", parse([sent("DELETE FROM orders WHERE id > 3")]), child)
    assert cascade.kind == "cascade" and "ON DELETE CASCADE from orders" in cascade.text
    assert rows_cause("items", parse([sent("UPDATE items SET a = 1")]), child).kind == "unknown"


def test_why_values_changed() -> None:
    table = Table("accounts", (Column("plan", "varchar(20)", default="'free'"),))
    dropped = parse([sent("ALTER TABLE accounts DROP COLUMN plan")])
    assert values_cause("accounts", "plan", None, dropped, table).kind == "column-recreated"
    update = parse([sent("UPDATE accounts SET plan = 'x' WHERE id < 3")])
    assert values_cause("accounts", "plan", None, update, table).text == (
        "overwritten by UPDATE accounts SET plan = 'x' WHERE id < 3"
    )
    other = parse([sent("UPDATE accounts SET name = 'x'")])
    assert values_cause("accounts", "plan", "'free'", other, table).kind == "default"
    assert values_cause("accounts", "plan", "NULL", [], table).kind == "null"
    assert values_cause("accounts", "plan", "'pro'", [], table).kind == "unknown"


def test_render_shortens_and_shows_executemany() -> None:
    long = "DELETE FROM t WHERE " + " OR ".join(f"id = {i}" for i in range(100))
    assert len(render(sent(long))) == 160 and render(sent(long)).endswith("…")
    many = sent("UPDATE t SET a = ? WHERE id = ?", [("x", 1), ("y", 2)])
    assert render(many) == "UPDATE t SET a = 'x' WHERE id = 1 (2 parameter sets)"
