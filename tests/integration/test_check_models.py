"""check-models findings point at real lines: the model's, or the migration's that made the
object, never a made-up line 1 of the head revision."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config

import migration_gate
from migration_gate.findings import Finding

CHAINS = Path(__file__).resolve().parent.parent / "fixtures" / "chains"
DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _check(chain: str, dialect: str, request: pytest.FixtureRequest) -> list[Finding]:
    url: str = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "pg_url")
    report = migration_gate.check_models(Config(str(CHAINS / chain / "alembic.ini")), url)
    return list(report.findings)


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _where(finding: Finding) -> tuple[str | None, int | None, str | None]:
    return (Path(finding.file).name if finding.file else None, finding.line, finding.revision)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_drift_points_at_the_models_lines(dialect: str, request: pytest.FixtureRequest) -> None:
    findings = {f.message.split(": ", 1)[1]: f for f in _check("models_ahead", dialect, request)}
    models = CHAINS / "models_ahead" / "models.py"
    table = findings["table profiles (3 columns) is in the models but no migration creates it"]
    assert _where(table) == ("models.py", _line_of(models, "profiles = sa.Table("), None)
    column = next(f for m, f in findings.items() if m.startswith("column users.name"))
    assert _where(column) == ("models.py", _line_of(models, 'sa.Column("name"'), None)
    assert all(f.line != 1 for f in findings.values())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_objects_only_the_chain_has_point_at_the_migration_that_made_them(
    dialect: str, request: pytest.FixtureRequest
) -> None:
    findings = _check("models_undeclared_objects", dialect, request)
    assert findings and all(f.severity == "info" for f in findings), findings
    a2 = CHAINS / "models_undeclared_objects" / "migrations" / "versions"
    a2 = next(a2.glob("a2_*.py"))
    expected = {"view v_open_tasks": "CREATE VIEW v_open_tasks"}
    if dialect == "postgresql":
        expected["function touch_updated_at()"] = "CREATE FUNCTION touch_updated_at()"
        expected["trigger trg_tasks_touch"] = "CREATE TRIGGER trg_tasks_touch"
    for subject, text in expected.items():
        (finding,) = [f for f in findings if f.message.startswith(subject)]
        assert _where(finding) == (a2.name, _line_of(a2, text), "a2"), finding
    assert len(findings) == len(expected)
