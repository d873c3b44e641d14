"""The SQL each linted revision runs, as plain text for a terminal, a log or a PR comment.

Lint keeps the rendered SQL of every linted revision in `Report.sql` (revision
→ SQL, in walk order); this renders it, one block per revision, so a reviewer reads what
will run (post-mortem 002) rather than the Python that produces it.
"""

from __future__ import annotations

from collections.abc import Mapping

from migration_gate.findings import Report

__all__ = ["render_sql", "sql_of"]


def sql_of(report: Report) -> Mapping[str, str]:
    """revision → the SQL it runs on PostgreSQL (empty when lint had no PostgreSQL pass)."""
    return report.sql


def render_sql(report: Report) -> str:
    """Every revision's SQL, each under a ``-- revision <id>`` header."""
    blocks = []
    for rev, text in sql_of(report).items():
        body = text.strip() or "-- (no statements)"
        blocks.append(f"-- revision {rev}: SQL run on PostgreSQL\n{body}\n")
    if not blocks:
        return "\n(no SQL captured: lint ran without PostgreSQL)\n"
    return "\n" + "\n".join(blocks)
