"""`snapshot` on real databases: whole, schema-only, sampled, masked, SQLite; the command line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from migration_gate.cli import main
from migration_gate.commands.snapshot import snapshot
from migration_gate.config.settings import Settings, load_settings
from migration_gate.db.pgtools import find_tools
from migration_gate.db.provision import PostgresProvider
from migration_gate.replay import archive
from migration_gate.replay.meta import read_meta
from tests.chain_builder import write_chain

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('a7');
CREATE TABLE users (id serial PRIMARY KEY, email varchar(320) NOT NULL UNIQUE,
                    name text, phone varchar(20));
CREATE TABLE teams (code varchar(12) PRIMARY KEY, label text NOT NULL);
CREATE TABLE members (user_id int NOT NULL REFERENCES users, team varchar(12) NOT NULL
                      REFERENCES teams, PRIMARY KEY (user_id, team));
CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    author_id int NOT NULL REFERENCES users,
                    editor_id int REFERENCES users,
                    reply_to bigint REFERENCES posts,
                    body text NOT NULL, meta jsonb, created date NOT NULL DEFAULT '2025-01-01',
                    words int GENERATED ALWAYS AS (length(body)) STORED);
CREATE TABLE nodes (id int PRIMARY KEY, parent int NOT NULL REFERENCES nodes, label text);
"""
DATA = """
INSERT INTO users (email, name, phone)
  SELECT 'person' || g || '@corp.example', 'Person ' || g, '+44 20 7946 ' || g FROM generate_series(1, 300) g;
INSERT INTO teams SELECT 'team' || g, 'Team number ' || g FROM generate_series(1, 40) g;
INSERT INTO members SELECT u, 'team' || (1 + (u * 7) % 40) FROM generate_series(1, 300) u;
INSERT INTO posts (author_id, editor_id, reply_to, body, meta)
  SELECT 1 + (g * 13) % 300, CASE WHEN g % 3 = 0 THEN 1 + (g * 7) % 300 END, NULL,
         'secret body number ' || g, jsonb_build_object('ip', '10.0.0.' || (g % 250))
  FROM generate_series(1, 900) g;
UPDATE posts SET reply_to = id - 1 WHERE id % 2 = 0;
INSERT INTO nodes VALUES (1, 1, 'root');
INSERT INTO nodes SELECT g, g - 1, 'node ' || g FROM generate_series(2, 200) g;
"""


@pytest.fixture
def source(pg_url: str) -> Iterator[str]:
    engine = sa.create_engine(pg_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(SCHEMA)
        conn.exec_driver_sql(DATA.replace("%", "%%"))
    engine.dispose()
    yield pg_url


@pytest.fixture
def settings(tmp_path: Path, pg_admin_url: str) -> Settings:
    ini = write_chain(tmp_path / "project", [])
    return load_settings(ini, pg_url=pg_admin_url, environ={"SRC_URL": "unused"})


def _restored(pg_provider: PostgresProvider, dump: Path) -> str:
    url = pg_provider.scratch("restored")
    archive.restore(find_tools(None), url, dump)
    return url


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


def test_a_whole_snapshot_is_a_pg_dump_archive_with_its_metadata(
    source: str, settings: Settings, tmp_path: Path, pg_provider: PostgresProvider
) -> None:
    out = tmp_path / "whole.dump"
    report = snapshot(settings, url=source, snapshot_file=str(out))
    assert report.ok and report.written == [str(out), str(out) + ".json"]
    info = archive.inspect(find_tools(None), out)
    assert info.has_data and info.server_major >= 15
    meta = read_meta(out)
    assert meta is not None and meta.dialect == "postgresql"
    assert meta.revision == ("a7",) and meta.sample is None and not meta.schema_only
    assert meta.schema_hash and meta.schema_hash.startswith("sha256:")
    assert meta.tables["users"].rows == 300 and meta.tables["posts"].rows == 900
    assert (meta.tables["users"].bytes or 0) > 0
    assert "alembic_version" not in meta.tables
    assert meta.command.startswith("migration-gate snapshot --url ")
    url = _restored(pg_provider, out)
    assert _rows(url, "SELECT count(*) FROM posts") == [(900,)]


def test_a_schema_only_snapshot_keeps_the_revision_and_the_sequences(
    source: str, settings: Settings, tmp_path: Path, pg_provider: PostgresProvider
) -> None:
    out = tmp_path / "schema.dump"
    snapshot(settings, url=source, snapshot_file=str(out), schema_only=True)
    meta = read_meta(out)
    assert meta is not None and meta.schema_only and meta.tables["posts"].rows == 900
    url = _restored(pg_provider, out)
    assert _rows(url, "SELECT count(*) FROM users") == [(0,)]
    assert _rows(url, "SELECT version_num FROM alembic_version") == [("a7",)]
    assert _rows(url, "SELECT last_value FROM users_id_seq") == [(300,)]


def test_a_sampled_snapshot_keeps_at_most_n_rows_and_every_foreign_key_resolves(
    source: str, settings: Settings, tmp_path: Path, pg_provider: PostgresProvider
) -> None:
    out = tmp_path / "sample.dump"
    snapshot(settings, url=source, snapshot_file=str(out), sample=50)
    meta = read_meta(out)
    assert meta is not None and meta.sample == 50 and meta.tables["users"].rows == 300
    url = _restored(pg_provider, out)  # the restore recreates every constraint: they hold
    counts = dict(
        _rows(
            url,
            "SELECT 'users', count(*) FROM users UNION ALL SELECT 'members', count(*) FROM members "
            "UNION ALL SELECT 'posts', count(*) FROM posts UNION ALL "
            "SELECT 'teams', count(*) FROM teams UNION ALL SELECT 'nodes', count(*) FROM nodes",
        )
    )
    assert all(0 < n <= 50 for n in counts.values()), counts
    dangling = _rows(
        url,
        "SELECT (SELECT count(*) FROM posts p WHERE NOT EXISTS "
        "  (SELECT 1 FROM users u WHERE u.id = p.author_id)),"
        " (SELECT count(*) FROM posts p WHERE p.editor_id IS NOT NULL AND NOT EXISTS "
        "  (SELECT 1 FROM users u WHERE u.id = p.editor_id)),"
        " (SELECT count(*) FROM posts p WHERE p.reply_to IS NOT NULL AND NOT EXISTS "
        "  (SELECT 1 FROM posts q WHERE q.id = p.reply_to)),"
        " (SELECT count(*) FROM nodes n WHERE NOT EXISTS "
        "  (SELECT 1 FROM nodes m WHERE m.id = n.parent)),"
        " (SELECT count(*) FROM members m WHERE NOT EXISTS "
        "  (SELECT 1 FROM teams t WHERE t.code = m.team))",
    )
    assert dangling == [(0, 0, 0, 0, 0)]
    # nullable references to rows left out became NULL; kept ones stay
    assert _rows(url, "SELECT count(*) FROM posts WHERE editor_id IS NOT NULL")[0][0] > 0
    # a NOT NULL self reference keeps whole chains from the root
    assert _rows(url, "SELECT min(id), max(id) FROM nodes") == [(1, counts["nodes"])]
    assert _rows(url, "SELECT version_num FROM alembic_version") == [("a7",)]
    assert _rows(url, "SELECT count(*) FROM posts WHERE words = length(body)") == [
        (counts["posts"],)
    ]


def test_a_masked_snapshot_holds_none_of_the_original_values_and_joins_still_match(
    source: str, settings: Settings, tmp_path: Path, pg_provider: PostgresProvider
) -> None:
    out = tmp_path / "masked.dump"
    masks = ["users.email", "users.name", "users.phone", "posts.body", "posts.meta", "teams.code"]
    snapshot(settings, url=source, snapshot_file=str(out), mask=masks)
    url = _restored(pg_provider, out)
    original = {
        "email": {r[0] for r in _rows(source, "SELECT email FROM users")},
        "name": {r[0] for r in _rows(source, "SELECT name FROM users")},
        "phone": {r[0] for r in _rows(source, "SELECT phone FROM users")},
        "body": {r[0] for r in _rows(source, "SELECT body FROM posts")},
        "code": {r[0] for r in _rows(source, "SELECT code FROM teams")},
    }
    masked = {
        "email": {r[0] for r in _rows(url, "SELECT email FROM users")},
        "name": {r[0] for r in _rows(url, "SELECT name FROM users")},
        "phone": {r[0] for r in _rows(url, "SELECT phone FROM users")},
        "body": {r[0] for r in _rows(url, "SELECT body FROM posts")},
        "code": {r[0] for r in _rows(url, "SELECT code FROM teams")},
    }
    for column, values in masked.items():
        assert values and not values & original[column], column
    assert all("@" in e and len(e) <= 320 for e in masked["email"])
    assert all(len(p) <= 20 for p in masked["phone"])
    assert all(len(c) <= 12 for c in masked["code"])
    assert len(masked["email"]) == 300  # unique stays unique
    assert not _rows(url, "SELECT 1 FROM posts WHERE meta::text LIKE '%%10.0.0.%%'")
    # members.team references teams.code: masked alike, so the join still matches
    assert _rows(url, "SELECT count(*) FROM members JOIN teams ON teams.code = members.team") == [
        (300,)
    ]
    # unmasked columns and row counts are kept
    assert _rows(url, "SELECT count(*), min(id), max(id) FROM users") == [(300, 1, 300)]
    assert _rows(url, "SELECT label FROM teams ORDER BY label LIMIT 1") == [("Team number 1",)]


def test_masking_is_deterministic_with_a_key(
    source: str, tmp_path: Path, pg_admin_url: str, pg_provider: PostgresProvider
) -> None:
    ini = write_chain(tmp_path / "project", [])
    keyed = load_settings(ini, pg_url=pg_admin_url, environ={"MIGRATION_GATE_MASK_KEY": "k1"})
    values = []
    for name in ("one", "two"):
        out = tmp_path / f"{name}.dump"
        snapshot(keyed, url=source, snapshot_file=str(out), mask=["users.email"], sample=20)
        values.append(_rows(_restored(pg_provider, out), "SELECT id, email FROM users ORDER BY id"))
    assert values[0] == values[1] and len(values[0]) == 20


def test_masking_a_column_no_fake_fits_is_a_usage_error(
    source: str, settings: Settings, tmp_path: Path
) -> None:
    from migration_gate.errors import ConfigError

    with pytest.raises(ConfigError, match=r"users\.nope: no such column"):
        snapshot(settings, url=source, snapshot_file=str(tmp_path / "x.dump"), mask=["users.nope"])
    with pytest.raises(ConfigError, match="NOT NULL"):
        snapshot(
            settings, url=source, snapshot_file=str(tmp_path / "x.dump"), mask=["posts.body=null"]
        )


def test_a_sqlite_snapshot_is_a_consistent_copy(settings: Settings, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE alembic_version (version_num TEXT PRIMARY KEY);"
            "INSERT INTO alembic_version VALUES ('s1');"
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
            "INSERT INTO notes (body) VALUES ('a'), ('b'), ('c');"
        )
    out = tmp_path / "app.sqlite"
    snapshot(settings, url=f"sqlite:///{db}", snapshot_file=str(out))
    with sqlite3.connect(out) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (3,)
    meta = read_meta(out)
    assert meta is not None and meta.dialect == "sqlite" and meta.revision == ("s1",)
    assert meta.tables["notes"].rows == 3


def test_the_command_line_reads_the_environment_url_and_masks_passwords(
    source: str,
    tmp_path: Path,
    pg_admin_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path / "project"
    ini = write_chain(project, [])
    (project / "envs").mkdir()
    (project / "envs" / "prod.yaml").write_text("name: prod\ndatabase: {url_env: PROD_DB}\n")
    out = tmp_path / "prod.dump"
    monkeypatch.delenv("PROD_DB", raising=False)
    code = main(["-c", str(ini), "snapshot", "--env", "prod", "--output", str(out)])
    assert code == 2 and "$PROD_DB is not set" in capsys.readouterr().err
    monkeypatch.setenv("PROD_DB", source)
    monkeypatch.setenv("MIGRATION_GATE_PG_URL", pg_admin_url)
    code = main(
        ["-c", str(ini), "snapshot", "--env", "prod", "--output", str(out), "--sample", "5"]
    )
    assert code == 0, capsys.readouterr()
    meta = json.loads(Path(str(out) + ".json").read_text())
    assert meta["environment"] == "prod" and meta["sample"] == 5
    assert meta["command"] == f"migration-gate snapshot --env prod --output {out} --sample 5"
    # trust authentication ignores the password, which must still never be written
    with_password = source.replace("postgres@", "postgres:hunter2@", 1)
    assert "hunter2" in with_password
    code = main(["-c", str(ini), "snapshot", "--url", with_password, "--output", str(out)])
    assert code == 0, capsys.readouterr()
    assert "hunter2" not in Path(str(out) + ".json").read_text()
    assert "hunter2" not in "".join(capsys.readouterr())
    bad = "postgresql://someone:hunter2@127.0.0.1:1/nowhere"
    code = main(["-c", str(ini), "snapshot", "--url", bad, "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 3 and "hunter2" not in err and "cannot connect" in err
    assert len([ln for ln in err.splitlines() if ln.startswith("FAILED")]) == 1
