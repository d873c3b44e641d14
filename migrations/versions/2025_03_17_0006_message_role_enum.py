"""messages.role: VARCHAR with a CHECK to the message_role enum

The type is named message_role (snake_case), once and for good (post-mortem 004). On
PostgreSQL it is a native enum that replaces the CHECK constraint; on SQLite the column becomes
the VARCHAR that SQLAlchemy's Enum renders, without a CHECK (create_constraint=False, as in the
models). The downgrade converts the column back, restores the CHECK and drops the type, so
no enum is left behind.

Revision ID: 0006
Revises: 0005
Create Date: 2025-03-17 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE_ROLE = sa.Enum(
    "user", "assistant", "system", "tool", name="message_role", create_constraint=False
)
ROLE_STRING = sa.String(length=20)
ROLE_CHECK = "role IN ('user', 'assistant', 'system', 'tool')"


def upgrade() -> None:
    on_postgresql = op.get_context().dialect.name == "postgresql"
    if on_postgresql:
        op.execute("CREATE TYPE message_role AS ENUM ('user', 'assistant', 'system', 'tool')")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(op.f("check_role_values"), type_="check")
        batch_op.alter_column(
            "role",
            type_=MESSAGE_ROLE,
            existing_type=ROLE_STRING,
            existing_nullable=False,
            postgresql_using="role::message_role",
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.alter_column(
            "role",
            type_=ROLE_STRING,
            existing_type=MESSAGE_ROLE,
            existing_nullable=False,
            postgresql_using="role::text",
        )
        batch_op.create_check_constraint(op.f("check_role_values"), ROLE_CHECK)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TYPE message_role")
