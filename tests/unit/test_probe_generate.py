"""The data probe's row planning: values valid for each column, from the snapshot alone."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from migration_gate.checks.probe import fill
from migration_gate.checks.probe.generate import Plan, Skip, fill_order, in_list_values, plan_rows
from migration_gate.snapshot.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    SchemaSnapshot,
    Table,
    UniqueConstraint,
)


def snap(dialect: str, *tables: Table, enums: tuple[EnumType, ...] = ()) -> SchemaSnapshot:
    return SchemaSnapshot(dialect=dialect, tables=tables, enums=enums)


USERS_PG = Table(
    "users",
    (
        Column("id", "uuid", nullable=False),
        Column("email", "varchar(320)", nullable=False),
        Column("created_at", "timestamptz", nullable=False, default="now()"),
    ),
    primary_key=("id",),
    unique_constraints=(UniqueConstraint("uq", ("email",)),),
)


def plan(
    table: Table,
    s: SchemaSnapshot,
    parents: Mapping[str, Sequence[Mapping[str, object]]] | None = None,
) -> Plan:
    got = plan_rows(table, s, parents or {})
    assert isinstance(got, Plan), got
    return got


def test_values_follow_the_type_on_postgresql() -> None:
    table = Table(
        "t",
        (
            Column("id", "integer", nullable=False, identity="by default"),
            Column("u", "uuid"),
            Column("name", "varchar(5)"),
            Column("body", "text"),
            Column("flag", "boolean"),
            Column("at", "timestamp"),
            Column("at_tz", "timestamptz"),
            Column("day", "date"),
            Column("amount", "numeric(10,2)"),
            Column("ratio", "double precision"),
            Column("doc", "jsonb"),
            Column("blob", "bytea"),
            Column("tags", "text[]"),
        ),
        primary_key=("id",),
    )
    rows = plan(table, snap("postgresql", table)).as_dicts()
    assert len(rows) == 3
    first = rows[0]
    assert first["id"] > 1000  # keys stay clear of ids a later seed migration may insert
    assert isinstance(first["u"], uuid.UUID)
    assert len(first["name"]) <= 5 and first["name"] == first["name"].lower()
    assert first["flag"] is True and rows[1]["flag"] is False
    assert first["at"].tzinfo is None and first["at_tz"].tzinfo is dt.UTC
    assert isinstance(first["day"], dt.date) and isinstance(first["amount"], Decimal)
    assert first["doc"] == '{"probe": "t.doc.1"}' and first["tags"] == "{}"
    for column in ("id", "u", "name", "body", "at", "day", "amount", "ratio", "doc", "blob"):
        assert len({r[column] for r in rows}) == 3, column  # a later unique constraint holds


def test_sqlite_gets_the_storage_form() -> None:
    table = Table(
        "t",
        (
            Column("id", "char(32)", nullable=False),
            Column("at", "datetime"),
            Column("flag", "boolean"),
            Column("amount", "numeric(10,2)"),
        ),
        primary_key=("id",),
    )
    first = plan(table, snap("sqlite", table)).as_dicts()[0]
    assert isinstance(first["id"], str) and len(first["id"]) == 32  # sa.Uuid on SQLite: hex
    int(first["id"], 16)
    assert first["at"] == "2001-02-04 04:05:06.000000"
    assert first["flag"] == 1 and first["amount"] == 1


def test_identity_always_and_generated_columns_are_left_to_the_database() -> None:
    table = Table(
        "t",
        (
            Column("id", "bigint", nullable=False, identity="always"),
            Column("total", "integer", generated="a + b"),
            Column("a", "integer"),
        ),
        primary_key=("id",),
    )
    assert plan(table, snap("postgresql", table)).columns == ("a",)


def test_check_in_list_and_enum_labels_use_the_first_value() -> None:
    table = Table(
        "messages",
        (Column("role", "varchar(20)", nullable=False), Column("mood", "mood", nullable=False)),
        check_constraints=(CheckConstraint("ck", "role in ('user', 'assistant')"),),
    )
    s = snap("postgresql", table, enums=(EnumType("mood", ("happy", "sad")),))
    assert in_list_values(table) == {"role": ("user", "assistant")}
    rows = plan(table, s).as_dicts()
    assert {r["role"] for r in rows} == {"user"} and {r["mood"] for r in rows} == {"happy"}


def test_a_unique_column_with_few_values_cycles_them_and_caps_the_rows() -> None:
    table = Table(
        "t",
        (Column("kind", "varchar(1)", nullable=False),),
        check_constraints=(CheckConstraint(None, "kind in ('a', 'b')"),),
        unique_constraints=(UniqueConstraint("uq_kind", ("kind",)),),
    )
    got = plan(table, snap("sqlite", table))
    assert [r["kind"] for r in got.as_dicts()] == ["a", "b"]


def test_foreign_keys_copy_the_parents_values() -> None:
    child = Table(
        "accounts",
        (Column("id", "uuid", nullable=False), Column("owner_id", "uuid", nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk", ("owner_id",), "users", ("id",)),),
    )
    parents = [{"id": uuid.uuid4(), "email": f"{i}@x"} for i in range(3)]
    rows = plan(child, snap("postgresql", USERS_PG, child), {"users": parents}).as_dicts()
    assert [r["owner_id"] for r in rows] == [p["id"] for p in parents]


def test_a_one_to_one_key_takes_no_more_rows_than_the_parent_has() -> None:
    child = Table(
        "profiles",
        (Column("user_id", "uuid", nullable=False),),
        foreign_keys=(ForeignKey("fk", ("user_id",), "users", ("id",)),),
        indexes=(Index("ux", ("user_id",), unique=True),),
    )
    parents = [{"id": uuid.uuid4()}, {"id": uuid.uuid4()}]
    assert len(plan(child, snap("postgresql", USERS_PG, child), {"users": parents}).rows) == 2


def test_tables_it_cannot_fill_are_skipped_with_the_reason() -> None:
    orphan = Table(
        "c",
        (Column("user_id", "uuid", nullable=False),),
        foreign_keys=(ForeignKey("fk", ("user_id",), "users", ("id",)),),
    )
    got = plan_rows(orphan, snap("postgresql", USERS_PG, orphan), {"users": []})
    assert isinstance(got, Skip) and "users, which has no rows" in got.reason
    exotic = Table("g", (Column("shape", "geometry", nullable=False),))
    got = plan_rows(exotic, snap("postgresql", exotic), {})
    assert isinstance(got, Skip) and "geometry" in got.reason
    # the same type, nullable or with a default, is simply left out
    ok = Table("g", (Column("shape", "geometry"), Column("n", "integer")))
    assert plan(ok, snap("postgresql", ok)).columns == ("n",)


def test_self_references_point_at_the_tables_own_probe_rows() -> None:
    # a tree: the first row is a root, every later row's parent is the row before it
    tree = Table(
        "nodes",
        (Column("id", "integer", nullable=False), Column("parent_id", "integer")),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk", ("parent_id",), "nodes", ("id",)),),
    )
    rows = plan(tree, snap("sqlite", tree)).as_dicts()
    assert [r["parent_id"] for r in rows] == [None, rows[0]["id"], rows[1]["id"]]
    # NOT NULL: the first row points at itself (a later NOT NULL rule finds no orphan)
    strict = Table(
        "nodes",
        (Column("id", "integer", nullable=False), Column("parent_id", "integer", nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk", ("parent_id",), "nodes", ("id",)),),
    )
    rows = plan(strict, snap("postgresql", strict)).as_dicts()
    assert [r["parent_id"] for r in rows] == [rows[0]["id"], rows[0]["id"], rows[1]["id"]]


def test_fill_order_puts_parents_first_and_survives_cycles() -> None:
    a = Table(
        "a",
        (Column("id", "integer"), Column("b_id", "integer")),
        foreign_keys=(ForeignKey(None, ("b_id",), "b", ("id",)),),
    )
    b = Table(
        "b",
        (Column("id", "integer"), Column("a_id", "integer")),
        foreign_keys=(ForeignKey(None, ("a_id",), "a", ("id",)),),
    )
    accounts = Table(
        "accounts",
        (Column("owner_id", "uuid"),),
        foreign_keys=(ForeignKey(None, ("owner_id",), "users", ("id",)),),
    )
    order = fill_order(snap("postgresql", accounts, a, b, USERS_PG))
    assert order.index("users") < order.index("accounts")
    assert sorted(order) == ["a", "accounts", "b", "users"]


def test_a_reference_without_foreign_key_takes_the_likely_parents_keys() -> None:
    # a later migration may add the foreign key: the values must already be consistent
    posts = Table(
        "posts",
        (
            Column("id", "integer", nullable=False),
            Column("user_id", "uuid", nullable=False),
            Column("category_id", "integer"),
        ),
        primary_key=("id",),
    )
    categories = Table(
        "categories", (Column("id", "integer", nullable=False),), primary_key=("id",)
    )
    s = snap("postgresql", USERS_PG, categories, posts)
    assert fill_order(s).index("users") < fill_order(s).index("posts")
    keys = [uuid.uuid4() for _ in range(3)]
    rows = plan(posts, s, {"users": [{"id": k} for k in keys], "categories": []}).as_dicts()
    assert [r["user_id"] for r in rows] == keys
    assert {r["category_id"] for r in rows} == {None}  # nullable, and its parent is empty


def test_text_that_looks_like_uuid_storage_gets_uuid_text() -> None:
    table = Table(
        "t",
        (
            Column("ref", "varchar(36)", nullable=False),
            Column("token", "char(32)", nullable=False),
            Column("external_id", "text", nullable=False),
            Column("code", "varchar(2)", nullable=False),
        ),
    )
    first = plan(table, snap("postgresql", table)).as_dicts()[0]
    assert str(uuid.UUID(first["ref"])) == first["ref"]
    assert uuid.UUID(hex=first["token"]).hex == first["token"]
    uuid.UUID(first["external_id"])
    assert first["code"] == "1"


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("qmark", ["?", "?", "?"]),  # pysqlite
        ("pyformat", ["%s", "%s", "%s"]),  # psycopg, psycopg2
        ("format", ["%s", "%s", "%s"]),  # pg8000
        ("numeric", [":1", ":2", ":3"]),
        ("numeric_dollar", ["$1", "$2", "$3"]),
    ],
)
def test_the_probe_insert_speaks_each_paramstyle(style: str, expected: list[str]) -> None:
    assert fill.marks(style, 3) == expected


# -- rows valid for the schema (issue 13) ---------------------------------------------------


ORGS = Table("orgs", (Column("id", "integer", nullable=False),), primary_key=("id",))
TEAMS = Table(
    "teams",
    (Column("org_id", "integer", nullable=False), Column("id", "integer", nullable=False)),
    primary_key=("org_id", "id"),
)


def test_a_nullable_foreign_key_resolves_too() -> None:
    child = Table(
        "accounts",
        (Column("id", "uuid", nullable=False), Column("owner_id", "uuid")),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk", ("owner_id",), "users", ("id",)),),
    )
    parents = [{"id": uuid.uuid4()} for _ in range(3)]
    rows = plan(child, snap("postgresql", USERS_PG, child), {"users": parents}).as_dicts()
    assert [r["owner_id"] for r in rows] == [p["id"] for p in parents]


def test_two_foreign_keys_to_one_table_point_at_different_rows_of_it() -> None:
    """A link table (parent, reference) with both keys to one table: each probe row names
    two different rows, so a later `CHECK (parent_id <> reference_id)`, or the DELETE of
    the self-links that precedes it, finds valid rows (prefect's block_document_reference)."""
    links = Table(
        "links",
        (
            Column("id", "uuid", nullable=False),
            Column("parent_id", "uuid", nullable=False),
            Column("reference_id", "uuid", nullable=False),
        ),
        primary_key=("id",),
        foreign_keys=(
            ForeignKey("fk_parent", ("parent_id",), "users", ("id",)),
            ForeignKey("fk_reference", ("reference_id",), "users", ("id",)),
        ),
    )
    parents = [{"id": uuid.uuid4()} for _ in range(3)]
    rows = plan(links, snap("postgresql", USERS_PG, links), {"users": parents}).as_dicts()
    ids = [p["id"] for p in parents]
    assert [r["parent_id"] for r in rows] == ids
    assert [r["reference_id"] for r in rows] == ids[1:] + ids[:1]
    # one parent row: both keys can only name it
    rows = plan(links, snap("postgresql", USERS_PG, links), {"users": parents[:1]}).as_dicts()
    assert rows and all(r["parent_id"] == r["reference_id"] == ids[0] for r in rows)


def test_a_composite_key_takes_every_column_from_one_parent_row() -> None:
    members = Table(
        "members",
        (
            Column("id", "integer", nullable=False),
            Column("org_id", "integer", nullable=False),
            Column("team_id", "integer"),
        ),
        primary_key=("id",),
        foreign_keys=(
            ForeignKey(None, ("org_id",), "orgs", ("id",)),
            ForeignKey(None, ("org_id", "team_id"), "teams", ("org_id", "id")),
        ),
    )
    orgs = [{"id": 1}, {"id": 2}, {"id": 3}]
    teams = [{"org_id": 3, "id": 10}, {"org_id": 2, "id": 20}, {"org_id": 1, "id": 30}]
    s = snap("sqlite", ORGS, TEAMS, members)
    rows = plan(members, s, {"orgs": orgs, "teams": teams}).as_dicts()
    pairs = {(t["org_id"], t["id"]) for t in teams}
    # org_id comes from orgs first; the team of each row must belong to that org
    assert all((r["org_id"], r["team_id"]) in pairs for r in rows), rows
    # no team agrees with any org: the rows cannot be valid
    got = plan_rows(members, s, {"orgs": [{"id": 9}], "teams": teams})
    assert isinstance(got, Skip) and "share (org_id)" in got.reason


def test_a_table_whose_parent_could_not_be_filled_is_left_empty() -> None:
    child = Table(
        "lines",
        (Column("id", "integer", nullable=False), Column("budget_id", "integer")),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("budget_id",), "budgets", ("id",)),),
    )
    budgets = Table("budgets", (Column("id", "integer", nullable=False),), primary_key=("id",))
    s = snap("postgresql", budgets, child)
    got = plan_rows(child, s, {"budgets": []}, unfilled={"budgets"})
    assert isinstance(got, Skip)
    assert "references budgets, which the probe could not fill" in got.reason
    # nullable or not: rows pointing nowhere are not valid rows of this schema
    got = plan_rows(child, s, {"budgets": []})
    assert isinstance(got, Skip) and "which has no rows" in got.reason


def test_a_cycle_of_references_is_broken_where_a_key_may_be_null() -> None:
    a = Table(
        "a",
        (Column("id", "integer", nullable=False), Column("b_id", "integer")),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("b_id",), "b", ("id",)),),
    )
    got = plan_rows(a, snap("sqlite", a), {"b": []}, later={"b"})  # b is filled after a
    assert isinstance(got, Plan) and {r["b_id"] for r in got.as_dicts()} == {None}
    strict = Table(
        "a",
        (Column("id", "integer", nullable=False), Column("b_id", "integer", nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("b_id",), "b", ("id",)),),
    )
    got = plan_rows(strict, snap("sqlite", strict), {"b": []}, later={"b"})
    assert isinstance(got, Skip) and "cycle" in got.reason


def test_a_self_reference_through_a_generated_key() -> None:
    tree = Table(
        "nodes",
        (
            Column("id", "integer", nullable=False, identity="always"),
            Column("parent_id", "integer", nullable=False),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk", ("parent_id",), "nodes", ("id",)),),
    )
    got = plan_rows(tree, snap("postgresql", tree), {})
    assert isinstance(got, Skip) and "key the database generates" in got.reason


def test_checks_it_can_read_are_satisfied() -> None:
    table = Table(
        "bookings",
        (
            Column("id", "integer", nullable=False),
            Column("seats", "integer", nullable=False),
            Column("price", "numeric(8,2)", nullable=False),
            Column("code", "varchar(12)", nullable=False),
            Column("starts_at", "timestamp", nullable=False),
            Column("ends_at", "timestamp", nullable=False),
            Column("day", "date", nullable=False),
        ),
        primary_key=("id",),
        check_constraints=(
            CheckConstraint(None, "seats >= 5 and seats <= 6 and seats <> 5"),
            CheckConstraint(None, "price > 100"),
            CheckConstraint(None, "length(code) = 8"),
            CheckConstraint(None, "ends_at > starts_at"),
            CheckConstraint(None, "starts_at > '2020-01-01'"),
            CheckConstraint(None, "day < '2000-01-01'"),
        ),
    )
    rows = plan(table, snap("postgresql", table)).as_dicts()
    assert {r["seats"] for r in rows} == {6}
    assert all(r["price"] > 100 for r in rows)
    assert all(len(r["code"]) == 8 and r["code"].isdigit() for r in rows)
    assert all(r["ends_at"] > r["starts_at"] > dt.datetime(2020, 1, 1) for r in rows)
    assert all(r["day"] < dt.date(2000, 1, 1) for r in rows)


def test_values_carry_their_table_and_column() -> None:
    # what tells a value copied into another column or table from a value that was there
    table = Table(
        "t",
        (
            Column("id", "integer", nullable=False),
            Column("name", "varchar(50)"),
            Column("title", "varchar(50)"),
            Column("email", "varchar(255)"),
        ),
        primary_key=("id",),
    )
    other = Table("u", (Column("id", "integer", nullable=False),), primary_key=("id",))
    rows = plan(table, snap("sqlite", table, other)).as_dicts()
    names, titles = {r["name"] for r in rows}, {r["title"] for r in rows}
    assert not names & titles and all(n.isdigit() for n in names | titles)
    assert all(r["email"].endswith("@example.com") for r in rows)
    keys = {r["id"] for r in rows}
    assert not keys & {r["id"] for r in plan(other, snap("sqlite", table, other)).as_dicts()}
    assert min(keys) > 900_000


def _fill_all(
    s: SchemaSnapshot, filled: Mapping[str, Plan] | None = None
) -> dict[str, Plan | Skip]:
    """What the fill pass does, without a database: each table in `fill_order`, with the rows
    planned for its parents, a parent not placed yet counting as `later`."""
    done: dict[str, Plan | Skip] = dict(filled or {})
    unfilled: set[str] = set()
    for name in fill_order(s, filled=list(done)):
        table = s.table(name)
        assert table is not None
        if name in done:
            continue
        fks = [fk for fk in table.foreign_keys if fk.ref_table != name]
        parents = {
            fk.ref_table: got.as_dicts()
            for fk in fks
            if isinstance(got := done.get(fk.ref_table), Plan)
        }
        later = {fk.ref_table for fk in fks if fk.ref_table not in done}
        done[name] = plan_rows(table, s, parents, unfilled=unfilled, later=later)
        if isinstance(done[name], Skip):
            unfilled.add(name)
    return done


def _pools(worker_nullable: bool) -> SchemaSnapshot:
    """prefect before d481d5058a19: worker_pool <-> worker_pool_queue is a cycle broken by a
    nullable key; worker only points into it, and sorts before its parent."""
    pool = Table(
        "worker_pool",
        (Column("id", "integer", nullable=False), Column("default_queue_id", "integer")),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("default_queue_id",), "worker_pool_queue", ("id",)),),
    )
    queue = Table(
        "worker_pool_queue",
        (Column("id", "integer", nullable=False), Column("worker_pool_id", "integer", False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("worker_pool_id",), "worker_pool", ("id",)),),
    )
    worker = Table(
        "worker",
        (
            Column("id", "integer", nullable=False),
            Column("worker_pool_id", "integer", worker_nullable),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("worker_pool_id",), "worker_pool", ("id",)),),
    )
    return snap("postgresql", worker, pool, queue)


@pytest.mark.parametrize("worker_nullable", [False, True])
def test_a_table_that_points_into_a_cycle_comes_after_the_cycle(worker_nullable: bool) -> None:
    s = _pools(worker_nullable)
    # the cycle is broken where its key may be NULL: worker_pool first, its default queue NULL
    order = fill_order(s)
    assert order[0] == "worker_pool" and sorted(order[1:]) == ["worker", "worker_pool_queue"]
    got = _fill_all(s)
    assert all(isinstance(p, Plan) for p in got.values()), got
    pools = {r["id"] for r in got["worker_pool"].as_dicts()}  # type: ignore[union-attr]
    workers = got["worker"].as_dicts()  # type: ignore[union-attr]
    assert {r["worker_pool_id"] for r in workers} <= pools and len(workers) == 3
    assert {r["default_queue_id"] for r in got["worker_pool"].as_dicts()} == {None}  # type: ignore[union-attr]


def test_a_cycle_with_a_table_already_filled_is_not_broken() -> None:
    s = _pools(False)
    queue = s.table("worker_pool_queue")
    assert queue is not None
    order = fill_order(s, filled=["worker_pool_queue"])
    assert order.index("worker_pool") < order.index("worker")
    assert order[0] == "worker_pool_queue"


def test_only_a_cycle_of_not_null_keys_is_skipped_and_its_dependants_say_why() -> None:
    a = Table(
        "a",
        (Column("id", "integer", nullable=False), Column("b_id", "integer", nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("b_id",), "b", ("id",)),),
    )
    b = Table(
        "b",
        (Column("id", "integer", nullable=False), Column("a_id", "integer", nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("a_id",), "a", ("id",)),),
    )
    # a0 sorts before its parent a and is in no cycle; c hangs on a0 by a nullable key
    a0 = Table(
        "a0",
        (Column("id", "integer", nullable=False), Column("a_id", "integer", nullable=False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("a_id",), "a", ("id",)),),
    )
    c = Table(
        "c",
        (Column("id", "integer", nullable=False), Column("a0_id", "integer")),
        primary_key=("id",),
        foreign_keys=(ForeignKey(None, ("a0_id",), "a0", ("id",)),),
    )
    free = Table("free", (Column("id", "integer", nullable=False),), primary_key=("id",))
    s = snap("postgresql", a0, c, a, b, free)
    assert fill_order(s) == ["free", "a", "b", "a0", "c"]
    got = _fill_all(s)
    assert isinstance(got["free"], Plan)
    a_skip, b_skip, a0_skip = got["a"], got["b"], got["a0"]
    assert isinstance(a_skip, Skip) and "in a cycle of references through b" in a_skip.reason
    assert isinstance(b_skip, Skip) and "references a, which the probe could not" in b_skip.reason
    assert isinstance(a0_skip, Skip) and "references a, which the probe could not" in a0_skip.reason
    assert isinstance(got["c"], Skip) and "references a0" in got["c"].reason


def test_fill_order_breaks_nested_cycles_at_nullable_keys_only() -> None:
    # x -> y -> z -> x, and y <-> w; only z.x_id and w.y_id may be NULL
    def t(name: str, *refs: tuple[str, bool]) -> Table:
        return Table(
            name,
            (
                Column("id", "integer", nullable=False),
                *(Column(f"{r}_id", "integer", nullable=n) for r, n in refs),
            ),
            primary_key=("id",),
            foreign_keys=tuple(ForeignKey(None, (f"{r}_id",), r, ("id",)) for r, _ in refs),
        )

    s = snap(
        "postgresql",
        t("x", ("y", False)),
        t("y", ("z", False), ("w", False)),
        t("z", ("x", True)),
        t("w", ("y", True)),
    )
    order = fill_order(s)
    assert sorted(order) == ["w", "x", "y", "z"]
    got = _fill_all(s)
    assert all(isinstance(p, Plan) for p in got.values()), got


def test_json_bytes_and_literals_carry_their_table_and_column() -> None:
    """A JSON document, bytes or a literal copied elsewhere says which table and column it
    came from: the same column name in two tables, or two columns of one table, never share
    a value (prefect 4160a4841eed: every JSON value was {"probe": n})."""

    def table(name: str) -> Table:
        return Table(
            name,
            (
                Column("id", "integer", nullable=False),
                Column("doc", "jsonb"),
                Column("meta", "json"),
                Column("blob", "bytea"),
                Column("digest", "binary(8)"),
                Column("words", "tsvector"),
                Column("page", "xml"),
                Column("price", "money"),
                Column("mac", "macaddr"),
            ),
            primary_key=("id",),
        )

    s = snap("postgresql", table("a"), table("b"))
    a = plan(table("a"), s).as_dicts()
    b = plan(table("b"), s).as_dicts()
    assert a[0]["doc"] == '{"probe": "a.doc.1"}' and b[0]["doc"] == '{"probe": "b.doc.1"}'
    assert a[0]["blob"] == b"probe:a.blob.1" and len(a[0]["digest"]) <= 8
    columns = ("doc", "meta", "blob", "digest", "words", "page", "price", "mac")
    for c in columns:
        assert len({r[c] for r in a}) == 3, c  # distinct per row
        assert not {r[c] for r in a} & {r[c] for r in b}, c  # per table
    values = [{r[c] for r in a} for c in ("doc", "meta")] + [
        {r[c] for r in a} for c in columns[2:4]
    ]
    assert not values[0] & values[1] and not values[2] & values[3]  # per column
    sqlite = snap("sqlite", table("a"))
    assert plan(table("a"), sqlite).as_dicts()[0]["meta"] == '{"probe": "a.meta.1"}'


def _on_cycle(start: str, graph: Mapping[str, set[str]]) -> bool:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        n = todo.pop()
        if n == start:
            return True
        if n not in seen:
            seen.add(n)
            todo.extend(graph[n])
    return False


def test_fill_order_puts_a_table_before_a_not_null_parent_only_on_a_not_null_cycle() -> None:
    """Random schemas: every table, once; a table comes before a parent it may not leave NULL
    only when it is on a cycle of such references (no order can fill those)."""
    rng = random.Random(7)
    for _ in range(400):
        names = [f"t{i}" for i in rng.sample(range(9), rng.randint(1, 9))]
        edges = {
            (a, b): rng.random() < 0.5  # the reference may not be NULL
            for a in names
            for b in names
            if a != b and rng.random() < 0.25
        }
        tables = tuple(
            Table(
                a,
                (
                    Column("id", "integer", nullable=False),
                    *(
                        Column(f"{b}_id", "integer", nullable=not s)
                        for (x, b), s in edges.items()
                        if x == a
                    ),
                ),
                primary_key=("id",),
                foreign_keys=tuple(
                    ForeignKey(None, (f"{b}_id",), b, ("id",)) for (x, b) in edges if x == a
                ),
            )
            for a in names
        )
        filled = [n for n in names if rng.random() < 0.15]
        order = fill_order(snap("postgresql", *tables), filled=filled)
        assert sorted(order) == sorted(names)
        pos = {n: i for i, n in enumerate(order)}
        strict = {
            a: {b for (x, b), s in edges.items() if x == a and s and b not in filled} for a in names
        }

        for (a, b), s in edges.items():
            if pos[b] > pos[a] and a not in filled and b not in filled:
                assert not s or _on_cycle(a, strict), (a, b, order, edges, filled)
