"""check-models on models the database refuses to create: the user's models fail, so the
command exits 2 (a configuration error) naming the table, the object and the database's
message, never an internal error (exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate.cli import main
from tests.chain_builder import write_chain

CHAIN = [
    (
        "a1",
        None,
        "op.create_table('t_0001', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('name', sa.String(50)))\n"
        "op.create_index('ix_t_0001_name', 't_0001', ['name'])",
        "op.drop_table('t_0001')",
    )
]

#: the same index twice: index=True (named by the convention) and an Index of that name
MODELS = """
import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={"ix": "ix_%(column_0_label)s"})
sa.Table(
    "t_0001",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50), index=True),
    sa.Index("ix_t_0001_name", "name"),
)
"""


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_models_that_cannot_be_created_are_a_config_error(
    tmp_path: Path, dialect: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_chain(tmp_path, CHAIN)
    module = f"refused_models_{dialect}"  # a module name of its own: imports are cached
    (tmp_path / f"{module}.py").write_text(MODELS)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.migration-gate]\nmodels = "{module}:metadata"\n'
    )
    args = ["-c", str(ini), "check-models", "--dialect", dialect]
    if dialect == "postgresql":
        args += ["--pg-url", request.getfixturevalue("pg_admin_url")]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"FAILED: the models cannot be created on {dialect}: "), err
    assert "model t_0001: index ix_t_0001_name: " in err
    assert "already exists" in err  # the database's own message
    assert "internal error" not in err and len(err.strip().splitlines()) == 1
