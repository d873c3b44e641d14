"""Write synthetic linear Alembic chains for the benchmarks.

`generate(root, n, ...)` writes a complete Alembic project into `root`: `alembic.ini`
(``script_location = %(here)s/migrations``), `migrations/env.py` (the connection-sharing
pattern: ``config.attributes.get("connection")``, else the URL), `n` revisions and a
`pyproject.toml` whose ``[tool.migration-gate]`` makes `root` the project root (so the
lock file is written there, not in an enclosing project). Revision `i` creates table `t{i}`
with a primary key, a name column, an index on it and a foreign key to `t{i-1}`; its
downgrade drops the table. Options add, every few revisions, a native enum column (its type
is dropped by the downgrade), a check constraint, or extra indexes; with `models`, a
`models.py` declares the same schema as SQLAlchemy models and env.py hands its MetaData to
Alembic as ``target_metadata`` (what `check-models` compares, and `lint` reads enums from).

env.py also honours ``config.attributes["target_schema"]`` (alembic-gauntlet runs each
test in its own PostgreSQL schema): it sets the search_path and the version table schema.

    python benchmarks/generate.py --n 200 --enums --checks --models benchmarks/.work/chain
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChainSpec", "generate", "revision_id"]

ENV_PY = '''"""env.py of a synthetic benchmark chain: the connection-sharing pattern."""
import importlib.util
import sys
from pathlib import Path

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

config = context.config


def load_models():
    """The MetaData of models.py beside migrations/, if any (imported once per process)."""
    path = Path(__file__).resolve().parent.parent / "models.py"
    if not path.is_file():
        return None
    key = f"bench_models:{path}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[key] = module
    return sys.modules[key].metadata


target_metadata = load_models()


def run(connection):
    schema = config.attributes.get("target_schema")
    opts = {}
    if schema:
        connection.execute(text(f'SET search_path TO "{schema}"'))
        opts["version_table_schema"] = schema
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", **opts)
    with context.begin_transaction():
        context.run_migrations()


connectable = config.attributes.get("connection")
if isinstance(connectable, Connection):
    run(connectable)
elif connectable is not None:  # an engine, or pytest-alembic's connection wrapper
    with connectable.connect() as conn:
        run(conn)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
'''

INI = """[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = {url}
"""

PYPROJECT = """[tool.migration-gate]
lock_file = "migrations/migration-gate.lock"
"""

MODELS_PY = '''"""Models of a synthetic benchmark chain: the schema its revisions create."""
import sqlalchemy as sa

N, ENUM_EVERY, CHECK_EVERY, EXTRA_INDEXES = {n}, {enum_every}, {check_every}, {extra_indexes}

metadata = sa.MetaData()
for i in range(1, N + 1):
    name = f"t{{i:05d}}"
    items = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
    ]
    if i > 1:
        items.append(
            sa.Column(
                "prev_id",
                sa.Integer,
                sa.ForeignKey(f"t{{i - 1:05d}}.id", name=f"fk_{{name}}_prev", ondelete="CASCADE"),
            )
        )
    items += [sa.Column(f"extra{{k}}", sa.Integer) for k in range(EXTRA_INDEXES)]
    if ENUM_EVERY and i % ENUM_EVERY == 0:
        items.append(sa.Column("state", sa.Enum("new", "open", "closed", name=f"state_{{name}}")))
    if CHECK_EVERY and i % CHECK_EVERY == 0:
        items.append(sa.CheckConstraint("length(name) > 0", name=f"ck_{{name}}_name"))
    items.append(sa.Index(f"ix_{{name}}_name", "name"))
    items += [sa.Index(f"ix_{{name}}_extra{{k}}", f"extra{{k}}") for k in range(EXTRA_INDEXES)]
    sa.Table(name, metadata, *items)
'''


@dataclass(frozen=True)
class ChainSpec:
    """What each revision of the chain creates."""

    n: int = 200
    #: every `enum_every`-th revision adds a native enum column (0: none)
    enum_every: int = 0
    #: every `check_every`-th revision adds a check constraint (0: none)
    check_every: int = 0
    #: extra single-column indexes per table (besides the one on `name`)
    extra_indexes: int = 0
    #: also write models.py (the same schema as SQLAlchemy models, env.py's target_metadata)
    models: bool = False


def revision_id(i: int) -> str:
    return f"r{i:05d}"


def _table(i: int) -> str:
    return f"t{i:05d}"


def _revision(i: int, spec: ChainSpec) -> str:
    table, rev = _table(i), revision_id(i)
    parent = repr(revision_id(i - 1)) if i > 1 else "None"
    enum = spec.enum_every and i % spec.enum_every == 0
    check = spec.check_every and i % spec.check_every == 0
    cols = [
        "sa.Column('id', sa.Integer, primary_key=True)",
        "sa.Column('name', sa.String(100), nullable=False)",
        "sa.Column('created_at', sa.DateTime, server_default=sa.func.now(), nullable=False)",
    ]
    if i > 1:
        cols.append(
            f"sa.Column('prev_id', sa.Integer, sa.ForeignKey('{_table(i - 1)}.id', "
            f"name='fk_{table}_prev', ondelete='CASCADE'))"
        )
    cols += [f"sa.Column('extra{k}', sa.Integer)" for k in range(spec.extra_indexes)]
    if enum:
        cols.append(f"sa.Column('state', sa.Enum('new', 'open', 'closed', name='state_{table}'))")
    if check:
        cols.append(f"sa.CheckConstraint('length(name) > 0', name='ck_{table}_name')")
    up = [
        f"op.create_table(\n        '{table}',\n        " + ",\n        ".join(cols) + ",\n    )",
        f"op.create_index('ix_{table}_name', '{table}', ['name'])",
    ]
    up += [
        f"op.create_index('ix_{table}_extra{k}', '{table}', ['extra{k}'])"
        for k in range(spec.extra_indexes)
    ]
    down = [f"op.drop_table('{table}')"]
    if enum:
        down.append(f"sa.Enum(name='state_{table}').drop(op.get_bind(), checkfirst=True)")
    body = "\n    ".join(up)
    undo = "\n    ".join(down)
    return (
        f'"""create {table}"""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {rev!r}\ndown_revision = {parent}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n    {body}\n\n\ndef downgrade():\n    {undo}\n"
    )


def generate(root: Path, spec: ChainSpec, *, url: str = "sqlite://") -> Path:
    """Write the project into `root` (replacing its migrations); returns the alembic.ini path."""
    versions = root / "migrations" / "versions"
    if versions.exists():
        shutil.rmtree(versions)
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    ini = root / "alembic.ini"
    ini.write_text(INI.format(url=url.replace("%", "%%")))
    (root / "pyproject.toml").write_text(PYPROJECT)
    models = root / "models.py"
    if spec.models:
        models.write_text(
            MODELS_PY.format(
                n=spec.n,
                enum_every=spec.enum_every,
                check_every=spec.check_every,
                extra_indexes=spec.extra_indexes,
            )
        )
    elif models.exists():
        models.unlink()
    for i in range(1, spec.n + 1):
        (versions / f"{revision_id(i)}_create_{_table(i)}.py").write_text(_revision(i, spec))
    return ini


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="directory to write the Alembic project into")
    parser.add_argument("--n", type=int, default=200, help="number of revisions (default 200)")
    parser.add_argument(
        "--enums",
        type=int,
        nargs="?",
        const=5,
        default=0,
        metavar="EVERY",
        help="a native enum column every EVERY revisions (default 5)",
    )
    parser.add_argument(
        "--checks",
        type=int,
        nargs="?",
        const=3,
        default=0,
        metavar="EVERY",
        help="a check constraint every EVERY revisions (default 3)",
    )
    parser.add_argument(
        "--indexes", type=int, default=0, metavar="K", help="K extra indexed columns per table"
    )
    parser.add_argument(
        "--models", action="store_true", help="also write models.py (env.py's target_metadata)"
    )
    args = parser.parse_args(argv)
    ini = generate(
        args.root,
        ChainSpec(
            n=args.n,
            enum_every=args.enums,
            check_every=args.checks,
            extra_indexes=args.indexes,
            models=args.models,
        ),
    )
    print(ini)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
