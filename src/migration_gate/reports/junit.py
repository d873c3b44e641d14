"""JUnit XML for CI test reporters: one test case per (check, revision, dialect).

A case fails when any of its findings is an error; the failure holds each finding as the
text report writes it (message, diff, database error, fix). Warnings and notes go to the
case's `system-out`. Revisions a walk checked without any finding get one passing case
each, so a clean run still lists what was checked. One test suite per dialect (the
revision graph checks, which have none, form the suite "chain").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from migration_gate.findings import Finding, Report, StepTiming
from migration_gate.reports.deploy_section import junit_suite
from migration_gate.reports.text import render_finding

__all__ = ["render"]

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
Key = tuple[str, str | None, str | None]


def _clean(text: str) -> str:
    return _INVALID_XML.sub("?", text)


def _groups(report: Report, skip: set[int] | None = None) -> dict[Key, list[Finding]]:
    groups: dict[Key, list[Finding]] = {}
    for f in report.findings:
        if skip and id(f) in skip:
            continue
        groups.setdefault((f.check, f.revision, f.dialect), []).append(f)
    return groups


def _checked(report: Report) -> list[tuple[str, str]]:
    """(revision, dialect) pairs the walks checked."""
    return [(rev, dialect) for dialect, revs in report.checked.items() for rev in revs]


def _case(
    suite: ET.Element, command: str, name: str, dialect: str | None, findings: Iterable[Finding]
) -> bool:
    """Add one test case; True when it failed."""
    found = list(findings)
    case = ET.SubElement(
        suite,
        "testcase",
        name=_clean(name),
        classname=f"migration-gate.{command}.{dialect or 'chain'}",
        time="0",
    )
    located = next((f for f in found if f.file), None)
    if located is not None and located.file:
        case.set("file", _clean(located.file))
        if located.line:
            case.set("line", str(located.line))
    errors = [f for f in found if f.is_error]
    if errors:
        failure = ET.SubElement(
            case, "failure", message=_clean(errors[0].message.splitlines()[0]), type=errors[0].check
        )
        failure.text = _clean("\n\n".join("\n".join(render_finding(f)) for f in errors))
    rest = [f for f in found if not f.is_error]
    if rest:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n\n".join("\n".join(render_finding(f)) for f in rest))
    return bool(errors)


def _on_step(report: Report) -> set[int]:
    """ids of the findings that belong to a timed step (reported in that step's case)."""
    steps = {(s.target, s.revision) for s in report.steps}
    return {id(f) for f in report.findings if (f.details.get("snapshot"), f.revision) in steps}


def _step_suites(root: ET.Element, report: Report) -> tuple[int, int]:
    """One suite per target of `report.steps`, one case per revision with its time."""
    total = failed = 0
    targets: dict[str, list[StepTiming]] = {}
    for s in report.steps:
        targets.setdefault(s.target, []).append(s)
    for target, steps in targets.items():
        suite = ET.SubElement(root, "testsuite", name=f"migration-gate {report.command} [{target}]")
        failures = skipped = 0
        for step in steps:
            found = [
                f
                for f in report.findings
                if f.details.get("snapshot") == target and f.revision == step.revision
            ]
            case = ET.SubElement(
                suite,
                "testcase",
                name=_clean(step.revision),
                classname=f"migration-gate.{report.command}.{target}",
                time=f"{step.seconds:.3f}",
            )
            errors = [f for f in found if f.is_error]
            if errors or step.status == "failed":
                failures += 1
                first = errors[0] if errors else None
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=_clean(first.message.splitlines()[0] if first else "failed"),
                    type=first.check if first else "failed",
                )
                failure.text = _clean("\n\n".join("\n".join(render_finding(f)) for f in errors))
            elif step.status == "not-run":
                skipped += 1
                ET.SubElement(case, "skipped", message="an earlier revision failed")
            rest = [f for f in found if not f.is_error]
            if rest:
                out = ET.SubElement(case, "system-out")
                out.text = _clean("\n\n".join("\n".join(render_finding(f)) for f in rest))
        seconds = sum(s.seconds for s in steps)
        suite.attrib.update(
            tests=str(len(steps)),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
            time=f"{seconds:.3f}",
        )
        total += len(steps)
        failed += failures
    return total, failed


def render(report: Report) -> str:
    deploy_suite, used = junit_suite(report)
    groups = _groups(report, used | _on_step(report))
    seen = {(rev, d) for (_, rev, d) in groups}
    cases: dict[str | None, list[tuple[str, list[Finding]]]] = {}
    for (check, rev, dialect), found in groups.items():
        name = f"{check} [{rev}]" if rev else check
        cases.setdefault(dialect, []).append((name, found))
    for rev, dialect in _checked(report):
        if (rev, dialect) not in seen:
            cases.setdefault(dialect, []).append((f"{report.command} [{rev}]", []))
    if not cases and not report.steps and deploy_suite is None:
        cases[None] = [(report.command, [])]

    root = ET.Element("testsuites", name=f"migration-gate {report.command}")
    total, failed = _step_suites(root, report)
    if deploy_suite is not None:
        root.append(deploy_suite)
        total += int(deploy_suite.get("tests", "0"))
        failed += int(deploy_suite.get("failures", "0"))
    for dialect, entries in cases.items():
        suite = ET.SubElement(
            root, "testsuite", name=f"migration-gate {report.command} [{dialect or 'chain'}]"
        )
        failures = sum(
            _case(suite, report.command, name, dialect, found) for name, found in entries
        )
        seconds = report.timings.get(f"{dialect}.total", 0.0)
        suite.attrib.update(
            tests=str(len(entries)),
            failures=str(failures),
            errors="0",
            skipped="0",
            time=f"{seconds:.3f}",
        )
        total += len(entries)
        failed += failures
    seconds = sum(v for k, v in report.timings.items() if k.endswith(".total"))
    root.attrib.update(tests=str(total), failures=str(failed), errors="0", time=f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
