"""The scenario chains of tests/fixtures/chains/: one per known failure, plus clean ones.

Each chain directory holds an Alembic project (alembic.ini, migrations/, optional
models.py) and an `expected.yaml` beside it:

    description: what failure this reproduces (cites the post-mortem if any)
    command: roundtrip | check-models
    dialects: [sqlite, postgresql]       # the dialects the scenario is run on
    findings:                            # each must be present in the run of its dialect
      - {check: ..., severity: ..., revision: ..., dialect: ..., message_contains: ...}
    no_errors_except: [check ids]        # any OTHER error finding fails; [] for clean chains
    absent:                              # optional: no finding may match any of these
      - {revision: a3, severity: error}

Matching: every key given must match (`message_contains` is a substring of the message);
a key left out matches anything. An expectation with `dialect: sqlite` applies to the
SQLite run only; `dialect: null` (graph checks, which have no dialect) and no `dialect`
key apply to every run.

The first tests check the fixtures themselves (no database, no engine), so a broken
fixture is told apart from a broken engine.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic.config import Config
from alembic.script import ScriptDirectory

CHAINS = Path(__file__).resolve().parent.parent / "fixtures" / "chains"
DIALECTS = ("sqlite", "postgresql")
COMMANDS = ("roundtrip", "check-models")
#: the stable check ids of DESIGN.md (unsafe-lock is used as unsafe-lock/<rule>)
CHECK_IDS = frozenset(
    {
        "multiple-heads",
        "broken-down-revision",
        "duplicate-revision",
        "upgrade-failed",
        "downgrade-failed",
        "missing-downgrade",
        "downgrade-leaves-trace",
        "reupgrade-failed",
        "reupgrade-differs",
        "data-loss",
        "model-drift",
        "dialect-divergence",
        "destructive-operation",
        "fk-type-mismatch",
        "enum-naming",
        "unsafe-lock",
        "edited-migration",
        "unlocked-migration",
        "replay-failed",
        "replay-drift",
        "table-rewrite",
        "schema-drift",
        "ledger-mismatch",
        "deploy-failed",
        "api-check-failed",
        "probe-skipped",
        "chain-load-failed",
        "index-detail-lost",
    }
)
#: checks about the revision graph: they have no dialect
GRAPH_CHECKS = frozenset({"multiple-heads", "broken-down-revision", "duplicate-revision"})
#: checks that compare the walks of both dialects (`roundtrip --dialect all`): a run on one
#: dialect cannot report them; tests/integration/test_probe.py runs those chains (issue 3)
CROSS_DIALECT_CHECKS = frozenset({"dialect-divergence"})
TOP_KEYS = frozenset(
    {"description", "command", "dialects", "findings", "no_errors_except", "absent"}
)
SPEC_KEYS = frozenset({"check", "severity", "revision", "dialect", "message_contains"})


def _chain_dirs() -> list[Path]:
    return sorted(p.parent for p in CHAINS.glob("*/expected.yaml"))


def _expected(chain: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((chain / "expected.yaml").read_text(encoding="utf-8"))
    return data


def _cases() -> list[Any]:
    cases = []
    for chain in _chain_dirs():
        for dialect in _expected(chain).get("dialects") or DIALECTS:
            marks = [pytest.mark.postgres] if dialect == "postgresql" else []
            cases.append(pytest.param(chain, dialect, id=f"{chain.name}-{dialect}", marks=marks))
    return cases


def _applies(spec: Mapping[str, Any], dialect: str) -> bool:
    """Whether an expectation concerns the run on `dialect`."""
    if spec.get("check") in CROSS_DIALECT_CHECKS:
        return False
    return "dialect" not in spec or spec["dialect"] in (None, dialect)


def _matches(finding: Any, spec: Mapping[str, Any]) -> bool:
    for key, want in spec.items():
        if key == "message_contains":
            if str(want) not in finding.message:
                return False
        elif getattr(finding, key) != want:
            return False
    return True


def _show(findings: list[Any]) -> str:
    return (
        "\n".join(
            f"  {f.severity:7} {f.check:24} rev={f.revision} dialect={f.dialect}: {f.message}"
            for f in findings
        )
        or "  (no findings)"
    )


# ---------------------------------------------------------------------------------------
# the fixtures themselves


def test_there_are_scenario_chains() -> None:
    names = {c.name for c in _chain_dirs()}
    assert len(names) >= 17, names
    assert any(n.startswith("clean_") for n in names)


@pytest.mark.parametrize("chain", _chain_dirs(), ids=lambda p: p.name)
def test_expected_yaml_is_well_formed(chain: Path) -> None:
    exp = _expected(chain)
    assert set(exp) <= TOP_KEYS, set(exp) - TOP_KEYS
    assert isinstance(exp.get("description"), str) and exp["description"].strip()
    assert exp.get("command") in COMMANDS
    assert exp.get("dialects") and set(exp["dialects"]) <= set(DIALECTS)
    assert isinstance(exp.get("findings"), list)
    assert isinstance(exp.get("no_errors_except"), list)
    for spec in exp["findings"]:
        assert set(spec) <= SPEC_KEYS, spec
        assert spec.get("check") in CHECK_IDS, spec
        assert spec.get("severity", "error") in ("error", "warning", "info"), spec
        if spec["check"] in GRAPH_CHECKS:
            assert spec.get("dialect", None) is None, f"graph checks have no dialect: {spec}"
        elif spec.get("dialect") is not None:
            assert spec["dialect"] in exp["dialects"], spec
        if spec.get("severity") == "error":
            assert spec["check"] in exp["no_errors_except"], f"expected error not allowed: {spec}"
    for spec in exp.get("absent") or []:
        assert spec and set(spec) <= SPEC_KEYS, spec
    for check in exp["no_errors_except"]:
        assert check in CHECK_IDS, check
    if chain.name.startswith("clean_"):
        assert exp["findings"] == [] and exp["no_errors_except"] == [], (
            "clean chains expect nothing"
        )
    else:
        assert exp["findings"], "a broken chain must expect at least one finding"
    assert (exp["command"] == "check-models") == (chain / "models.py").is_file()


@pytest.mark.parametrize("chain", _chain_dirs(), ids=lambda p: p.name)
def test_chain_layout(chain: Path) -> None:
    ini = (chain / "alembic.ini").read_text(encoding="utf-8")
    assert re.search(r"^script_location\s*=\s*%\(here\)s/migrations\s*$", ini, re.M), ini
    assert re.search(r"^sqlalchemy\.url\s*=\s*sqlite:///:memory:\s*$", ini, re.M), ini
    env = (chain / "migrations" / "env.py").read_text(encoding="utf-8").splitlines()
    assert 3 <= len(env) <= 5, "env.py must only delegate to _shared/env_common.py"
    assert any('"_shared" / "env_common.py"' in line for line in env)
    assert any(f.suffix == ".py" for f in (chain / "migrations" / "versions").iterdir())


@pytest.mark.parametrize(
    "chain",
    [c for c in _chain_dirs() if not {s["check"] for s in _expected(c)["findings"]} & GRAPH_CHECKS],
    ids=lambda p: p.name,
)
def test_chain_graph_is_sound_unless_the_scenario_is_about_the_graph(chain: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        script = ScriptDirectory.from_config(Config(str(chain / "alembic.ini")))
        assert len(script.get_heads()) == 1
        assert list(script.walk_revisions())


# ---------------------------------------------------------------------------------------
# the engine on each chain


@pytest.mark.parametrize(("chain", "dialect"), _cases())
def test_fixture_chain(chain: Path, dialect: str, request: pytest.FixtureRequest) -> None:
    import migration_gate

    exp = _expected(chain)
    url: str = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "pg_url")
    config = Config(str(chain / "alembic.ini"))
    if exp["command"] == "roundtrip":
        report = migration_gate.roundtrip(config, url)
    else:
        report = migration_gate.check_models(config, url)
    found = list(report.findings)
    context = f"{chain.name} on {dialect} ({exp['description']}); findings:\n{_show(found)}"

    missing = [
        s
        for s in exp["findings"]
        if _applies(s, dialect) and not any(_matches(f, s) for f in found)
    ]
    assert not missing, f"expected findings not reported: {missing}\n{context}"

    allowed = set(exp["no_errors_except"])
    unexpected = [f for f in found if f.severity == "error" and f.check not in allowed]
    assert not unexpected, f"unexpected error findings:\n{_show(unexpected)}\n{context}"

    forbidden = [
        (s, f)
        for s in exp.get("absent") or []
        if _applies(s, dialect)
        for f in found
        if _matches(f, s)
    ]
    assert not forbidden, f"findings that must be absent: {forbidden}\n{context}"

    assert report.ok == (not any(f.severity == "error" for f in found))
    if chain.name.startswith("clean_"):
        assert report.ok, context
    assert report.to_dict()["findings"] == [f.to_dict() for f in found]
