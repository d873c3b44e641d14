"""Reports are typed values: a report rebuilt from its JSON renders exactly as the original,
in every format, and a check that crashes ends the run as an internal error, never a skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_gate.checks.probe.hook import DataProbe
from migration_gate.cli import main
from migration_gate.findings import Report
from migration_gate.reports import FORMATS, render
from tests.chain_builder import write_chain

USERS = (
    "a1",
    None,
    "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), "
    "sa.Column('name', sa.String(20)))",
    "op.drop_table('users')",
)
LEAVES = ("a2", "a1", "op.create_index('ix_u', 'users', ['id'])", "op.execute('SELECT 1')")
LOSES = (
    "a3",
    "a2",
    "op.drop_column('users', 'name')",
    "op.add_column('users', sa.Column('name', sa.String(20)))",
)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_the_same_from_the_json_report(tmp_path: Path, fmt: str) -> None:
    ini = write_chain(tmp_path, [USERS, LEAVES, LOSES])
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "-c",
                str(ini),
                "roundtrip",
                "--dialect",
                "sqlite",
                "--format",
                "json",
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 1
    )
    data = json.loads(out.read_text())
    direct = Report.from_dict(data)  # what the command returned, as JSON gives it
    again = Report.from_dict(json.loads(render(direct, "json")))
    assert render(again, fmt) == render(direct, fmt)
    assert again.checked == {"sqlite": ["a1", "a2", "a3"]}
    if fmt == "junit":  # passing cases for the clean revision come from `checked`
        assert 'name="roundtrip [a1]"' in render(again, fmt)


def test_a_check_that_crashes_fails_the_run_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_chain(tmp_path, [USERS, LEAVES])

    def broken(self: DataProbe, *args: object) -> object:  # fault injection: a bug in a check
        raise AssertionError("a bug in the data probe")

    monkeypatch.setattr(DataProbe, "_compare", broken)
    code = main(["-c", str(ini), "roundtrip", "--dialect", "sqlite"])
    captured = capsys.readouterr()
    assert code == 3
    assert "internal error AssertionError: a bug in the data probe" in captured.err
    assert "report it" in captured.err
    assert "probe-skipped" not in captured.out and "passed" not in captured.out
