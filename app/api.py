"""A small HTTP API of the reference chat service, used by the e2e tests and by `verify`.

The database comes from the ``DATABASE_URL`` environment variable. This API never runs
migrations (post-mortem 000: a startup migration runner that swallowed its error left
production on the old schema). Migrations are their own deploy step (``migration-gate
deploy``); ``GET /health/schema`` reports the revision the database is at and whether its
schema is the one this code's migrations produce (`migration_gate.readiness`), and answers
503 when it is not, so a load balancer keeps traffic away and a deploy can verify it.

Run it with ``uvicorn app.api:app``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from alembic.config import Config
from fastapi import Depends, FastAPI, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Conversation, Message, MessageRole, User

__all__ = ["app"]

# The user that owns conversations created without a user_id (deploy checks, smoke tests).
DEFAULT_USER_EMAIL = "deploy-check@example.invalid"


#: the Alembic config of this service's migrations (what /health/schema compares with)
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def database_url() -> str:
    """DATABASE_URL (``postgresql://`` URLs use psycopg 3)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


@cache
def get_engine() -> Engine:
    """The engine for DATABASE_URL."""
    return sa.create_engine(database_url(), pool_pre_ping=True)


def get_session() -> Iterator[Session]:
    with Session(get_engine()) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    created_at: datetime


class ConversationIn(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    user_id: uuid.UUID | None = None


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    created_at: datetime
    updated_at: datetime


class MessageIn(BaseModel):
    role: MessageRole
    content: str
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    role: MessageRole
    content: str
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    name: str | None
    created_at: datetime


app = FastAPI(title="reference chat service")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/health/schema")
def schema_health(response: Response) -> dict[str, Any]:
    """``{revision, head, schema_hash, expected_hash, in_sync}`` (`migration_gate.readiness`);
    503 when the database is not at this code's head with the head's schema, or cannot be
    checked (then ``error`` says why)."""
    import migration_gate
    from migration_gate.db.urls import mask_text

    try:
        state: dict[str, Any] = migration_gate.readiness(
            Config(str(ALEMBIC_INI)),
            database_url(),
            pg_url=os.environ.get("MIGRATION_GATE_PG_URL"),
        )
    except Exception as exc:  # a health check that cannot tell says "not ready"
        state = {"in_sync": False, "error": mask_text(f"{type(exc).__name__}: {exc}")}
    if not state["in_sync"]:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return state


@app.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, session: SessionDep) -> UserOut:
    user = User(email=body.email)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, "a user with this email exists") from None
    session.refresh(user)
    return UserOut.model_validate(user)


def _default_user(session: Session) -> User:
    user = session.scalar(sa.select(User).where(User.email == DEFAULT_USER_EMAIL))
    if user is None:
        user = User(email=DEFAULT_USER_EMAIL)
        session.add(user)
        session.flush()
    return user


@app.post("/conversations", status_code=status.HTTP_201_CREATED)
def create_conversation(body: ConversationIn, session: SessionDep) -> ConversationOut:
    """Create a conversation for `user_id`, or for the default user when none is given."""
    if body.user_id is None:
        user_id = _default_user(session).id
    elif session.get(User, body.user_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    else:
        user_id = body.user_id
    conversation = Conversation(user_id=user_id)
    if body.title is not None:
        conversation.title = body.title
    session.add(conversation)
    session.commit()
    session.refresh(conversation)
    return ConversationOut.model_validate(conversation)


def _conversation_or_404(session: Session, conversation_id: uuid.UUID) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    return conversation


@app.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED)
def add_message(conversation_id: uuid.UUID, body: MessageIn, session: SessionDep) -> MessageOut:
    _conversation_or_404(session, conversation_id)
    message = Message(conversation_id=conversation_id, **body.model_dump())
    session.add(message)
    session.commit()
    session.refresh(message)
    return MessageOut.model_validate(message)


@app.get("/conversations/{conversation_id}/messages")
def list_messages(conversation_id: uuid.UUID, session: SessionDep) -> list[MessageOut]:
    """The messages of a conversation, oldest first."""
    _conversation_or_404(session, conversation_id)
    messages = session.scalars(
        sa.select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.created_at, Message.id)
    )
    return [MessageOut.model_validate(message) for message in messages]
