"""unsafe-lock/<rule>: statements that lock an existing table for too long, found by Squawk.

Squawk (the ``squawk-cli`` package) reads the SQL a revision sent on PostgreSQL, rendered as
one script with the revision's transaction assumed (so a table created by the same revision
is not "existing"). This module only maps its violations to findings: the check id is
``unsafe-lock/<squawk rule>``, Squawk's 0-based line becomes the statement it points into,
and that statement's line in the revision file is where the finding is reported. Statements
about Alembic's version table are never linted (the capture leaves them out; a violation
that points into one anyway is dropped).
"""

from __future__ import annotations

from migration_gate.chain.sql_capture import is_bookkeeping, statement_at
from migration_gate.findings import Finding, Severity
from migration_gate.lint.context import RevisionContext, SquawkViolation

__all__ = ["ID", "SEVERITY", "check", "to_finding"]

ID = "unsafe-lock"
#: a lock is only harmful on a busy table; the project decides (severity in the lint table)
SEVERITY: Severity = "warning"


def _first_line(sql: str, width: int = 100) -> str:
    line = " ".join(sql.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def to_finding(ctx: RevisionContext, v: SquawkViolation) -> Finding | None:
    """The finding for one Squawk violation, or None when it points at bookkeeping."""
    index = statement_at(ctx.sql_starts, v.line + 1)
    sql = ctx.statements[index].sql if index is not None and index < len(ctx.statements) else ""
    if sql and is_bookkeeping(sql):
        return None
    where = f": {_first_line(sql)}" if sql else ""
    return Finding(
        check=f"{ID}/{v.rule}",
        severity=SEVERITY,
        revision=ctx.revision,
        dialect="postgresql",
        file=ctx.file,
        line=ctx.statement_line(index) if index is not None else ctx.upgrade_line,
        message=f"{v.message.rstrip('.')}{where}",
        details={
            "squawk_rule": v.rule,
            "sql": sql,
            "sql_line": v.line + 1,
            "hint": v.help or f"see https://squawkhq.com/docs/{v.rule}",
        },
    )


def check(ctx: RevisionContext) -> list[Finding]:
    out = []
    for v in ctx.squawk:
        f = to_finding(ctx, v)
        if f is not None:
            out.append(f)
    return out
