"""The CI renderers: Markdown summary, JUnit XML (read back with junitparser), annotations."""

from __future__ import annotations

from pathlib import Path

from junitparser import Failure, JUnitXml

from migration_gate.findings import Finding, Report
from migration_gate.reports import FORMATS, render
from migration_gate.reports.annotations import annotation, escape_data, escape_property


def sample() -> Report:
    report = Report("roundtrip")
    report.add(
        Finding(
            "data-loss",
            "error",
            "upgrade of a2 on sqlite empties messages: all 3 row(s) are gone",
            revision="a2",
            dialect="sqlite",
            file="migrations/versions/a2.py",
            line=12,
            details={"hint": 'keep the rows, or declare gate = {"destructive": "why"}'},
        ),
        Finding(
            "downgrade-leaves-trace",
            "error",
            "downgrade of a2 does not restore <the> schema | x",
            revision="a2",
            dialect="postgresql",
            file="migrations/versions/a2.py",
            line=30,
            details={
                "diff": ["index ix_a left behind", "index ix_b left behind"],
                "error": 'UndefinedTable: relation "x" does not exist ```',
            },
        ),
        Finding("multiple-heads", "error", "two heads: a3, a4"),
        Finding(
            "data-loss",
            "warning",
            "upgrade of a5 drops t (declared destructive: empty)",
            revision="a5",
            dialect="sqlite",
            file="migrations/versions/a5.py",
            line=9,
        ),
        Finding(
            "probe-skipped",
            "info",
            "data probe left g empty before a1 on sqlite: geometry",
            revision="a1",
            dialect="sqlite",
        ),
    )
    report.timings["sqlite.total"] = 1.5
    report.checked = {"sqlite": ["a1", "a2", "a5", "a6"], "postgresql": ["a1", "a2"]}
    report.sql = {"a2": "DROP TABLE messages;", "a6": "CREATE INDEX ix ON t (c);"}
    return report


def test_formats_are_registered() -> None:
    assert {"text", "json", "markdown", "junit", "annotations"} <= set(FORMATS)


def test_markdown_gives_the_verdict_first_then_each_failing_revision() -> None:
    text = render(sample(), "markdown")
    lines = text.splitlines()
    assert lines[0] == "## ❌ migration-gate roundtrip: failed"
    assert "**3 error(s)**, 1 warning(s), 1 note(s)" in text
    a2 = text.index("### Revision `a2`")
    assert a2 < text.index("### The revision graph") < text.index("### Warnings and notes")
    section = text[a2 : text.index("### The revision graph")]
    assert "`data-loss`" in section and "`downgrade-leaves-trace`" in section
    assert "    - index ix_b left behind" in section  # the diff
    assert (
        "Database error:" in section and "````text" in section
    )  # fence longer than the ``` inside
    assert "**Fix:** keep the rows" in section
    assert "&lt;the&gt; schema \\| x" in section  # no raw HTML, no table breaks
    assert "<summary>SQL of revision a2</summary>" in section and "DROP TABLE messages;" in section
    # warnings and notes are listed, the SQL of other revisions is collapsible
    tail = text[text.index("### Warnings and notes") :]
    assert "`a5`" in tail and "probe-skipped" in tail
    assert "<summary>SQL of revision a6</summary>" in tail


def test_markdown_of_a_clean_report_passes() -> None:
    assert render(Report("roundtrip"), "markdown").startswith(
        "## ✅ migration-gate roundtrip: passed"
    )


def test_junit_has_one_case_per_check_revision_and_dialect(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(render(sample(), "junit"), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    cases = {(suite.name, case.name): case for suite in xml for case in suite}
    failed = {
        key for key, case in cases.items() if any(isinstance(r, Failure) for r in case.result)
    }
    assert failed == {
        ("migration-gate roundtrip [sqlite]", "data-loss [a2]"),
        ("migration-gate roundtrip [postgresql]", "downgrade-leaves-trace [a2]"),
        ("migration-gate roundtrip [chain]", "multiple-heads"),
    }
    warning = cases[("migration-gate roundtrip [sqlite]", "data-loss [a5]")]
    assert warning.is_passed and "declared destructive" in (warning.system_out or "")
    # checked revisions without findings get a passing case
    assert cases[("migration-gate roundtrip [sqlite]", "roundtrip [a6]")].is_passed
    assert ("migration-gate roundtrip [postgresql]", "roundtrip [a1]") in cases
    failure = cases[
        ("migration-gate roundtrip [postgresql]", "downgrade-leaves-trace [a2]")
    ].result[0]
    assert "index ix_b left behind" in (failure.text or "")
    sqlite_suite = next(s for s in xml if s.name.endswith("[sqlite]"))
    assert (sqlite_suite.tests, sqlite_suite.failures) == (4, 1)  # a1 has its note


def test_junit_of_a_clean_report_is_one_passing_case(tmp_path: Path) -> None:
    path = tmp_path / "clean.xml"
    path.write_text(render(Report("roundtrip"), "junit"), encoding="utf-8")
    (suite,) = list(JUnitXml.fromfile(str(path)))
    (case,) = list(suite)
    assert case.is_passed and suite.failures == 0


def test_junit_survives_control_characters() -> None:
    report = Report("roundtrip")
    report.add(Finding("upgrade-failed", "error", "bad \x00 byte", revision="a1", dialect="sqlite"))
    assert "\x00" not in render(report, "junit")


def test_annotations_escape_per_github_rules() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    f = Finding(
        "data-loss",
        "error",
        "lost rows: 3\nall",
        revision="a2",
        dialect="sqlite",
        file="migrations/versions/a,2.py",
        line=12,
        details={"hint": "keep them"},
    )
    assert annotation(f) == (
        "::error file=migrations/versions/a%2C2.py,line=12,"
        "title=data-loss (sqlite) at a2::lost rows: 3%0Aall%0AFix: keep them"
    )


def test_annotations_map_severities_and_skip_notes_without_a_file() -> None:
    lines = render(sample(), "annotations").splitlines()
    assert [ln.split(" ", 1)[0] for ln in lines] == ["::error", "::error", "::error", "::warning"]
    assert lines[2] == "::error title=multiple-heads::two heads: a3, a4"
