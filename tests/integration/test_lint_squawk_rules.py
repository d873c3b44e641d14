"""The Squawk rules lint turns off by default are named as the installed Squawk names them:
a style rule renamed by Squawk (``prefer-timestamptz`` became ``prefer-timestamp-tz``) would
otherwise come back on, as a warning on every table a chain creates."""

from __future__ import annotations

from migration_gate.lint.config import DEFAULT_OFF, LintConfig
from migration_gate.lint.squawk import find_squawk, run_squawk

#: a table with every column style Squawk has an opinion on (none of them about locks)
STYLE_ONLY = (
    "CREATE TABLE t (id serial PRIMARY KEY, at timestamp, n int, s smallint, "
    "c char(3), v varchar(10));"
)


def test_style_rules_that_squawk_reports_are_off_by_default() -> None:
    binary = find_squawk()
    assert binary is not None, "squawk-cli is a dev dependency"
    reported = {v.rule for v in run_squawk(binary, {"r1": STYLE_ONLY})["r1"]}
    assert "prefer-timestamp-tz" in reported or "prefer-timestamptz" in reported, reported
    still_on = {r for r in reported if LintConfig().enabled(f"unsafe-lock/{r}")}
    assert still_on == set()
    assert all(r.startswith("unsafe-lock/") for r in DEFAULT_OFF)
