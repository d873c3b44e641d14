"""Lint: rules on each migration's source and on the SQL it really runs.

Every rule is one small module with an ``ID``, a default ``SEVERITY`` and a pure
``check(ctx: RevisionContext) -> list[Finding]``, registered once in `RULES` below. The edge
(`lint.run`) walks the chain, builds one `RevisionContext` per revision to lint and calls
`lint_revision`, which runs the enabled rules and applies the project's configuration
(`lint.config`: enable, disable, severity) and the migration's own ``gate["allow"]``.

Adding a rule: write ``lint/<name>.py`` with ``ID``, ``SEVERITY`` and ``check``, add it to
`RULES` and to `config.FAMILIES`, and give it a fixture chain under tests/fixtures/chains/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from migration_gate.findings import Finding, Severity
from migration_gate.lint import destructive, enum_naming, fk_types, missing_downgrade, unsafe_lock
from migration_gate.lint.config import LintConfig, allowed_by
from migration_gate.lint.context import RevisionContext

__all__ = ["RULES", "Rule", "lint_revision"]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Callable[[RevisionContext], list[Finding]]


RULES: tuple[Rule, ...] = (
    Rule(
        destructive.ID,
        destructive.SEVERITY,
        "drops a table or column, truncates, narrows a type or drops an enum value, undeclared",
        destructive.check,
    ),
    Rule(
        missing_downgrade.ID,
        missing_downgrade.SEVERITY,
        "empty downgrade() without an irreversible declaration",
        missing_downgrade.check,
    ),
    Rule(
        fk_types.ID,
        fk_types.SEVERITY,
        "foreign key column of another type family than the key it references",
        fk_types.check,
    ),
    Rule(
        enum_naming.ID,
        enum_naming.SEVERITY,
        "enum type name against the convention or unlike the models",
        enum_naming.check,
    ),
    Rule(
        unsafe_lock.ID,
        unsafe_lock.SEVERITY,
        "lock-heavy statement on an existing table (Squawk)",
        unsafe_lock.check,
    ),
)


def lint_revision(
    ctx: RevisionContext, config: LintConfig
) -> tuple[list[Finding], list[dict[str, Any]]]:
    """(findings, silenced) of every enabled rule on one revision.

    A finding keeps its rule's default severity unless the configuration names another one
    (a finding a rule emits at another severity, e.g. a declared destructive step as info,
    keeps it). A finding the migration allows (with a reason) goes to `silenced` instead.
    """
    findings: list[Finding] = []
    silenced: list[dict[str, Any]] = []
    for rule in RULES:
        if not config.family_enabled(rule.id):
            continue
        for f in rule.check(ctx):
            if not config.enabled(f.check):
                continue
            reason = allowed_by(ctx.info.allow, f.check)
            if reason is not None:
                silenced.append(
                    {
                        "check": f.check,
                        "revision": f.revision,
                        "line": f.line,
                        "reason": reason,
                        "message": f.message,
                    }
                )
                continue
            if f.severity == rule.severity:
                f = replace(f, severity=config.severity_for(f.check, rule.severity))
            findings.append(f)
    return findings, silenced
