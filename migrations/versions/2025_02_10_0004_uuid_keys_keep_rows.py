"""conversations and messages: INTEGER keys to UUID keys, keeping every row

Post-mortem 001 did this by dropping and recreating both tables, and lost every row. Here
new UUID columns are added and filled first (messages.new_conversation_id from the
conversation's new key), and only then are the INTEGER columns dropped and the new ones
renamed into their place, with the primary keys, the foreign key and the indexes recreated.
The downgrade does the reverse: it numbers the rows (oldest first) into new INTEGER columns,
restores the SERIAL sequences on PostgreSQL, and keeps every row as well.

On SQLite every step goes through batch mode (table rebuilds). Renames and NOT NULL are set in
separate batches: PostgreSQL 18 names a NOT NULL constraint after the column it was set on.

Revision ID: 0004
Revises: 0003
Create Date: 2025-02-10 10:00:00

"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

gate = {
    "destructive": "old INTEGER key columns are dropped only after their values were copied "
    "into the new UUID columns; rows are kept"
}

CONVERSATION_FK = "fk_messages_conversation_id_conversations"
CONVERSATION_INDEX = "idx_messages_conversation_created"
CREATED_DESC_INDEX = "idx_conversations_created_at_desc"

DROP_TRIGGER = "DROP TRIGGER trigger_update_conversation_timestamp ON messages"
CREATE_TRIGGER = """
CREATE TRIGGER trigger_update_conversation_timestamp
AFTER INSERT ON messages
FOR EACH ROW EXECUTE FUNCTION update_conversation_timestamp()
"""

LINK_MESSAGES = """
UPDATE messages SET {target} = (
    SELECT conversations.{source} FROM conversations
    WHERE conversations.id = messages.conversation_id
)
"""


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _fill_uuids_sqlite(table_name: str) -> None:
    """Give each row a random UUID in new_id, bound through sa.Uuid (32 hex digits on SQLite)."""
    table = sa.table(table_name, sa.column("id", sa.Integer()), sa.column("new_id", sa.Uuid()))
    bind = op.get_bind()
    keys = bind.execute(sa.select(table.c.id)).scalars().all()
    if keys:
        bind.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("key"))
            .values(new_id=sa.bindparam("value")),
            [{"key": key, "value": uuid.uuid4()} for key in keys],
        )


def _number_rows_sqlite(table_name: str) -> None:
    """Number the rows 1, 2, ... (oldest first) into old_id."""
    table = sa.table(
        table_name,
        sa.column("id", sa.Uuid()),
        sa.column("old_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    keys = (
        bind.execute(sa.select(table.c.id).order_by(table.c.created_at, table.c.id)).scalars().all()
    )
    if keys:
        bind.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("key"))
            .values(old_id=sa.bindparam("value")),
            [{"key": key, "value": number} for number, key in enumerate(keys, start=1)],
        )


def _number_rows_postgresql(table_name: str) -> None:
    """Number the rows 1, 2, ... (oldest first) into old_id."""
    op.execute(
        f"UPDATE {table_name} SET old_id = numbered.n FROM ("
        f"SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM {table_name}"
        f") AS numbered WHERE {table_name}.id = numbered.id"
    )


def _restore_serial_postgresql(table_name: str) -> None:
    """Recreate what SERIAL made for table.id: an owned integer sequence as its default."""
    sequence = f"{table_name}_id_seq"
    op.execute(f"CREATE SEQUENCE {sequence} AS integer OWNED BY {table_name}.id")
    op.execute(f"ALTER TABLE {table_name} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
    op.execute(f"SELECT setval('{sequence}', COALESCE(MAX(id), 0) + 1, false) FROM {table_name}")


def _swap_keys(key_type: sa.types.TypeEngine[Any], prefix: str) -> None:
    """Replace id and messages.conversation_id by the filled ``{prefix}`` columns."""
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(CONVERSATION_FK, type_="foreignkey")
        batch_op.drop_index(CONVERSATION_INDEX)
        batch_op.drop_constraint("pk_messages", type_="primary")
        batch_op.drop_column("id")
        batch_op.drop_column("conversation_id")
        batch_op.alter_column(f"{prefix}_id", new_column_name="id", existing_type=key_type)
        batch_op.alter_column(
            f"{prefix}_conversation_id", new_column_name="conversation_id", existing_type=key_type
        )
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_constraint("pk_conversations", type_="primary")
        batch_op.drop_column("id")
        batch_op.alter_column(f"{prefix}_id", new_column_name="id", existing_type=key_type)
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.alter_column("id", nullable=False, existing_type=key_type)
        batch_op.create_primary_key("pk_conversations", ["id"])
    with op.batch_alter_table("messages") as batch_op:
        batch_op.alter_column("id", nullable=False, existing_type=key_type)
        batch_op.alter_column("conversation_id", nullable=False, existing_type=key_type)
        batch_op.create_primary_key("pk_messages", ["id"])
        batch_op.create_foreign_key(
            CONVERSATION_FK, "conversations", ["conversation_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index(CONVERSATION_INDEX, "messages", ["conversation_id", "created_at"])


def upgrade() -> None:
    on_postgresql = _on_postgresql()
    if on_postgresql:
        op.execute(DROP_TRIGGER)
    else:
        # SQLite reflection loses the DESC of this index, so a batch rebuild of conversations
        # would recreate it ascending: drop it here and recreate it afterwards.
        op.drop_index(CREATED_DESC_INDEX, table_name="conversations")
    op.add_column("conversations", sa.Column("new_id", sa.Uuid(), nullable=True))
    op.add_column("messages", sa.Column("new_id", sa.Uuid(), nullable=True))
    op.add_column("messages", sa.Column("new_conversation_id", sa.Uuid(), nullable=True))
    if on_postgresql:
        op.execute("UPDATE conversations SET new_id = gen_random_uuid()")
        op.execute("UPDATE messages SET new_id = gen_random_uuid()")
    else:
        _fill_uuids_sqlite("conversations")
        _fill_uuids_sqlite("messages")
    op.execute(LINK_MESSAGES.format(target="new_conversation_id", source="new_id"))
    _swap_keys(sa.Uuid(), "new")
    if on_postgresql:
        op.execute(CREATE_TRIGGER)
    else:
        op.create_index(CREATED_DESC_INDEX, "conversations", [sa.text("created_at DESC")])


def downgrade() -> None:
    on_postgresql = _on_postgresql()
    if on_postgresql:
        op.execute(DROP_TRIGGER)
    else:
        op.drop_index(CREATED_DESC_INDEX, table_name="conversations")
    op.add_column("conversations", sa.Column("old_id", sa.Integer(), nullable=True))
    op.add_column("messages", sa.Column("old_id", sa.Integer(), nullable=True))
    op.add_column("messages", sa.Column("old_conversation_id", sa.Integer(), nullable=True))
    for table_name in ("conversations", "messages"):
        if on_postgresql:
            _number_rows_postgresql(table_name)
        else:
            _number_rows_sqlite(table_name)
    op.execute(LINK_MESSAGES.format(target="old_conversation_id", source="old_id"))
    _swap_keys(sa.Integer(), "old")
    if on_postgresql:
        _restore_serial_postgresql("conversations")
        _restore_serial_postgresql("messages")
        op.execute(CREATE_TRIGGER)
    else:
        op.create_index(CREATED_DESC_INDEX, "conversations", [sa.text("created_at DESC")])
