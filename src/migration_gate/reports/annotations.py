"""GitHub Actions annotations: `::error file=…,line=…,title=…::message`, one line per finding.

GitHub shows them on the pull request's diff, at the migration file and line. Errors and
warnings map to `::error` and `::warning`; notes become `::notice` when they point at a
file (the others would only add noise). Escaping follows the runner's rules
(@actions/core): in the message `%`, `\\r` and `\\n`; in properties also `:` and `,`.
"""

from __future__ import annotations

from migration_gate.findings import Finding, Report

__all__ = ["annotation", "escape_data", "escape_property", "render"]

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    """The workflow command for one finding."""
    props = []
    if f.file:
        props.append(f"file={escape_property(f.file)}")
        if f.line:
            props.append(f"line={f.line}")
    title = (
        f.check
        + (f" ({f.dialect})" if f.dialect else "")
        + (f" at {f.revision}" if f.revision else "")
    )
    props.append(f"title={escape_property(title)}")
    message = f.message
    hint = f.details.get("hint")
    if hint:
        message += f"\nFix: {hint}"
    return f"::{_LEVEL[f.severity]} {','.join(props)}::{escape_data(message)}"


def _timings(report: Report) -> list[str]:
    """One notice per target with its per-revision timings (replay)."""
    targets: dict[str, list[str]] = {}
    for s in report.steps:
        lock = f", lock {s.lock_seconds:.2f}s" if s.lock_seconds is not None else ""
        status = "" if s.status == "ok" else f", {s.status}"
        targets.setdefault(s.target, []).append(f"{s.revision} {s.seconds:.2f}s{lock}{status}")
    return [
        f"::notice title={escape_property(f'{report.command} timings ({target})')}::"
        + escape_data("; ".join(parts))
        for target, parts in targets.items()
    ]


def render(report: Report) -> str:
    lines = [annotation(f) for f in report.findings if f.severity != "info" or f.file]
    lines += _timings(report)
    from migration_gate.reports.deploy_section import annotation as deploy_notice

    return "".join(line + "\n" for line in lines) + deploy_notice(report)
