"""messages.role: repair databases that kept the enum type named messagerole (post-mortem 004)

Revision 0006 was once edited after it had run on dev: dev kept a type ``messagerole`` (and
``messages.role`` on it) where every fresh database, and production, have ``message_role``.
This repair is idempotent: where ``messagerole`` does not exist (every fresh database,
production) it does nothing. Where it does, the column moves to ``message_role`` (the type is
renamed when it is the only one) and ``messagerole`` is dropped; every value is kept, and a
value that ``message_role`` lacks makes the cast fail rather than be lost. SQLite has no
enum types: nothing to do there.

Revision ID: 0008
Revises: 0007
Create Date: 2025-05-05 10:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

gate = {
    "irreversible": "a repair: going back would recreate the misnamed type on databases that "
    "never had it, and the fresh ones have nothing to undo",
}

REPAIR = """
DO $$
BEGIN
    IF to_regtype('messagerole') IS NULL THEN
        RETURN;
    END IF;
    IF to_regtype('message_role') IS NULL THEN
        ALTER TYPE messagerole RENAME TO message_role;
        RETURN;
    END IF;
    ALTER TABLE messages ALTER COLUMN role TYPE message_role USING role::text::message_role;
    DROP TYPE messagerole;
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(REPAIR)


def downgrade() -> None:
    pass
