"""Write small Alembic projects into a temporary directory, for tests of the engine itself.

`write_chain(root, revisions, env=...)` creates `alembic.ini`, `migrations/env.py` and one
file per revision; each revision is (id, parent, upgrade body, downgrade body).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from alembic.config import Config

SHARED_ENV = """
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

config = context.config


def run(connection):
    context.configure(connection=connection, target_metadata=None,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
"""

#: an env.py that ignores the shared connection and always connects to the URL itself
URL_ONLY_ENV = """
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
with engine.connect() as conn:
    context.configure(connection=conn, render_as_batch=conn.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

Revision = tuple[str, str | None, str, str]

#: SHARED_ENV with one transaction per migration; each run on a database is logged (to
#: migrations/commands.log), so a test can count the Alembic commands
PER_MIGRATION_ENV = """
from pathlib import Path
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

config = context.config


def run(connection):
    with open(Path(__file__).with_name("commands.log"), "a") as log:
        log.write(str(connection.engine.url.database) + "\\n")
    context.configure(connection=connection, target_metadata=None,
                      render_as_batch=connection.dialect.name == "sqlite",
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
"""

#: declares transaction_per_migration, but configures Alembic in a transaction it began
#: itself: Alembic then runs every revision of a command in that one transaction
OWN_TRANSACTION_ENV = """
from pathlib import Path
from alembic import context

config = context.config
connection = config.attributes["connection"]
with open(Path(__file__).with_name("commands.log"), "a") as log:
    log.write(str(connection.engine.url.database) + "\\n")
with connection.begin():
    context.configure(connection=connection, target_metadata=None,
                      transaction_per_migration=True)
    context.run_migrations()
"""


def table_up(name: str) -> str:
    """An upgrade body that creates table `name` (an id column)."""
    return f"op.create_table({name!r}, sa.Column('id', sa.Integer, primary_key=True))"


def table_chain(n: int, **bodies: str) -> list[Revision]:
    """a1..an, each creating table t_aK, with `bodies[aK]` instead where given."""
    revs: list[Revision] = []
    for k in range(1, n + 1):
        rid = f"a{k}"
        up = bodies.get(rid, table_up(f"t_{rid}"))
        revs.append((rid, f"a{k - 1}" if k > 1 else None, up, "pass"))
    return revs


def write_chain(
    root: Path, revisions: Sequence[Revision], *, env: str = SHARED_ENV, extra: str = ""
) -> Path:
    """Write the project; returns the path of its alembic.ini."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "env.py").write_text(textwrap.dedent(env))
    ini = root / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = sqlite://\n")
    for rid, parent, up, down in revisions:
        body = (
            f'"""revision {rid}"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
            f"revision = {rid!r}\ndown_revision = {parent!r}\n{extra}\n\n"
            f"def upgrade():\n{textwrap.indent(textwrap.dedent(up).strip() or 'pass', '    ')}\n\n\n"
            f"def downgrade():\n{textwrap.indent(textwrap.dedent(down).strip() or 'pass', '    ')}\n"
        )
        (versions / f"{rid}.py").write_text(body)
    return ini


def config_for(ini: Path) -> Config:
    return Config(str(ini))
