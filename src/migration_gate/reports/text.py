"""Plain text for a terminal or a CI log: a verdict line, then each finding as one line
(what and where) followed by labelled context blocks (diff, database error, how to fix)."""

from __future__ import annotations

from migration_gate.findings import Finding, Report

_ORDER = {"error": 0, "warning": 1, "info": 2}


def _where(f: Finding) -> str:
    bits = []
    if f.revision:
        bits.append(f.revision)
    if f.dialect:
        bits.append(f"[{f.dialect}]")
    if f.file:
        bits.append(f"{f.file}:{f.line}" if f.line else f.file)
    return " ".join(bits)


def render_finding(f: Finding) -> list[str]:
    lines = [f"{f.severity.upper():7} {f.check}  {_where(f)}".rstrip(), f"  {f.message}"]
    diff = f.details.get("diff")
    if isinstance(diff, list) and len(diff) > 1:
        lines.append("  Diff:")
        lines.extend(f"    - {s}" for s in diff)
    error = f.details.get("error")
    if error and str(error) not in f.message:
        lines.append(f"  Database error: {error}")
    rows = f.details.get("rows")
    if isinstance(rows, list) and rows:
        lines.append(f"  Offending rows ({f.details.get('offending', 'a few')}):")
        lines.extend("    " + ", ".join(f"{k}={v}" for k, v in dict(r).items()) for r in rows)
    hint = f.details.get("hint")
    if hint:
        lines.append(f"  Fix: {hint}")
    return lines


def render_steps(report: Report) -> list[str]:
    """Per-revision timings (replay): one line per revision of each target."""
    if not report.steps:
        return []
    out = ["", "Per-revision timings:"]
    width = max(len(s.target) for s in report.steps)
    for s in report.steps:
        lock = f"  lock {s.lock_seconds:.2f}s" if s.lock_seconds is not None else ""
        status = "" if s.status == "ok" else f"  {s.status.upper()}"
        out.append(f"  {s.target:{width}}  {s.revision:12} {s.seconds:8.2f}s{lock}{status}")
    return out


def render(report: Report) -> str:
    counts = report.counts()
    verdict = "passed" if report.ok else "FAILED"
    head = (
        f"migration-gate {report.command}: {verdict} - {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['info']} info"
    )
    out = [head]
    for f in sorted(report.findings, key=lambda f: _ORDER[f.severity]):
        out.append("")
        out.extend(render_finding(f))
    out.extend(render_steps(report))
    if report.deploy is not None:
        from migration_gate.reports.deploy_section import text_lines

        out.extend(text_lines(report))
    total = sum(v for k, v in report.timings.items() if k.endswith(".total"))
    if total:
        out.append("")
        out.append(f"took {total:.2f}s")
    return "\n".join(out) + "\n"
