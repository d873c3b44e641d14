"""Make the reference service's snapshots under snapshots/, as its history left them.

* **main** as it was before the INTEGER → UUID key conversion (revision 0003): INTEGER keys,
  thousands of users, conversations and messages (post-mortems 000 and 001);
* **dev** at revision 0007 with the enum type misnamed ``messagerole`` (beside
  ``message_role``), as an edited migration left it (post-mortem 004).

The rows are synthetic and deterministic (made in SQL on a scratch database walked with the
reference chain), and the snapshots are still taken the way a team would take them of a real
database: masked, and main sampled, so the committed files stay small. Rerun it after
changing the generators; the command is recorded in each snapshot's metadata file:

    python scripts/reference_snapshots.py                 # the embedded PostgreSQL
    python scripts/reference_snapshots.py --pg-url postgresql://user:pw@host/postgres
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from migration_gate.chain.runner import StepRunner  # noqa: E402
from migration_gate.config.settings import Settings, load_settings  # noqa: E402
from migration_gate.db.provision import PostgresProvider  # noqa: E402
from migration_gate.replay.mask import parse_mask  # noqa: E402
from migration_gate.replay.take import SnapshotRequest, take_snapshot  # noqa: E402

COMMAND = "python scripts/reference_snapshots.py"

#: users, accounts, agents; then conversations and messages with INTEGER keys (revision 0003)
MAIN = """
INSERT INTO users (id, email, created_at)
  SELECT md5('user' || g)::uuid, 'user' || g || '@example.org',
         timestamptz '2025-01-06 10:00+00' + g * interval '7 minutes'
  FROM generate_series(1, 4000) g;
INSERT INTO accounts (id, name, owner_id)
  SELECT md5('account' || g)::uuid, 'Account ' || g, md5('user' || g)::uuid
  FROM generate_series(1, 400) g;
INSERT INTO agents (id, account_id, name)
  SELECT md5('agent' || g)::uuid, md5('account' || (1 + g % 400))::uuid, 'Agent ' || g
  FROM generate_series(1, 800) g;
INSERT INTO conversations (user_id, title, created_at, updated_at)
  SELECT md5('user' || (1 + g % 4000))::uuid,
         CASE WHEN g % 5 = 0 THEN 'New Conversation' ELSE 'About topic ' || g END,
         timestamptz '2025-01-13 10:00+00' + g * interval '3 minutes',
         timestamptz '2025-01-13 10:00+00' + g * interval '3 minutes'
  FROM generate_series(1, 6000) g;
INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, name, created_at)
  SELECT 1 + (g - 1) % 6000,
         (ARRAY['user', 'assistant', 'system', 'tool'])[1 + g % 4],
         'Message ' || g || ' of conversation ' || (1 + (g - 1) % 6000),
         CASE WHEN g % 4 = 1 THEN jsonb_build_array(jsonb_build_object(
              'id', 'call_' || g, 'type', 'function',
              'function', jsonb_build_object('name', 'add_task', 'arguments', '{}'))) END,
         CASE WHEN g % 4 = 3 THEN 'call_' || (g - 2) END,
         CASE WHEN g % 4 = 3 THEN 'add_task' END,
         timestamptz '2025-01-13 10:00+00' + g * interval '20 seconds'
  FROM generate_series(1, 24000) g
"""
MAIN_MASKS = (
    "users.email=email",
    "accounts.name=name",
    "agents.name=name",
    "conversations.title=hash",
    "messages.content=hash",
    "messages.tool_calls=json",
)

#: the whole schema at 0007 with UUID keys; then the enum as dev kept it
DEV = """
INSERT INTO users (id, email)
  SELECT md5('dev-user' || g)::uuid, 'dev' || g || '@example.org' FROM generate_series(1, 300) g;
INSERT INTO accounts (id, name, owner_id)
  SELECT md5('dev-account' || g)::uuid, 'Account ' || g, md5('dev-user' || g)::uuid
  FROM generate_series(1, 30) g;
INSERT INTO agents (id, account_id, name)
  SELECT md5('dev-agent' || g)::uuid, md5('dev-account' || (1 + g % 30))::uuid, 'Agent ' || g
  FROM generate_series(1, 60) g;
INSERT INTO conversations (id, user_id, title)
  SELECT md5('dev-conv' || g)::uuid, md5('dev-user' || (1 + g % 300))::uuid, 'Topic ' || g
  FROM generate_series(1, 500) g;
INSERT INTO messages (id, conversation_id, role, content, created_at)
  SELECT md5('dev-msg' || g)::uuid, md5('dev-conv' || (1 + g % 500))::uuid,
         (CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END)::message_role,
         'Dev message ' || g, timestamptz '2025-04-07 10:00+00' + g * interval '1 minute'
  FROM generate_series(1, 2000) g;
INSERT INTO chats (id, agent_id, user_id, account_id)
  SELECT md5('dev-chat' || g)::uuid, md5('dev-agent' || (1 + g % 60))::uuid,
         md5('dev-user' || (1 + g % 300))::uuid, md5('dev-account' || (1 + g % 30))::uuid
  FROM generate_series(1, 200) g;
INSERT INTO chat_messages (id, chat_id, role, content)
  SELECT md5('dev-chat-msg' || g)::uuid, md5('dev-chat' || (1 + g % 200))::uuid,
         'user', 'EVALUATE ' || g
  FROM generate_series(1, 600) g;
INSERT INTO thought_records (id, user_id, situation, automatic_thought, emotion, intensity)
  SELECT md5('dev-tr' || g)::uuid, md5('dev-user' || (1 + g % 300))::uuid, 'Situation ' || g,
         'Thought ' || g, 'worry', g % 101
  FROM generate_series(1, 100) g;
ALTER TYPE message_role RENAME TO messagerole;
CREATE TYPE message_role AS ENUM ('user', 'assistant', 'system', 'tool')
"""
DEV_MASKS = (
    "users.email=email",
    "accounts.name=name",
    "agents.name=name",
    "messages.content=hash",
    "chat_messages.content=hash",
    "thought_records.situation=hash",
    "thought_records.automatic_thought=hash",
)


def _database(
    settings: Settings, provider: PostgresProvider, label: str, revision: str, sql: str
) -> str:
    """A scratch database walked to `revision` through the chain, then filled by `sql`."""
    url = provider.scratch(label)
    runner = StepRunner(settings.config_source(), url)
    try:
        script = runner.script
        revisions = [s.revision for s in reversed(list(script.walk_revisions("base", revision)))]
        runner.upgrade_many(revisions)
    finally:
        runner.close()
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        for statement in sql.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement.replace("%", "%%"))
    engine.dispose()
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", help="a PostgreSQL server (default: the embedded one)")
    parser.add_argument("--output-dir", default=str(ROOT / "snapshots"))
    args = parser.parse_args()
    settings = load_settings(ROOT / "alembic.ini", pg_url=args.pg_url, environ=os.environ)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        ("main", "0003", MAIN, MAIN_MASKS, 3000),
        ("dev", "0007", DEV, DEV_MASKS, None),
    ]
    with PostgresProvider(settings.pg_url, bin_dir=settings.pg_bin) as provider:
        for env, revision, sql, masks, sample in jobs:
            url = _database(settings, provider, f"reference_{env}", revision, sql)
            target = out / f"{env}.dump"
            meta = take_snapshot(
                settings,
                SnapshotRequest(
                    url=url,
                    output=target,
                    environment=env,
                    sample=sample,
                    masks=tuple(parse_mask(m) for m in masks),
                    command=COMMAND,
                ),
            )
            rows = sum(t.rows for t in meta.tables.values())
            print(
                f"wrote {target} (source at {revision}: {rows} rows in {len(meta.tables)} tables)"
            )
            provider.drop(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
