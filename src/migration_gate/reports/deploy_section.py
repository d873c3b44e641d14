"""The deploy section of a report (`Report.deploy`) in each format.

Text and Markdown show where the deploy went (environment, database with its password
masked, revision before → after), the plan with each revision's outcome, time and attempts,
the ledger rows written, the backup and the notes; a dry run's text also shows the SQL of each
pending revision. JUnit gets one test suite for the environment with one case per planned
revision (its time; failed, or skipped when it did not run). Annotations get one notice.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from migration_gate.deploy.section import DeploySection
from migration_gate.findings import Finding, Report

__all__ = ["annotation", "junit_suite", "markdown_lines", "summary", "text_lines"]


def _revs(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "base"


def summary(s: DeploySection, command: str = "deploy") -> str:
    """One line: what happened where."""
    applied = sum(1 for a in s.applied if a.status == "applied")
    failed = [a.revision for a in s.applied if a.status == "failed"]
    what = "dry run of" if s.dry_run else "deploy to" if command == "deploy" else f"{command} of"
    line = f"{what} {s.environment} ({s.database}): {_revs(s.before)}"
    if s.dry_run or command != "deploy":
        line += f", {len(s.plan)} revision(s) pending" if s.plan else ", nothing pending"
    elif s.applied or s.before != s.after:
        line += f" → {_revs(s.after)}, {applied} of {len(s.plan)} revision(s) applied"
    if failed:
        line += f", failed at {failed[0]}"
    return line + f" (head {_revs(s.head)})"


def text_lines(report: Report) -> list[str]:
    s = report.deploy
    if s is None:
        return []
    out = ["", summary(s, report.command)]
    outcome = {a.revision: a for a in s.applied}
    for p in s.plan:
        a = outcome.get(p.revision)
        state = a.status if a is not None else "pending"
        bits = [f"  {p.revision:<14} {p.doc[:40]:<40} {state:<8}"]
        if a is not None and a.status in ("applied", "failed"):
            bits.append(f"{a.seconds:7.2f}s")
            if a.attempts > 1:
                bits.append(f"({a.attempts} attempts)")
        flags = [
            f for f, on in (("destructive", p.destructive), ("autocommit", p.autocommit)) if on
        ]
        if flags:
            bits.append(f"[{', '.join(flags)}]")
        out.append(" ".join(bits).rstrip())
    if s.ledger:
        out.append(f"ledger: {len(s.ledger)} row(s) written to migration_gate_ledger")
        out.extend(
            f"  {r.revision:<14} {r.status:<8} {r.duration:7.2f}s  {r.started_at}  {r.deployed_by}"
            for r in s.ledger
        )
    if s.backup:
        out.append(f"backup: {s.backup}")
    if s.expected_from:
        out.append(f"expected schema from: {s.expected_from}")
    out.extend(s.notes)
    if s.dry_run:
        out.extend(_sql_text(report.sql, s))
    return out


def _sql_text(sql: Mapping[str, str], s: DeploySection) -> list[str]:
    out: list[str] = []
    for p in s.plan:
        if p.revision not in sql:
            continue
        out += ["", f"-- {p.revision}" + (f" ({p.doc})" if p.doc else "") + f" · {p.file}"]
        out += (sql[p.revision].strip() or "-- (no statements)").splitlines()
    return out


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def markdown_lines(report: Report) -> list[str]:
    s = report.deploy
    if s is None:
        return []
    title = "Dry run" if s.dry_run else report.command.capitalize()
    out = [f"### {title}: {_md(s.environment)}", "", _md(summary(s, report.command)), ""]
    outcome = {a.revision: a for a in s.applied}
    if s.plan:
        out += [
            "| revision | file | outcome | seconds | attempts | declared |",
            "|---|---|---|---|---|---|",
        ]
        for p in s.plan:
            a = outcome.get(p.revision)
            declared = ", ".join(
                f for f, on in (("destructive", p.destructive), ("autocommit", p.autocommit)) if on
            )
            seconds = f"{a.seconds:.2f}" if a is not None and a.status != "not-run" else ""
            attempts = str(a.attempts) if a is not None and a.attempts else ""
            out.append(
                f"| `{_md(p.revision)}` | `{_md(p.file)}` | {a.status if a else 'pending'} "
                f"| {seconds} | {attempts} | {declared} |"
            )
        out.append("")
    if s.ledger:
        out += [
            f"Ledger (`migration_gate_ledger`): {len(s.ledger)} row(s) written",
            "",
            "| revision | status | started at | seconds | deployed by | checksum |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| `{_md(r.revision)}` | {r.status} | {_md(r.started_at)} | {r.duration:.2f} "
            f"| {_md(r.deployed_by)} | `{_md(r.checksum or '')}` |"
            for r in s.ledger
        ]
        out.append("")
    if s.backup:
        out += [f"Backup: `{_md(s.backup)}`", ""]
    if s.expected_from:
        out += [f"Expected schema from: {s.expected_from}", ""]
    out += [f"- {_md(n)}" for n in s.notes]
    return out


def junit_suite(report: Report) -> tuple[ET.Element | None, set[int]]:
    """The environment's suite, and the ids of the findings it rendered (the failure of a
    revision), which the generic suites then leave out."""
    s = report.deploy
    if s is None or not s.plan:
        return None, set()
    from migration_gate.reports.text import render_finding

    suite = ET.Element("testsuite", name=f"migration-gate {report.command} [{s.environment}]")
    used: set[int] = set()
    failures = skipped = 0
    outcome = {a.revision: a for a in s.applied}
    for p in s.plan:
        a = outcome.get(p.revision)
        case = ET.SubElement(
            suite,
            "testcase",
            name=f"{report.command} [{p.revision}]",
            classname=f"migration-gate.{report.command}.{s.environment}",
            time=f"{a.seconds:.3f}" if a is not None else "0",
            file=p.file,
        )
        if a is None or a.status in ("not-run", "planned"):
            ET.SubElement(case, "skipped", message="not run" if a is not None else "pending")
            skipped += 1
        elif a.status == "failed":
            mine: list[Finding] = [
                f for f in report.findings if f.revision == p.revision and f.is_error
            ]
            used.update(id(f) for f in mine)
            failure = ET.SubElement(
                case, "failure", message=(mine[0].message if mine else a.error or "failed")[:500]
            )
            failure.text = "\n\n".join("\n".join(render_finding(f)) for f in mine) or a.error
            failures += 1
    suite.attrib.update(
        tests=str(len(s.plan)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{sum(a.seconds for a in s.applied):.3f}",
    )
    return suite, used


def annotation(report: Report) -> str:
    from migration_gate.reports.annotations import escape_data

    s = report.deploy
    if s is None:
        return ""
    text = escape_data(summary(s, report.command))
    return f"::notice title=migration-gate {report.command}::{text}\n"
