"""Shapes of migrations met on real chains of PyPI applications (notes: realchains.md) that
the gate once misjudged, rebuilt small: a unique index dropped by a name read at run time in
a SQLite batch rebuild (mlflow 1b5f0d9ad7c1), and a link table whose two foreign keys point
at one table, cleaned of self-links before a CHECK forbids them (prefect 2095de406cbe)."""

from __future__ import annotations

from pathlib import Path

import pytest

import migration_gate
from tests.chain_builder import config_for, write_chain

SECRETS = (
    "a1",
    None,
    "op.create_table('secrets', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('secret_name', sa.String(100), nullable=False))\n"
    "op.create_index('unique_secret_name', 'secrets', ['secret_name'], unique=True)",
    "op.drop_table('secrets')",
)
# the index's name is read from the database, as mlflow does for each dialect's spelling
PER_WORKSPACE = (
    "a2",
    "a1",
    """
    found = [i['name'] for i in sa.inspect(op.get_bind()).get_indexes('secrets') if i['unique']]
    with op.batch_alter_table('secrets') as batch:
        for name in found:
            batch.drop_index(name)
        batch.add_column(sa.Column('workspace', sa.String(63), nullable=False,
                                   server_default='default'))
        batch.create_unique_constraint('uq_secrets_workspace_name', ['workspace', 'secret_name'])
    """,
    """
    with op.batch_alter_table('secrets') as batch:
        batch.drop_constraint('uq_secrets_workspace_name', type_='unique')
        batch.drop_column('workspace')
        batch.create_index('unique_secret_name', ['secret_name'], unique=True)
    """,
)


def test_an_index_the_batch_drops_by_a_name_it_read_is_no_batch_loss(
    tmp_path: Path, sqlite_url: str
) -> None:
    ini = write_chain(tmp_path, [SECRETS, PER_WORKSPACE])
    report = migration_gate.roundtrip(config_for(ini), sqlite_url)
    assert not [f for f in report.findings if f.check == "index-detail-lost"], report.findings
    assert report.ok, [f.message for f in report.findings if f.severity == "error"]


DOCS = (
    "a1",
    None,
    "op.create_table('docs', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('title', sa.String(50), nullable=False))\n"
    "op.create_table('links', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('parent_id', sa.Integer, sa.ForeignKey('docs.id'), nullable=False), "
    "sa.Column('reference_id', sa.Integer, sa.ForeignKey('docs.id'), nullable=False))",
    "op.drop_table('links')\nop.drop_table('docs')",
)
NO_SELF_LINKS = (
    "a2",
    "a1",
    """
    op.execute('DELETE FROM links WHERE parent_id = reference_id')
    with op.batch_alter_table('links') as batch:
        batch.create_check_constraint('ck_links_no_self', 'parent_id <> reference_id')
    """,
    """
    with op.batch_alter_table('links') as batch:
        batch.drop_constraint('ck_links_no_self', type_='check')
    """,
)
LATER = (
    "a3",
    "a2",
    "op.add_column('links', sa.Column('note', sa.String(20)))",
    "with op.batch_alter_table('links') as batch:\n    batch.drop_column('note')",
)


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_references_to_one_table_make_no_self_links(
    tmp_path: Path, dialect: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "pg_url")
    ini = write_chain(tmp_path, [DOCS, NO_SELF_LINKS, LATER])
    report = migration_gate.roundtrip(config_for(ini), url)
    # the probe's links name two different docs: the DELETE finds none, and the CHECK
    # lets the probe fill links before a3
    assert not [f for f in report.findings if f.check in ("data-loss", "probe-skipped")], [
        f.message for f in report.findings
    ]
    assert report.ok
