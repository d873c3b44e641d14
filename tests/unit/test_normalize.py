"""Unit tests of the text normalization shared by both captures, and of the pure SQLite
DDL parsing built on it: one canonical spelling for each meaning, on either dialect."""

from __future__ import annotations

import pytest

from migration_gate.snapshot import normalize
from migration_gate.snapshot.index_details import IndexElement, element_text
from migration_gate.snapshot.model import CheckConstraint
from migration_gate.snapshot.normalize import Token
from migration_gate.snapshot.sqlite_ddl import parse_create_index, parse_create_table

# -- tokenizer ------------------------------------------------------------------------------


def test_tokenize_kinds_quotes_and_comments() -> None:
    sql = 'SELECT "My ""x""", \'it\'\'s\', 1.5e3 -- gone\n/* gone */ a::text'
    tokens = normalize.tokenize(sql)
    assert tokens == [
        Token("word", "SELECT"),
        Token("ident", 'My "x"'),
        Token("op", ","),
        Token("str", "'it''s'"),
        Token("op", ","),
        Token("num", "1.5e3"),
        Token("word", "a"),
        Token("op", "::"),
        Token("word", "text"),
    ]


def test_tokenize_dollar_quoted_body_is_one_string() -> None:
    tokens = normalize.tokenize("AS $fn$ BEGIN 'x'; END $fn$ LANGUAGE plpgsql")
    assert tokens[1] == Token("str", "$fn$ BEGIN 'x'; END $fn$")
    assert [t.text for t in tokens[2:]] == ["LANGUAGE", "plpgsql"]


def test_brackets_are_identifiers_only_for_sqlite() -> None:
    assert normalize.tokenize("[my col]", bracket_quotes=True) == [Token("ident", "my col")]
    assert [t.text for t in normalize.tokenize("tags[1]")] == ["tags", "[", "1", "]"]


def test_split_top_level_respects_parentheses_and_quotes() -> None:
    tokens = normalize.tokenize("a int, b numeric(10, 2), CHECK (c IN ('x,y', 'z'))")
    parts = [normalize.render(p) for p in normalize.split_top_level(tokens)]
    assert parts == ["a int", "b numeric(10, 2)", "check (c in ('x,y', 'z'))"]


# -- expressions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rendered",
    [
        # PostgreSQL 18, pg_get_expr(conbin, conrelid, true) of a VARCHAR column
        "status::text = ANY (ARRAY['active'::character varying, 'disabled'::character varying]::text[])",
        # the same, not pretty-printed (pg_get_constraintdef(oid) without the flag)
        "(((status)::text = ANY ((ARRAY['active'::character varying, 'disabled'::character varying])::text[])))",
        # as SQLAlchemy writes it, and as SQLite keeps it
        "status IN ('active','disabled')",
        "\"status\"  in (\n  'active' , 'disabled' )",
    ],
)
def test_in_list_spellings_are_one_expression(rendered: str) -> None:
    assert normalize.sql_expression(rendered) == "status in ('active', 'disabled')"


def test_not_in_from_all_array() -> None:
    assert (
        normalize.sql_expression("d <> ALL (ARRAY['x'::text, 'y'::text])") == "d not in ('x', 'y')"
    )
    assert normalize.sql_expression("d NOT IN ('x', 'y')") == "d not in ('x', 'y')"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("score >= 0::numeric", "score >= 0"),
        ("lower((content)::text)", "lower(content)"),
        ("(content IS NOT NULL)", "content is not null"),
        ("x > (-1)", "x > -1"),
        ("coalesce(a, (b))", "coalesce(a, b)"),
        ("now() AT TIME ZONE 'utc'::text", "current_timestamp at time zone 'utc'"),
        ("role = 'user'::message_role", "role = 'user'"),
    ],
)
def test_casts_and_redundant_parentheses_go(text: str, expected: str) -> None:
    assert normalize.sql_expression(text) == expected


def test_meaningful_casts_parentheses_and_literal_case_stay() -> None:
    assert normalize.sql_expression("(data ->> 'x')::integer > 3") == "(data ->> 'x')::integer > 3"
    assert normalize.sql_expression("(a + b) * c") == "(a + b) * c"
    assert normalize.sql_expression("Name = 'MiXed'") == "name = 'MiXed'"
    assert normalize.sql_expression("a IN ('x')") == "a in ('x')"


def test_expressions_that_differ_stay_different() -> None:
    a = normalize.sql_expression("role IN ('user', 'assistant')")
    b = normalize.sql_expression("role IN ('user', 'system')")
    assert a != b
    assert normalize.sql_expression("a > 0") != normalize.sql_expression("a >= 0")


def test_sqlite_bracket_quotes_in_expressions() -> None:
    assert normalize.sql_expression("[Score] >= 0", dialect="sqlite") == "score >= 0"


# -- defaults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'x'::character varying", "'x'"),
        ("'a''b'::text", "'a''b'"),
        ("nextval('accounts_id_seq'::regclass)", "nextval('accounts_id_seq')"),
        ("now()", "current_timestamp"),
        ("gen_random_uuid()", "gen_random_uuid()"),
        ("CURRENT_TIMESTAMP", "current_timestamp"),
        ("'-1'::integer", "-1"),
        ("'9'::bigint", "9"),
        ("'{}'::jsonb", "'{}'"),
        ("'user'::message_role", "'user'"),
        ("false", "false"),
        (None, None),
    ],
)
def test_postgres_defaults(text: str | None, expected: str | None) -> None:
    assert normalize.default("postgresql", text) == expected


@pytest.mark.parametrize(
    ("dialect", "spellings"),
    [
        ("postgresql", ("now()", "CURRENT_TIMESTAMP", "transaction_timestamp()", "(now())")),
        (
            "sqlite",
            ("CURRENT_TIMESTAMP", "(CURRENT_TIMESTAMP)", "datetime('now')", "(datetime('NOW'))"),
        ),
        ("sqlite", ("CURRENT_DATE", "date('now')")),
        ("sqlite", ("1", "'1'", "TRUE", "(true)")),
        ("sqlite", ("0", "FALSE")),
        ("postgresql", ("now() + '1 day'::interval", "CURRENT_TIMESTAMP + '1 day'::interval")),
    ],
)
def test_equivalent_default_spellings_are_equal(dialect: str, spellings: tuple[str, ...]) -> None:
    assert len({normalize.default(dialect, text) for text in spellings}) == 1, [
        normalize.default(dialect, text) for text in spellings
    ]


@pytest.mark.parametrize(
    ("dialect", "a", "b"),
    [
        ("postgresql", "now()", "LOCALTIMESTAMP"),
        ("postgresql", "now()", "statement_timestamp()"),
        ("postgresql", "now()", "clock_timestamp()"),
        ("postgresql", "now", "current_timestamp"),  # a column named now
        ("postgresql", "myschema.now()", "current_timestamp"),
        ("sqlite", "datetime('now')", "datetime('now', 'localtime')"),
        ("sqlite", "datetime('now')", "date('now')"),
        ("postgresql", "true", "1"),
    ],
)
def test_different_defaults_stay_different(dialect: str, a: str, b: str) -> None:
    assert normalize.default(dialect, a) != normalize.default(dialect, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("('x')", "'x'"),
        ("(CURRENT_TIMESTAMP)", "CURRENT_TIMESTAMP"),
        ("(datetime('now'))", "datetime( 'now' )"),
        ("'0'", "0"),
    ],
)
def test_sqlite_default_spellings_compare_equal(a: str, b: str) -> None:
    assert normalize.default("sqlite", a) == normalize.default("sqlite", b)


def test_sqlite_defaults_that_differ_stay_different() -> None:
    assert normalize.default("sqlite", "'x'") != normalize.default("sqlite", "'X'")


# -- types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("character varying(200)", "varchar(200)"),
        ("character varying", "varchar"),
        ("character(32)", "char(32)"),
        ("timestamp without time zone", "timestamp"),
        ("timestamp with time zone", "timestamptz"),
        ("timestamp(3) with time zone", "timestamptz(3)"),
        ("time without time zone", "time"),
        ("numeric(10,2)", "numeric(10,2)"),
        ("double precision", "double precision"),
        ("text[]", "text[]"),
        ("character varying(20)[]", "varchar(20)[]"),
        ('"MessageRole"', "MessageRole"),
        ("other.mood", "other.mood"),
        ("integer", "integer"),
    ],
)
def test_postgres_types(text: str, expected: str) -> None:
    assert normalize.sql_type("postgresql", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VARCHAR(200)", "varchar(200)"),
        ("varchar( 200 )", "varchar(200)"),
        ("INTEGER", "integer"),
        ("INT", "int"),
        ("CHAR(32)", "char(32)"),
        ("DATETIME", "datetime"),
        ("NUMERIC(10, 2)", "numeric(10,2)"),
        ("", ""),
    ],
)
def test_sqlite_types(text: str, expected: str) -> None:
    assert normalize.sql_type("sqlite", text) == expected


@pytest.mark.parametrize(
    ("type_", "family"),
    [
        ("integer", "integer"),
        ("bigint", "integer"),
        ("int", "integer"),
        ("uuid", "uuid"),
        ("char(32)", "uuid"),
        ("char(3)", "string"),
        ("varchar(200)", "string"),
        ("text", "string"),
        ("boolean", "boolean"),
        ("timestamptz", "datetime"),
        ("datetime", "datetime"),
        ("date", "date"),
        ("time", "time"),
        ("numeric(10,2)", "numeric"),
        ("double precision", "float"),
        ("real", "float"),
        ("jsonb", "json"),
        ("bytea", "binary"),
        ("blob", "binary"),
        ("text[]", "other"),
        ("interval", "other"),
    ],
)
def test_type_family(type_: str, family: str) -> None:
    assert normalize.type_family(type_) == family


def test_type_family_of_an_enum_needs_the_enum_names() -> None:
    assert normalize.type_family("message_role") == "other"
    assert normalize.type_family("message_role", enums=["message_role"]) == "enum"


# -- statements -----------------------------------------------------------------------------


def test_view_definition_of_postgres_query_and_sqlite_statement_agree() -> None:
    pg = " SELECT id,\n    email\n   FROM users\n  WHERE status::text = 'active'::text;"
    lite = (
        "CREATE VIEW IF NOT EXISTS \"v\" AS SELECT id, email FROM [users] WHERE status = 'active'"
    )
    expected = "select id, email from users where status = 'active'"
    assert normalize.view_definition(pg) == expected
    assert normalize.view_definition(lite, dialect="sqlite") == expected


def test_trigger_definition_drops_name_and_table() -> None:
    pg = "CREATE TRIGGER trg_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION touch()"
    assert normalize.trigger_definition(pg) == "before update for each row execute function touch()"
    lite = 'CREATE TRIGGER "t" AFTER UPDATE OF a ON "users" BEGIN SELECT 1; END'
    assert (
        normalize.trigger_definition(lite, dialect="sqlite")
        == "after update of a begin select 1; end"
    )


def test_function_body_collapses_white_space_only() -> None:
    assert (
        normalize.function_body("\nBEGIN\n  NEW.x := 'A  b';\nEND;\n")
        == "BEGIN NEW.x := 'A b'; END;"
    )


# -- SQLite DDL parsing (capture_sqlite's pure part) -------------------------------------------


def test_parse_create_table_constraint_names_and_column_clauses() -> None:
    parsed = parse_create_table(
        """CREATE TABLE "accounts" (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            owner_id INTEGER NOT NULL CONSTRAINT fk_owner REFERENCES users (id)
                ON DELETE SET DEFAULT DEFERRABLE INITIALLY DEFERRED,
            parent_id INTEGER REFERENCES accounts,
            code TEXT UNIQUE CHECK (length(code) > 2),
            full TEXT GENERATED ALWAYS AS (code || '!') STORED,
            CONSTRAINT uq_owner_code UNIQUE ([owner_id], `code`),
            CONSTRAINT ck_id CHECK (id > 0),
            CONSTRAINT fk_pair FOREIGN KEY (owner_id, code) REFERENCES users (id, email)
        )"""
    )
    assert parsed.autoincrement == {"id"}
    assert parsed.generated == {"full": "code || '!'"}
    assert parsed.checks == (
        CheckConstraint(None, "length(code) > 2"),
        CheckConstraint("ck_id", "id > 0"),
    )
    assert parsed.uniques == ((None, ("code",)), ("uq_owner_code", ("owner_id", "code")))
    assert parsed.foreign_keys == (
        ("fk_owner", ("owner_id",), "users", ("id",), True),
        (None, ("parent_id",), "accounts", (), False),
        ("fk_pair", ("owner_id", "code"), "users", ("id", "email"), False),
    )


def test_parse_create_index_expressions_order_and_predicate() -> None:
    elements, predicate = parse_create_index(
        'CREATE UNIQUE INDEX IF NOT EXISTS "ix" ON "t" (lower("Email") DESC, [name] ASC, b) '
        "WHERE (deleted_at IS NULL)"
    )
    assert [element_text(e) for e in elements] == ["lower(email) DESC", "name", "b"]
    assert predicate == "deleted_at is null"
    (element,), _ = parse_create_index('CREATE INDEX ix ON t ("Name" COLLATE "NoCase" DESC)')
    assert element == IndexElement("name", "nocase", descending=True)
