"""Fail closed: a chain that cannot be loaded, an empty selection, a report that cannot be
written, a broken lock file... each is an error or a usage error, never "passed"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_gate.cli import main
from tests.chain_builder import write_chain

USERS = (
    "a1",
    None,
    "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True))",
    "op.drop_table('users')",
)
NAME = (
    "a2",
    "a1",
    "op.add_column('users', sa.Column('name', sa.String(20)))",
    "op.drop_column('users', 'name')",
)
THIRD = (
    "a3",
    "a2",
    "op.create_index('ix_users_name', 'users', ['name'])",
    "op.drop_index('ix_users_name', 'users')",
)


def _poison(ini: Path, rev: str, how: str) -> Path:
    """Make one revision file fail to load: `how` is import, raise, syntax or encoding."""
    path = ini.parent / "migrations" / "versions" / f"{rev}.py"
    text = path.read_text()
    if how == "import":
        path.write_text(
            text.replace(
                "from alembic import op\n", "from alembic import op\nimport not_installed_pkg\n"
            )
        )
    elif how == "raise":
        path.write_text(
            text.replace(
                "from alembic import op\n",
                "from alembic import op\nraise RuntimeError('settings are missing')\n",
            )
        )
    elif how == "syntax":
        path.write_text(text.replace("def upgrade():", "def upgrade(:"))
    else:
        path.write_bytes(text.replace("revision a2", "r\xe9vision a2").encode("latin-1"))
    return path


def _json(tmp_path: Path, argv: list[str]) -> tuple[int, dict[str, object]]:
    out = tmp_path / "report.json"
    code = main([*argv, "--format", "json", "--output", str(out), "--quiet"])
    return code, json.loads(out.read_text()) if out.exists() else {}


@pytest.mark.parametrize(
    ("how", "line", "error"),
    [
        ("import", 4, "ModuleNotFoundError: No module named 'not_installed_pkg'"),
        ("raise", 4, "RuntimeError: settings are missing"),
        ("syntax", 9, "SyntaxError"),
        ("encoding", None, "invalid or missing encoding declaration"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["roundtrip", "--dialect", "sqlite"],
        ["lint", "--dialect", "sqlite"],
        ["check-models", "--dialect", "sqlite"],
        ["lock", "--dialect", "sqlite"],
    ],
)
def test_a_chain_that_cannot_load_is_an_error_on_every_command(
    tmp_path: Path, command: list[str], how: str, line: int | None, error: str
) -> None:
    ini = write_chain(tmp_path, [USERS, NAME, THIRD])
    path = _poison(ini, "a2", how)
    code, report = _json(tmp_path, ["-c", str(ini), *command])
    assert code == 1, report
    assert report["ok"] is False
    failed = [f for f in report["findings"] if f["check"] == "chain-load-failed"]  # type: ignore[union-attr, index]
    assert len(failed) == 1, report["findings"]
    (finding,) = failed
    assert finding["severity"] == "error"
    assert finding["file"].endswith(path.name)
    assert finding["line"] == line
    assert error in finding["message"]
    assert not (tmp_path / "migrations" / "migration-gate.lock").exists()  # lock wrote nothing


def test_lock_check_on_a_chain_that_cannot_load_fails(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS, NAME])
    assert main(["-c", str(ini), "lock", "--dialect", "sqlite", "--quiet"]) == 0
    _poison(ini, "a2", "import")
    code, report = _json(tmp_path, ["-c", str(ini), "lock", "--check"])
    assert code == 1
    assert [f["check"] for f in report["findings"]] == ["chain-load-failed"]  # type: ignore[union-attr, index]


def test_env_py_that_raises_is_named_not_the_first_migration(tmp_path: Path) -> None:
    env = "from alembic import context\nimport sqlalchemy\n\nraise RuntimeError('DATABASE_URL is not set')\n"
    ini = write_chain(tmp_path, [USERS, NAME], env=env)
    code, report = _json(tmp_path, ["-c", str(ini), "roundtrip", "--dialect", "sqlite"])
    assert code == 1
    (finding,) = report["findings"]  # type: ignore[misc]
    assert finding["check"] == "chain-load-failed" and finding["revision"] is None
    assert finding["file"].endswith("migrations/env.py") and finding["line"] == 4
    assert "env.py raised on sqlite before any revision ran" in finding["message"]
    assert "DATABASE_URL is not set" in finding["message"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "a3", "--to", "a1"], "a3 comes after a1"),
        (["--shard", "1/99"], "selects no revision"),
        (["--from", "zz"], "--from zz: no such revision"),
        (["--to", "a"], "ambiguous"),
        (["--from", "head"], "use --from base or --to head"),
    ],
)
def test_an_empty_or_unknown_selection_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    ini = write_chain(tmp_path, [USERS, NAME, THIRD])
    assert main(["-c", str(ini), "roundtrip", "--dialect", "sqlite", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith("FAILED: ") and "Traceback" not in err


def test_selection_by_prefix_base_and_head(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [USERS, NAME, THIRD])
    code, report = _json(
        tmp_path,
        ["roundtrip", "-c", str(ini), "--dialect", "sqlite", "--from", "base", "--to", "a2"],
    )
    assert code == 0 and report["checked"] == {"sqlite": ["a1", "a2"]}
    code, report = _json(
        tmp_path,
        ["roundtrip", "-c", str(ini), "--dialect", "sqlite", "--from", "a2", "--to", "head"],
    )
    assert code == 0 and report["checked"] == {"sqlite": ["a2", "a3"]}


def test_an_unwritable_output_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_chain(tmp_path, [USERS])
    missing = tmp_path / "no" / "such" / "dir" / "r.json"
    code = main(
        [
            "-c",
            str(ini),
            "roundtrip",
            "--dialect",
            "sqlite",
            "--format",
            "json",
            "--output",
            str(missing),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "does not exist" in captured.err and "sqlite 1/1" not in captured.err  # no walk ran
    code = main(["-c", str(ini), "roundtrip", "--dialect", "sqlite", "--output", str(tmp_path)])
    assert code == 2 and "is a directory" in capsys.readouterr().err


def test_a_report_that_cannot_be_written_after_the_walk_keeps_the_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    leaves = ("a2", "a1", "op.create_index('ix_u', 'users', ['id'])", "op.execute('SELECT 1')")
    ini = write_chain(tmp_path, [USERS, leaves])
    out = tmp_path / "r.json"
    real = Path.write_text

    def disk_full(self: Path, *args: object, **kwargs: object) -> int:  # fault injection
        if self == out:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", disk_full)
    code = main(
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
    captured = capsys.readouterr()
    assert code == 3
    assert "downgrade-leaves-trace" in captured.out  # the text report still reached the terminal
    assert "No space left on device" in captured.err and "the text report is above" in captured.err


def test_lock_check_refuses_an_unknown_head_and_a_binary_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_chain(tmp_path, [USERS, NAME])
    assert main(["-c", str(ini), "lock", "--dialect", "sqlite", "--quiet"]) == 0
    lock = tmp_path / "migrations" / "migration-gate.lock"
    text = lock.read_text()
    lock.write_text(text.replace("head: a2", "head: a9"))
    code, report = _json(tmp_path, ["-c", str(ini), "lock", "--check"])
    assert code == 1
    assert any("names a9 as the head" in f["message"] for f in report["findings"])  # type: ignore[union-attr, index]
    lock.write_bytes(b"\x00\xff\xfe garbage \x89PNG\r\n")
    assert main(["-c", str(ini), "lock", "--check"]) == 2
    err = capsys.readouterr().err
    assert "is not a lock file" in err or "expected 'key: value'" in err
    assert len(err.strip().splitlines()) == 1


def test_models_naming_a_class_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = write_chain(tmp_path, [USERS])
    (tmp_path / "mymodels.py").write_text(
        # declarative_base() makes a class on SQLAlchemy 1.4 and 2 alike
        "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
    )
    (tmp_path / "pyproject.toml").write_text("[tool.migration-gate]\nlock_file = 'x.lock'\n")
    assert (
        main(["-c", str(ini), "check-models", "--dialect", "sqlite", "--models", "mymodels:Base"])
        == 2
    )
    err = capsys.readouterr().err
    assert "not a SQLAlchemy MetaData" in err and "Base.metadata" in err


def test_check_models_on_a_broken_graph_reports_it(tmp_path: Path) -> None:
    orphan = (
        "a2",
        "a0",
        "op.add_column('users', sa.Column('n', sa.Integer))",
        "op.drop_column('users', 'n')",
    )
    ini = write_chain(tmp_path, [USERS, orphan])
    # a raw UserWarning of Alembic's would fail this test (filterwarnings = error)
    code, report = _json(tmp_path, ["-c", str(ini), "check-models", "--dialect", "sqlite"])
    assert code == 1
    assert [f["check"] for f in report["findings"]] == ["broken-down-revision"]  # type: ignore[union-attr, index]


@pytest.mark.parametrize(
    "argv",
    [
        ["roundtrip", "--dialect", "sqlite", "--from", "zz"],  # usage error: 2
        [
            "roundtrip",
            "--dialect",
            "postgresql",
            "--pg-url",
            "postgresql://u:pw@127.0.0.1:1/postgres",
        ],  # 3
    ],
)
def test_debug_adds_the_traceback_and_keeps_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    ini = write_chain(tmp_path, [USERS])
    plain = main(["-c", str(ini), *argv])
    quiet = capsys.readouterr().err
    debug = main(["-c", str(ini), *argv, "--debug"])
    loud = capsys.readouterr().err
    assert plain == debug and plain in (2, 3)
    assert "Traceback" not in quiet and "Traceback" in loud
    assert "pw@" not in loud


def test_config_may_follow_the_verb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ini = write_chain(tmp_path, [USERS])
    assert main(["roundtrip", "-c", str(ini), "--dialect", "sqlite"]) == 0
    assert "roundtrip: passed" in capsys.readouterr().out


def test_markdown_lists_failing_revisions_in_chain_order(tmp_path: Path) -> None:
    leaves = ("a2", "a1", "op.create_index('ix_a', 'users', ['id'])", "pass")
    more = ("a3", "a2", "op.create_index('ix_b', 'users', ['id'])", "pass")
    ini = write_chain(tmp_path, [USERS, leaves, more], extra='gate = {"irreversible": ""}')
    out = tmp_path / "r.md"
    main(
        [
            "-c",
            str(ini),
            "roundtrip",
            "--dialect",
            "sqlite",
            "--format",
            "markdown",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    text = out.read_text()
    assert text.index("### Revision `a2`") < text.index("### Revision `a3`")


def test_lint_and_roundtrip_agree_on_an_empty_irreversible_reason(tmp_path: Path) -> None:
    empty_down = ("a2", "a1", "op.create_index('ix_a', 'users', ['id'])", "pass")
    ini = write_chain(tmp_path, [USERS, empty_down], extra='gate = {"irreversible": ""}')
    results: dict[str, set[str]] = {}
    for command in ("roundtrip", "lint"):
        code, report = _json(tmp_path, ["-c", str(ini), command, "--dialect", "sqlite"])
        results[command] = {
            f["revision"] for f in report["findings"] if f["check"] == "missing-downgrade"
        }  # type: ignore[union-attr, index]
        assert code == 1
    assert results["roundtrip"] == results["lint"] == {"a2"}
    declared = write_chain(
        tmp_path / "ok", [USERS, empty_down], extra='gate = {"irreversible": "it cannot"}'
    )
    for command in ("roundtrip", "lint"):
        code, report = _json(tmp_path, ["-c", str(declared), command, "--dialect", "sqlite"])
        assert not [f for f in report["findings"] if f["check"] == "missing-downgrade"]  # type: ignore[union-attr, index]
