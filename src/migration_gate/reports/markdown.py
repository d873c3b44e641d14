"""Markdown for `$GITHUB_STEP_SUMMARY` and pull-request comments.

The verdict comes first, then one section per failing revision: each finding as one line
(check, dialect, where), its diff, the database's own error and how to fix or declare it.
Warnings and notes follow in a compact list. When lint rendered the SQL of the revisions
(`Report.sql`, revision → SQL), each revision's SQL is shown in a collapsible
`<details>` block so a reviewer reads what will run, not only the Python that produces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from migration_gate.findings import Finding, Report

__all__ = ["render"]

_ORDER = {"error": 0, "warning": 1, "info": 2}
_ICON = {"error": "❌", "warning": "⚠️", "info": "📝"}


def _text(value: object) -> str:
    """Inline text safe from being read as HTML or table syntax."""
    return (
        str(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", "")
        .replace("\n", " ")
    )


def _code(value: object) -> str:
    """Inline code that survives backticks in the value."""
    text = str(value).replace("\n", " ")
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fenced(body: str, lang: str = "") -> list[str]:
    fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    return [f"{fence}{lang}", body.rstrip("\n"), fence]


def _where(f: Finding) -> str:
    bits = []
    if f.dialect:
        bits.append(f"on {f.dialect}")
    if f.file:
        bits.append(_code(f"{f.file}:{f.line}" if f.line else f.file))
    return " · ".join(bits)


def _finding(f: Finding) -> list[str]:
    where = _where(f)
    lines = [
        f"- {_ICON[f.severity]} **{f.severity}** {_code(f.check)}"
        + (f" ({where})" if where else "")
        + f": {_text(f.message)}"
    ]
    diff = f.details.get("diff")
    if isinstance(diff, list) and len(diff) > 1:
        lines.append("  - Diff:")
        lines.extend(f"    - {_text(s)}" for s in diff)
    error = f.details.get("error")
    if error and str(error) not in f.message:
        lines.append("")
        lines.extend("  " + ln for ln in ["Database error:", *_fenced(str(error), "text")])
    rows = f.details.get("rows")
    if isinstance(rows, list) and rows:
        lines.append(f"  - Offending rows ({_text(f.details.get('offending', 'a few'))}):")
        lines.extend(
            "    - " + ", ".join(f"{_code(k)}={_code(v)}" for k, v in dict(r).items()) for r in rows
        )
    hint = f.details.get("hint")
    if hint:
        lines.append(f"  - **Fix:** {_text(hint)}")
    return lines


def _steps(report: Report) -> list[str]:
    """Per-revision timings (replay) as a table."""
    if not report.steps:
        return []
    out = [
        "### Per-revision timings",
        "",
        "| on | revision | seconds | ACCESS EXCLUSIVE held | status |",
        "|---|---|---:|---:|---|",
    ]
    for s in report.steps:
        lock = f"{s.lock_seconds:.2f}" if s.lock_seconds is not None else ""
        out.append(
            f"| {_text(s.target)} | {_code(s.revision)} | {s.seconds:.2f} | {lock} | {s.status} |"
        )
    return [*out, ""]


def _sql_block(revision: str, sql: str) -> list[str]:
    body = sql.strip() or "-- (no statements)"
    return [
        "<details>",
        f"<summary>SQL of revision {_text(revision)}</summary>",
        "",
        *_fenced(body, "sql"),
        "",
        "</details>",
    ]


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (_ORDER[f.severity], f.check, f.dialect or ""))


def _chain_order(report: Report) -> dict[str, int]:
    """Revision -> its place in the chain, as the walks (or lint) met the revisions."""
    seen: dict[str, int] = {}
    for revs in (*report.checked.values(), list(report.sql)):
        for rev in revs:
            seen.setdefault(rev, len(seen))
    return seen


def render(report: Report) -> str:
    counts = report.counts()
    icon, verdict = ("✅", "passed") if report.ok else ("❌", "failed")
    out = [f"## {icon} migration-gate {report.command}: {verdict}", ""]
    summary = (
        f"**{counts['error']} error(s)**, {counts['warning']} warning(s), {counts['info']} note(s)"
    )
    total = sum(v for k, v in report.timings.items() if k.endswith(".total"))
    if total:
        summary += f" · took {total:.1f}s"
    out += [summary, ""]
    if report.deploy is not None:
        from migration_gate.reports.deploy_section import markdown_lines

        out += markdown_lines(report)

    sql: Mapping[str, str] = report.sql
    failing: dict[str | None, list[Finding]] = {}
    for f in report.findings:
        if f.is_error:
            failing.setdefault(f.revision, [])
    for f in report.findings:
        if f.revision in failing:
            failing[f.revision].append(f)
    order = _chain_order(report)  # the revisions in chain order, then the graph
    ranked = sorted(
        failing.items(), key=lambda kv: (kv[0] is None, order.get(kv[0] or "", len(order)))
    )
    for revision, found in ranked:
        out.append(f"### Revision {_code(revision)}" if revision else "### The revision graph")
        files = sorted({f.file for f in found if f.file})
        if files:
            out.append(" ".join(_code(p) for p in files))
        out.append("")
        for f in _sorted(found):
            out.extend(_finding(f))
        if revision is not None and revision in sql:
            out += ["", *_sql_block(revision, sql[revision])]
        out.append("")

    others = [f for f in report.findings if f.revision not in failing]
    if others:
        out += ["### Warnings and notes", ""]
        for f in _sorted(others):
            rev = f"{_code(f.revision)} " if f.revision else ""
            where = _where(f)
            out.append(
                f"- {_ICON[f.severity]} {_code(f.check)} {rev}"
                + (f"({where}) " if where else "")
                + f"{_text(f.message)}"
            )
        out.append("")

    out += _steps(report)
    rest = [r for r in sql if r not in failing]
    if rest:
        out += ["### SQL of the other revisions", ""]
        for revision in rest:
            out += [*_sql_block(revision, sql[revision]), ""]
    if not report.findings:
        out += ["Nothing to report.", ""]
    return "\n".join(out).rstrip("\n") + "\n"
