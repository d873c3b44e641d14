"""Schema capture on real databases: SQLite files and PostgreSQL.

Every object kind is read; schemas that mean the same give equal snapshots whatever their
rendering (quoting, spacing, Alembic batch rebuilds, PostgreSQL 18's named NOT NULL
constraints); schemas that differ give a diff that reads as sentences.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Engine

from migration_gate.snapshot import SchemaSnapshot, capture, diff
from migration_gate.snapshot.normalize import type_family

# -- helpers --------------------------------------------------------------------------------


def run(engine: Engine, script: str) -> None:
    """Execute a DDL script: whole on PostgreSQL, split at `;` + newline on SQLite (whose
    driver runs one statement at a time)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(script)
            return
        for statement in script.split(";\n"):
            if statement.strip():
                conn.exec_driver_sql(statement)


def snap(engine: Engine) -> SchemaSnapshot:
    with engine.connect() as conn:
        return capture(conn)


def timed_snap(engine: Engine, label: str) -> SchemaSnapshot:
    """Capture twice on one connection and print both times (no timed assertion: shared CI
    machines are too noisy). The first pays for cold caches, the second is a walk's step."""
    times = []
    with engine.connect() as conn:
        for _ in range(2):
            started = time.perf_counter()
            snapshot = capture(conn)
            times.append((time.perf_counter() - started) * 1000)
    print(
        f"\n{label}: {len(snapshot.tables)} tables captured in {times[0]:.1f} ms, again in {times[1]:.1f} ms"
    )
    return snapshot


@pytest.fixture
def other_sqlite(tmp_path: Path) -> Iterator[Engine]:
    """A second SQLite database, to compare two renderings of one schema."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    yield engine
    engine.dispose()


def reset_pg(engine: Engine) -> None:
    run(engine, "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public")


def chat_metadata() -> sa.MetaData:
    """A slice of the reference service, written once for both dialects."""
    md = sa.MetaData()
    sa.Table(
        "users",
        md,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    messages = sa.Table(
        "messages",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_messages_user"),
            nullable=False,
        ),
        sa.Column(
            "role",
            sa.Enum("user", "assistant", name="message_role"),
            nullable=False,
            server_default="user",
        ),
        sa.Column("content", sa.Text),
        sa.Column("score", sa.Numeric(10, 2), server_default="0"),
        sa.CheckConstraint("role IN ('user', 'assistant')", name="ck_messages_role"),
        sa.CheckConstraint("score >= 0", name="ck_messages_score"),
    )
    sa.Index("ix_messages_user_id", messages.c.user_id)
    sa.Index("ix_messages_lower_content", sa.func.lower(messages.c.content))
    sa.Index(
        "ix_messages_unscored",
        messages.c.user_id,
        sqlite_where=messages.c.score.is_(None),
        postgresql_where=messages.c.score.is_(None),
    )
    return md


def create_all(engine: Engine, md: sa.MetaData) -> None:
    with engine.begin() as conn:
        md.create_all(conn)


# -- SQLite ---------------------------------------------------------------------------------

SQLITE_SCHEMA = """
CREATE TABLE users (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  email VARCHAR(200) NOT NULL,
  name TEXT DEFAULT ('anon'),
  created DATETIME DEFAULT (CURRENT_TIMESTAMP),
  uid CHAR(32),
  score NUMERIC(10, 2) DEFAULT 0,
  role VARCHAR(9) CHECK (role IN ('user', 'assistant')),
  CONSTRAINT uq_users_email UNIQUE (email),
  CONSTRAINT ck_score CHECK (score >= 0)
);
CREATE TABLE [accounts] (
  `id` INTEGER PRIMARY KEY,
  "owner_id" INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  parent_id INTEGER CONSTRAINT fk_parent REFERENCES accounts
      ON DELETE SET DEFAULT DEFERRABLE INITIALLY DEFERRED,
  code TEXT UNIQUE,
  full TEXT GENERATED ALWAYS AS (code || '!') STORED,
  CONSTRAINT fk_pair FOREIGN KEY (owner_id, code) REFERENCES users (id, email) ON UPDATE CASCADE
);
CREATE INDEX ix_users_lower ON users (lower(email) DESC, name);
CREATE UNIQUE INDEX ux_users_name ON users ("name") WHERE name IS NOT NULL;
CREATE VIEW v_users AS SELECT id, email FROM users WHERE role = 'user';
CREATE TRIGGER trg_users AFTER UPDATE ON users BEGIN UPDATE users SET name = 'x' WHERE id = NEW.id; END
"""


def test_sqlite_captures_every_object_kind(sqlite_engine: Engine) -> None:
    run(sqlite_engine, SQLITE_SCHEMA)
    s = snap(sqlite_engine).to_dict()
    assert s["dialect"] == "sqlite"
    assert sorted(s["tables"]) == ["accounts", "users"]  # no sqlite_sequence
    users, accounts = s["tables"]["users"], s["tables"]["accounts"]
    assert users["columns"]["id"] == {
        "type": "integer",
        "nullable": False,
        "default": None,
        "identity": "autoincrement",
        "generated": None,
        "comment": None,
    }
    assert {c: v["type"] for c, v in users["columns"].items()} == {
        "id": "integer",
        "email": "varchar(200)",
        "name": "text",
        "created": "datetime",
        "uid": "char(32)",
        "score": "numeric(10,2)",
        "role": "varchar(9)",
    }
    assert {c: v["default"] for c, v in users["columns"].items() if v["default"]} == {
        "name": "'anon'",
        "created": "current_timestamp",
        "score": "0",
    }
    assert users["primary_key"] == ["id"]
    assert users["unique_constraints"] == {"uq_users_email": {"columns": ["email"]}}
    assert users["check_constraints"] == {
        "ck_score": {"expression": "score >= 0"},
        "check(role in ('user', 'assistant'))": {"expression": "role in ('user', 'assistant')"},
    }
    assert users["indexes"] == {
        "ix_users_lower": {
            "elements": ["lower(email) DESC", "name"],
            "unique": False,
            "predicate": None,
            "method": None,
        },
        "ux_users_name": {
            "elements": ["name"],
            "unique": True,
            "predicate": "name is not null",
            "method": None,
        },
    }
    assert accounts["columns"]["full"]["generated"] == "code || '!'"
    assert accounts["columns"]["id"]["identity"] is None  # no AUTOINCREMENT
    assert accounts["unique_constraints"] == {"unique(code)": {"columns": ["code"]}}
    assert accounts["foreign_keys"] == {
        "(owner_id) -> users(id)": {
            "columns": ["owner_id"],
            "ref_table": "users",
            "ref_columns": ["id"],
            "on_delete": "CASCADE",
            "on_update": "NO ACTION",
            "deferrable": False,
        },
        "fk_parent": {
            "columns": ["parent_id"],
            "ref_table": "accounts",
            "ref_columns": ["id"],  # REFERENCES accounts: its primary key
            "on_delete": "SET DEFAULT",
            "on_update": "NO ACTION",
            "deferrable": True,
        },
        "fk_pair": {
            "columns": ["owner_id", "code"],
            "ref_table": "users",
            "ref_columns": ["id", "email"],
            "on_delete": "NO ACTION",
            "on_update": "CASCADE",
            "deferrable": False,
        },
    }
    assert s["views"] == {
        "v_users": {
            "definition": "select id, email from users where role = 'user'",
            "materialized": False,
        }
    }
    assert s["triggers"] == {
        "users.trg_users": {
            "table": "users",
            "definition": "after update begin update users set name = 'x' where id = new.id; end",
        }
    }
    assert "sqlite_autoindex" not in snap(sqlite_engine).to_json()


def test_sqlite_batch_rebuild_gives_an_equal_snapshot(sqlite_engine: Engine) -> None:
    create_all(sqlite_engine, chat_metadata())
    before = snap(sqlite_engine)
    with sqlite_engine.begin() as conn:
        ops = Operations(MigrationContext.configure(conn))
        with ops.batch_alter_table("users", recreate="always"):
            pass
        # an expression index does not survive a batch rebuild (SQLAlchemy cannot reflect
        # it): the migration has to put it back, as this one does
        with (
            pytest.warns(sa.exc.SAWarning, match="expression-based index"),
            ops.batch_alter_table("messages", recreate="always") as batch,
        ):
            batch.add_column(sa.Column("extra", sa.Integer))
        with ops.batch_alter_table("messages", recreate="always") as batch:
            batch.drop_column("extra")
        conn.exec_driver_sql("CREATE INDEX ix_messages_lower_content ON messages (lower(content))")
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'messages'").scalar()
    assert str(sql).startswith('CREATE TABLE "messages"')  # the text really was rewritten
    after = snap(sqlite_engine)
    assert diff(before, after).sentences() == []
    assert after.sha256() == before.sha256()


def test_sqlite_batch_rebuild_moves_constraints_but_keeps_meaning(sqlite_engine: Engine) -> None:
    """A self-referencing table under a naming convention: the rebuild quotes the name and
    reorders the constraints; a default changed and changed back is the same schema."""
    md = sa.MetaData(
        naming_convention={
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "ck": "ck_%(table_name)s_%(column_0_name)s",
        }
    )
    sa.Table(
        "nodes",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("nodes.id", ondelete="SET NULL")),
        sa.Column("name", sa.String(50), unique=True, server_default="x"),
        sa.Column("flag", sa.Boolean(create_constraint=True), server_default=sa.false()),
        sa.Column("ts", sa.DateTime, server_default=sa.text("(CURRENT_TIMESTAMP)")),
    )
    create_all(sqlite_engine, md)
    before = snap(sqlite_engine)
    for default in ("y", "x"):
        with sqlite_engine.begin() as conn:
            ops = Operations(MigrationContext.configure(conn))
            with ops.batch_alter_table("nodes", recreate="always") as batch:
                batch.alter_column("name", server_default=default)
        if default == "y":
            changed = snap(sqlite_engine)
    assert diff(before, changed).sentences() == ["nodes.name: default 'x' → 'y'"]
    after = snap(sqlite_engine)
    assert diff(before, after).sentences() == []
    table = after.table("nodes")
    assert table is not None
    assert [fk.name for fk in table.foreign_keys] == ["fk_nodes_parent_id_nodes"]
    assert [u.name for u in table.unique_constraints] == ["uq_nodes_name"]
    assert [c.name for c in table.check_constraints] == ["ck_nodes_flag"]


def test_sqlite_batch_rebuild_that_loses_an_expression_index_is_caught(
    sqlite_engine: Engine,
) -> None:
    create_all(sqlite_engine, chat_metadata())
    before = snap(sqlite_engine)
    with sqlite_engine.begin() as conn:
        ops = Operations(MigrationContext.configure(conn))
        with (
            pytest.warns(sa.exc.SAWarning, match="expression-based index"),
            ops.batch_alter_table("messages", recreate="always"),
        ):
            pass
    assert diff(before, snap(sqlite_engine)).sentences() == [
        "index ix_messages_lower_content on messages (lower(content)) removed"
    ]


SAME_SCHEMA_A = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE,
  status TEXT DEFAULT 'active' CHECK (status IN ('active', 'off')));
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
  created DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX ix_posts_user ON posts (user_id) WHERE user_id IS NOT NULL;
CREATE VIEW v AS SELECT id FROM users
"""
SAME_SCHEMA_B = """
-- the same schema, written by someone else
create table "users" (
    [id]     integer primary key,
    `email`  varchar( 200 ) not null,
    "status" text default ('active'),
    unique ("email"),
    check ((("status") in ('active','off')))
);
create table posts (
    id integer primary key,
    user_id integer,
    created datetime default (CURRENT_TIMESTAMP),
    foreign key (user_id) references "users" ("id") on delete cascade
);
create index "ix_posts_user" on "posts" ("user_id") where ("user_id" is not null);
create view "v" as select "id" from "users"
"""


def test_sqlite_same_schema_written_differently_gives_equal_snapshots(
    sqlite_engine: Engine, other_sqlite: Engine
) -> None:
    run(sqlite_engine, SAME_SCHEMA_A)
    run(other_sqlite, SAME_SCHEMA_B)
    a, b = snap(sqlite_engine), snap(other_sqlite)
    assert diff(a, b).sentences() == []
    assert a.to_json() == b.to_json()


def _variant(
    *, default: str = "'active'", check: str = "'active', 'off'", index: bool = True
) -> str:
    script = f"""
    CREATE TABLE users (id INTEGER PRIMARY KEY, status TEXT DEFAULT {default},
      CONSTRAINT ck_status CHECK (status IN ({check})));
    CREATE INDEX ix_users_status ON users (status)"""
    return script if index else script.rsplit(";", 1)[0]


@pytest.mark.parametrize(
    ("variant", "sentences"),
    [
        (_variant(index=False), ["index ix_users_status on users (status) removed"]),
        (_variant(default="'off'"), ["users.status: default 'active' → 'off'"]),
        (
            _variant(check="'active'"),
            [
                "check constraint ck_status on users: "
                "expression status in ('active', 'off') → status in ('active')"
            ],
        ),
    ],
)
def test_sqlite_differences_read_as_sentences(
    sqlite_engine: Engine, other_sqlite: Engine, variant: str, sentences: list[str]
) -> None:
    run(sqlite_engine, _variant())
    run(other_sqlite, variant)
    assert diff(snap(sqlite_engine), snap(other_sqlite)).sentences() == sentences


def _wide_schema(n: int, *, dialect: str) -> str:
    key = "id SERIAL PRIMARY KEY" if dialect == "postgresql" else "id INTEGER PRIMARY KEY"
    json_type = "JSONB" if dialect == "postgresql" else "JSON"
    stamp = "now()" if dialect == "postgresql" else "CURRENT_TIMESTAMP"
    parts = []
    for i in range(n):
        parent = f",\n  parent_id INTEGER REFERENCES t{i - 1} (id) ON DELETE CASCADE" if i else ""
        parts.append(
            f"""CREATE TABLE t{i} (
  {key},
  name VARCHAR(100) NOT NULL DEFAULT 'x',
  email TEXT UNIQUE,
  amount NUMERIC(10, 2) DEFAULT 0 CHECK (amount >= 0),
  created_at TIMESTAMP NOT NULL DEFAULT {stamp},
  data {json_type},
  flag BOOLEAN DEFAULT false{parent});
CREATE INDEX ix_t{i}_name ON t{i} (name);
CREATE INDEX ix_t{i}_lower ON t{i} (lower(email)) WHERE flag"""
        )
    return ";\n".join(parts)


def test_sqlite_200_tables(sqlite_engine: Engine) -> None:
    run(sqlite_engine, _wide_schema(200, dialect="sqlite"))
    s = timed_snap(sqlite_engine, "sqlite")
    assert len(s.tables) == 200
    t199 = s.table("t199")
    assert t199 is not None
    assert {i.name: i.elements for i in t199.indexes} == {
        "ix_t199_name": ("name",),
        "ix_t199_lower": ("lower(email)",),
    }
    assert [fk.ref_table for fk in t199.foreign_keys] == ["t198"]


# -- PostgreSQL -----------------------------------------------------------------------------

PG_SCHEMA = """
CREATE TYPE message_role AS ENUM ('user', 'assistant', 'system');
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email varchar(200) NOT NULL,
  name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated timestamp,
  status varchar(20) DEFAULT 'active',
  score numeric(10,2) DEFAULT 0,
  small smallint DEFAULT -1,
  flag boolean DEFAULT false,
  tags text[],
  data jsonb DEFAULT '{}'::jsonb,
  blob bytea,
  full_name text GENERATED ALWAYS AS (name || email) STORED,
  CONSTRAINT uq_users_email UNIQUE (email),
  CONSTRAINT ck_users_status CHECK (status IN ('active', 'disabled')),
  CONSTRAINT ck_users_score CHECK (score >= 0)
);
CREATE SEQUENCE counter_seq START 100 INCREMENT 5;
CREATE TABLE accounts (
  id serial PRIMARY KEY,
  owner_id uuid NOT NULL,
  ext_id bigint GENERATED ALWAYS AS IDENTITY,
  ext2 integer GENERATED BY DEFAULT AS IDENTITY,
  code integer DEFAULT nextval('counter_seq'),
  CONSTRAINT fk_accounts_owner FOREIGN KEY (owner_id) REFERENCES users (id)
      ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE messages (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  account_id integer REFERENCES accounts (id),
  role message_role NOT NULL DEFAULT 'user',
  content text
);
CREATE INDEX ix_messages_lower ON messages (lower(content));
CREATE INDEX ix_messages_recent ON messages (account_id DESC, id) WHERE content IS NOT NULL;
CREATE UNIQUE INDEX ux_users_name ON users (name);
CREATE INDEX ix_users_data ON users USING gin (data);
CREATE VIEW v_users AS SELECT id, email FROM users WHERE status = 'active';
CREATE MATERIALIZED VIEW mv_counts AS SELECT account_id, count(*) AS n FROM messages GROUP BY account_id;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated := now();
  RETURN NEW;
END $$;
CREATE FUNCTION add_ints(a integer, b integer) RETURNS integer LANGUAGE sql AS 'SELECT a + b';
CREATE TRIGGER trg_users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
CREATE SCHEMA other;
CREATE TABLE other.things (id integer PRIMARY KEY, user_id uuid REFERENCES public.users (id));
CREATE TYPE other.mood AS ENUM ('sad', 'ok')
"""


@pytest.mark.postgres
def test_postgres_captures_every_object_kind(pg_engine: Engine) -> None:
    run(pg_engine, PG_SCHEMA)
    s = snap(pg_engine).to_dict()
    assert s["dialect"] == "postgresql"
    assert sorted(s["tables"]) == ["accounts", "messages", "other.things", "users"]
    users = s["tables"]["users"]
    assert {c: (v["type"], v["default"]) for c, v in users["columns"].items()} == {
        "id": ("uuid", "gen_random_uuid()"),
        "email": ("varchar(200)", None),
        "name": ("text", None),
        "created_at": ("timestamptz", "current_timestamp"),
        "updated": ("timestamp", None),
        "status": ("varchar(20)", "'active'"),
        "score": ("numeric(10,2)", "0"),
        "small": ("smallint", "-1"),
        "flag": ("boolean", "false"),
        "tags": ("text[]", None),
        "data": ("jsonb", "'{}'"),
        "blob": ("bytea", None),
        "full_name": ("text", None),
    }
    assert users["columns"]["full_name"]["generated"] == "name || email"
    assert users["unique_constraints"] == {"uq_users_email": {"columns": ["email"]}}
    assert users["check_constraints"] == {
        "ck_users_status": {"expression": "status in ('active', 'disabled')"},
        "ck_users_score": {"expression": "score >= 0"},
    }
    assert users["indexes"] == {
        "ux_users_name": {"elements": ["name"], "unique": True, "predicate": None, "method": None},
        "ix_users_data": {
            "elements": ["data"],
            "unique": False,
            "predicate": None,
            "method": "gin",
        },
    }
    accounts = s["tables"]["accounts"]
    assert {c: (v["identity"], v["default"]) for c, v in accounts["columns"].items()} == {
        "id": (None, "nextval('accounts_id_seq')"),
        "owner_id": (None, None),
        "ext_id": ("always", None),
        "ext2": ("by default", None),
        "code": (None, "nextval('counter_seq')"),
    }
    assert accounts["foreign_keys"] == {
        "fk_accounts_owner": {
            "columns": ["owner_id"],
            "ref_table": "users",
            "ref_columns": ["id"],
            "on_delete": "CASCADE",
            "on_update": "SET NULL",
            "deferrable": True,
        }
    }
    messages = s["tables"]["messages"]
    assert messages["columns"]["role"]["type"] == "message_role"
    assert messages["columns"]["role"]["default"] == "'user'"
    assert messages["primary_key"] == ["id"]
    assert messages["indexes"] == {
        "ix_messages_lower": {
            "elements": ["lower(content)"],
            "unique": False,
            "predicate": None,
            "method": None,
        },
        "ix_messages_recent": {
            "elements": ["account_id DESC", "id"],
            "unique": False,
            "predicate": "content is not null",
            "method": None,
        },
    }
    assert (
        s["tables"]["other.things"]["foreign_keys"]["things_user_id_fkey"]["ref_table"] == "users"
    )
    assert s["enums"] == {
        "message_role": ["user", "assistant", "system"],
        "other.mood": ["sad", "ok"],
    }
    # identity sequences are not listed; the serial's is, owned by its column
    assert s["sequences"] == {
        "accounts_id_seq": {
            "data_type": "integer",
            "start": 1,
            "increment": 1,
            "owned_by": "accounts.id",
        },
        "counter_seq": {"data_type": "bigint", "start": 100, "increment": 5, "owned_by": None},
    }
    assert s["views"] == {
        "v_users": {
            "definition": "select id, email from users where status = 'active'",
            "materialized": False,
        },
        "mv_counts": {
            "definition": "select account_id, count(*) as n from messages group by account_id",
            "materialized": True,
        },
    }
    assert s["functions"] == {
        "touch()": {
            "returns": "trigger",
            "language": "plpgsql",
            "body": "BEGIN NEW.updated := now(); RETURN NEW; END",
        },
        "add_ints(integer, integer)": {
            "returns": "integer",
            "language": "sql",
            "body": "SELECT a + b",
        },
    }
    assert s["triggers"] == {
        "users.trg_users_touch": {
            "table": "users",
            "definition": "before update for each row execute function touch()",
        }
    }
    assert s["extensions"] == []


@pytest.mark.postgres
def test_postgres_named_not_null_constraints_do_not_appear(pg_engine: Engine) -> None:
    run(pg_engine, "CREATE TABLE t (id integer NOT NULL, name text NOT NULL, note text)")
    with pg_engine.connect() as conn:
        version = conn.dialect.server_version_info or (0,)
        named = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'n'"
        ).scalar()
    if version >= (18,):
        assert named == 2  # the catalog does have them...
    s = snap(pg_engine)
    table = s.table("t")
    assert table is not None
    assert table.check_constraints == ()  # ...the snapshot does not
    assert "not_null" not in s.to_json()
    assert [(c.name, c.nullable) for c in table.columns] == [
        ("id", False),
        ("name", False),
        ("note", True),
    ]


@pytest.mark.postgres
def test_postgres_extension_objects_are_left_out(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        available = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'citext'"
        ).scalar()
    if not available:
        pytest.skip("the citext extension is not installed on this server")
    run(pg_engine, "CREATE EXTENSION citext;\nCREATE TABLE t (name citext)")
    s = snap(pg_engine)
    assert s.extensions == ("citext",)
    assert s.functions == ()  # citext's dozens of functions belong to the extension
    assert s.enums == ()
    table = s.table("t")
    assert table is not None
    assert table.columns[0].type == "citext"


@pytest.mark.postgres
def test_postgres_same_schema_written_differently_gives_equal_snapshots(
    pg_engine: Engine,
) -> None:
    run(
        pg_engine,
        """CREATE TABLE users (id serial PRIMARY KEY, email varchar(200) NOT NULL,
             status text DEFAULT 'active' CONSTRAINT ck_status CHECK (status IN ('active', 'off')));
           CREATE INDEX ix_users_email ON users (lower(email)) WHERE status = 'active'""",
    )
    a = snap(pg_engine)
    reset_pg(pg_engine)
    run(
        pg_engine,
        """create table "users" (
             "id" SERIAL,
             "email" CHARACTER VARYING(200) not null,
             "status" TEXT default ('active'::text),
             primary key ("id"),
             constraint "ck_status" check ((("status" = any (array['active', 'off']))))
           );
           create index "ix_users_email" on "users" using btree (lower("email"))
             where ("status" = 'active'::text)""",
    )
    b = snap(pg_engine)
    assert diff(a, b).sentences() == []
    assert a.sha256() == b.sha256()


PG_BASE = """
CREATE TYPE message_role AS ENUM ('user', 'assistant');
CREATE TABLE messages (id serial PRIMARY KEY, role message_role NOT NULL DEFAULT 'user',
  body text, CONSTRAINT ck_body CHECK (length(body) > 0));
CREATE INDEX ix_messages_role ON messages (role)
"""


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("change", "sentences"),
    [
        ("DROP INDEX ix_messages_role", ["index ix_messages_role on messages (role) removed"]),
        (
            "ALTER TABLE messages ALTER COLUMN id TYPE bigint;\n"
            "ALTER SEQUENCE messages_id_seq AS bigint",
            [
                "sequence messages_id_seq: type integer → bigint",
                "messages.id: type integer → bigint",
            ],
        ),
        (
            "ALTER TABLE messages ALTER COLUMN role SET DEFAULT 'assistant'",
            ["messages.role: default 'user' → 'assistant'"],
        ),
        (
            "ALTER TABLE messages DROP CONSTRAINT ck_body;\n"
            "ALTER TABLE messages ADD CONSTRAINT ck_body CHECK (length(body) > 1)",
            [
                "check constraint ck_body on messages: "
                "expression length(body) > 0 → length(body) > 1"
            ],
        ),
        (
            "CREATE TYPE messagerole AS ENUM ('user', 'assistant')",
            ["enum type messagerole ('user', 'assistant') added"],
        ),
        (
            "ALTER TABLE messages ALTER COLUMN body SET NOT NULL",
            ["messages.body: NULL → NOT NULL"],
        ),
    ],
)
def test_postgres_differences_read_as_sentences(
    pg_engine: Engine, change: str, sentences: list[str]
) -> None:
    run(pg_engine, PG_BASE)
    before = snap(pg_engine)
    run(pg_engine, change)
    assert diff(before, snap(pg_engine)).sentences() == sentences


@pytest.mark.postgres
def test_postgres_200_tables(pg_engine: Engine) -> None:
    run(pg_engine, _wide_schema(200, dialect="postgresql"))
    s = timed_snap(pg_engine, "postgresql")
    assert len(s.tables) == 200
    t199 = s.table("t199")
    assert t199 is not None
    assert {i.name: (i.elements, i.predicate) for i in t199.indexes} == {
        "ix_t199_name": (("name",), None),
        "ix_t199_lower": (("lower(email)",), "flag"),
    }
    assert len(s.sequences) == 200


# -- both -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_one_model_captures_comparably_on_both_dialects(
    pg_engine: Engine, sqlite_engine: Engine
) -> None:
    """Checks, index expressions and predicates read the same on both dialects, and every
    column falls in the same type family (enum ~ the string SQLite stores it as)."""
    engines: dict[str, Engine] = {"postgresql": pg_engine, "sqlite": sqlite_engine}
    snaps = {}
    for name, engine in engines.items():
        create_all(engine, chat_metadata())
        snaps[name] = snap(engine)
    pg, lite = snaps["postgresql"], snaps["sqlite"]
    assert pg.table_names == lite.table_names == ("messages", "users")

    def parts(s: SchemaSnapshot, table: str) -> tuple[object, ...]:
        t = s.table(table)
        assert t is not None
        return (
            {c.name: c.expression for c in t.check_constraints},
            {i.name: (i.elements, i.predicate, i.unique) for i in t.indexes},
            {u.name: u.columns for u in t.unique_constraints},
            {
                fk.name: (fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete)
                for fk in t.foreign_keys
            },
            t.primary_key,
        )

    for table in ("users", "messages"):
        assert parts(pg, table) == parts(lite, table)
    messages = pg.table("messages")
    assert messages is not None
    assert {c.name: c.expression for c in messages.check_constraints}["ck_messages_role"] == (
        "role in ('user', 'assistant')"
    )

    def families(s: SchemaSnapshot, table: str) -> dict[str, str]:
        t = s.table(table)
        assert t is not None
        enums = [e.name for e in s.enums]
        family = {c.name: type_family(c.type, enums=enums) for c in t.columns}
        return {k: "string" if v == "enum" else v for k, v in family.items()}

    for table in ("users", "messages"):
        assert families(pg, table) == families(lite, table)
