"""SQLAlchemy models of the reference chat service.

The models are the target the migration chain must reproduce exactly, on SQLite and on
PostgreSQL. They use only portable types (``Uuid``, ``JSON`` with a ``JSONB`` variant,
a non-constraining ``Enum``) and a naming convention, so that every constraint and index has
the same deterministic name on both dialects.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "NAMING_CONVENTION",
    "Account",
    "Agent",
    "Base",
    "BehavioralActivation",
    "Chat",
    "ChatMessage",
    "Conversation",
    "ExposureHierarchy",
    "Message",
    "MessageRole",
    "ThoughtRecord",
    "User",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON on SQLite, JSONB on PostgreSQL.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base: one MetaData with the naming convention, tz-aware timestamps."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: sa.DateTime(timezone=True)}


class MessageRole(enum.StrEnum):
    """Who wrote a message; stored as the lowercase value in the ``message_role`` enum."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in enum_class]


# A native enum type on PostgreSQL, VARCHAR on SQLite; no CHECK constraint on either.
MESSAGE_ROLE = sa.Enum(
    MessageRole, name="message_role", values_callable=_enum_values, create_constraint=False
)


class User(Base):
    """A person using the service."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class Account(Base):
    """A billing account, owned by one user."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.String(200))
    owner_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class Agent(Base):
    """An AI agent configured in an account."""

    __tablename__ = "agents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class Conversation(Base):
    """A conversation of a user with the assistant."""

    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200), server_default="New Conversation")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        server_default=sa.func.now(), onupdate=sa.func.now()
    )


sa.Index("idx_conversations_created_at_desc", Conversation.created_at.desc())


class Message(Base):
    """One message of a conversation, including the assistant's tool calls."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.Index("idx_messages_conversation_created", "conversation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[MessageRole] = mapped_column(MESSAGE_ROLE, index=True)
    content: Mapped[str] = mapped_column(sa.Text)
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON_DOCUMENT)
    tool_call_id: Mapped[str | None] = mapped_column(sa.String(100))
    name: Mapped[str | None] = mapped_column(sa.String(100))
    # Also set by the application: SQLite's CURRENT_TIMESTAMP only has whole seconds, too coarse
    # to order the messages of a conversation.
    created_at: Mapped[datetime] = mapped_column(
        default=lambda: datetime.now(UTC), server_default=sa.func.now()
    )


# On PostgreSQL a trigger keeps conversations.updated_at at the time of the latest message
# (revision 0002). It is declared here too, with the very same SQL, so that create_all()
# builds the same schema as the migration chain.
UPDATE_CONVERSATION_TIMESTAMP = """
CREATE FUNCTION update_conversation_timestamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET updated_at = NEW.created_at WHERE id = NEW.conversation_id;
    RETURN NEW;
END;
$$
"""
TRIGGER_UPDATE_CONVERSATION_TIMESTAMP = """
CREATE TRIGGER trigger_update_conversation_timestamp
AFTER INSERT ON messages
FOR EACH ROW EXECUTE FUNCTION update_conversation_timestamp()
"""


def _on_postgresql(statement: str) -> sa.DDL:
    return sa.DDL(statement).execute_if(dialect="postgresql")  # type: ignore[no-untyped-call]


sa.event.listen(Message.__table__, "after_create", _on_postgresql(UPDATE_CONVERSATION_TIMESTAMP))
sa.event.listen(
    Message.__table__, "after_create", _on_postgresql(TRIGGER_UPDATE_CONVERSATION_TIMESTAMP)
)
sa.event.listen(
    Message.__table__, "after_drop", _on_postgresql("DROP FUNCTION update_conversation_timestamp()")
)


class Chat(Base):
    """A data-analysis chat of a user with an agent of an account."""

    __tablename__ = "chats"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(sa.String(255), server_default="New Chat")
    agent_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        server_default=sa.func.now(), onupdate=sa.func.now()
    )


class ChatMessage(Base):
    """One message of a chat, with the DAX the agent tried."""

    __tablename__ = "chat_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    chat_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chats.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(20))
    content: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str | None] = mapped_column(sa.String(50))
    dax_attempts: Mapped[str | None] = mapped_column(sa.Text)
    final_dax: Mapped[str | None] = mapped_column(sa.Text)
    resolution_note: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class ThoughtRecord(Base):
    """CBT thought record: a situation, the automatic thought and a balanced alternative."""

    __tablename__ = "thought_records"
    __table_args__ = (sa.CheckConstraint("intensity BETWEEN 0 AND 100", name="intensity_range"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    situation: Mapped[str] = mapped_column(sa.Text)
    automatic_thought: Mapped[str] = mapped_column(sa.Text)
    emotion: Mapped[str] = mapped_column(sa.String(100))
    intensity: Mapped[int]
    alternative_thought: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class BehavioralActivation(Base):
    """CBT behavioral activation: a planned activity and whether it was done."""

    __tablename__ = "behavioral_activations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    activity: Mapped[str] = mapped_column(sa.String(200))
    scheduled_for: Mapped[datetime | None]
    completed: Mapped[bool] = mapped_column(server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class ExposureHierarchy(Base):
    """CBT exposure hierarchy: a fear and its graded steps (situation and distress rating)."""

    __tablename__ = "exposure_hierarchies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    fear: Mapped[str] = mapped_column(sa.String(200))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON_DOCUMENT)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
