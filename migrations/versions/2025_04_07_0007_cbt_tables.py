"""CBT tables: thought_records, behavioral_activations, exposure_hierarchies

Every key is a UUID like the keys it references (post-mortem 003 had INTEGER columns
referencing UUID keys: accepted by SQLite, refused by PostgreSQL).

Revision ID: 0007
Revises: 0006
Create Date: 2025-04-07 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import SchemaItem

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owner_columns(table_name: str) -> list[SchemaItem]:
    """id, user_id and conversation_id with their keys, shared by the three tables."""
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table_name}")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f(f"fk_{table_name}_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f(f"fk_{table_name}_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
    ]


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "thought_records",
        *_owner_columns("thought_records"),
        sa.Column("situation", sa.Text(), nullable=False),
        sa.Column("automatic_thought", sa.Text(), nullable=False),
        sa.Column("emotion", sa.String(length=100), nullable=False),
        sa.Column("intensity", sa.Integer(), nullable=False),
        sa.Column("alternative_thought", sa.Text(), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "intensity BETWEEN 0 AND 100", name=op.f("ck_thought_records_intensity_range")
        ),
    )
    op.create_table(
        "behavioral_activations",
        *_owner_columns("behavioral_activations"),
        sa.Column("activity", sa.String(length=200), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed", sa.Boolean(), server_default=sa.false(), nullable=False),
        _created_at(),
    )
    op.create_table(
        "exposure_hierarchies",
        *_owner_columns("exposure_hierarchies"),
        sa.Column("fear", sa.String(length=200), nullable=False),
        sa.Column(
            "steps", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        _created_at(),
    )
    for table_name in ("thought_records", "behavioral_activations", "exposure_hierarchies"):
        op.create_index(op.f(f"ix_{table_name}_user_id"), table_name, ["user_id"])


def downgrade() -> None:
    for table_name in ("exposure_hierarchies", "behavioral_activations", "thought_records"):
        op.drop_index(op.f(f"ix_{table_name}_user_id"), table_name=table_name)
        op.drop_table(table_name)
