"""conversation titles, tool calls on messages, system and tool roles

The downgrade narrows the role check again, so it refuses to run while system or tool
messages exist (it does not delete them).

Revision ID: 0003
Revises: 0002
Create Date: 2025-02-03 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column(
            "title", sa.String(length=200), server_default="New Conversation", nullable=False
        ),
    )
    op.create_index(
        "idx_conversations_created_at_desc", "conversations", [sa.text("created_at DESC")]
    )
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column(
                "tool_calls",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("tool_call_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch_op.drop_constraint(op.f("check_role_values"), type_="check")
        batch_op.create_check_constraint(
            op.f("check_role_values"), "role IN ('user', 'assistant', 'system', 'tool')"
        )
    op.create_index(op.f("ix_messages_role"), "messages", ["role"])


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_role"), table_name="messages")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(op.f("check_role_values"), type_="check")
        batch_op.create_check_constraint(op.f("check_role_values"), "role IN ('user', 'assistant')")
        batch_op.drop_column("name")
        batch_op.drop_column("tool_call_id")
        batch_op.drop_column("tool_calls")
    op.drop_index("idx_conversations_created_at_desc", table_name="conversations")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("title")
