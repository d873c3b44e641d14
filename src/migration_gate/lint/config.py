"""Which lint rules run and how bad their findings are: `[tool.migration-gate.lint]`.

```toml
[tool.migration-gate.lint]
disable = ["unsafe-lock/require-lock-timeout"]          # rule ids, or a family: "unsafe-lock"
enable = ["unsafe-lock/prefer-robust-stmts"]            # Squawk rules that are off by default
severity = { "unsafe-lock" = "error", "enum-naming" = "warning" }
enum_naming = "snake_case"                              # or "none", or a regular expression
squawk = "/opt/bin/squawk"                              # default: found next to Python or on PATH
```

A key names a rule id (``destructive-operation``, ``unsafe-lock/changing-column-type``) or a
family (``unsafe-lock``); the most specific key wins. A migration silences one rule for
itself with ``gate = {"allow": {"<rule id or family>": "why it is fine here"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migration_gate.errors import ConfigError
from migration_gate.findings import SEVERITIES, Severity

__all__ = ["DEFAULT_OFF", "FAMILIES", "LintConfig", "allowed_by", "load_lint_config"]

#: rule ids of the families that lint knows (unsafe-lock is a family of Squawk rules)
FAMILIES = (
    "destructive-operation",
    "missing-downgrade",
    "fk-type-mismatch",
    "enum-naming",
    "unsafe-lock",
)

#: Squawk rules that are not about locks (style, client compatibility) or that another rule
#: covers with a declaration (drops: destructive-operation); enable them one by one
DEFAULT_OFF = frozenset(
    f"unsafe-lock/{rule}"
    for rule in (
        "prefer-robust-stmts",
        "prefer-text-field",
        "prefer-bigint-over-int",
        "prefer-bigint-over-smallint",
        "prefer-big-int",
        "prefer-identity",
        "prefer-timestamptz",
        "prefer-timestamp-tz",  # its name since Squawk 2
        "ban-char-field",
        "renaming-column",
        "renaming-table",
        "ban-drop-constraint",
        "ban-drop-column",
        "ban-drop-table",
        "ban-drop-database",
        "ban-truncate-cascade",
        "require-statement-timeout",
        "transaction-nesting",
        "ban-uncommitted-transaction",
    )
)

_KEYS = {"enable", "disable", "severity", "enum_naming", "squawk"}


def _family(check: str) -> str:
    return check.split("/", 1)[0]


@dataclass(frozen=True)
class LintConfig:
    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    enum_naming: str = "snake_case"
    squawk: str | None = None

    def enabled(self, check: str) -> bool:
        """Whether findings of `check` are reported (most specific setting wins)."""
        if check in self.disable:
            return False
        if check in self.enable:
            return True
        if _family(check) in self.disable:
            return False
        return check not in DEFAULT_OFF

    def family_enabled(self, family: str) -> bool:
        """Whether a rule family runs at all (some of its ids may still be enabled)."""
        return family not in self.disable or any(_family(c) == family for c in self.enable)

    def severity_for(self, check: str, default: Severity) -> Severity:
        return self.severity.get(check) or self.severity.get(_family(check)) or default

    def squawk_includes(self) -> list[str]:
        """Squawk rule names explicitly enabled (opt-in rules need ``--include``)."""
        return sorted(c.split("/", 1)[1] for c in self.enable if c.startswith("unsafe-lock/"))


def allowed_by(allow: Mapping[str, str], check: str) -> str | None:
    """The reason a migration's ``gate["allow"]`` gives for `check`, if it silences it."""
    for key in (check, _family(check)):
        reason = allow.get(key)
        if reason is not None and reason.strip():
            return reason.strip()
    return None


def _check_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not (
        value in FAMILIES or re.fullmatch(r"unsafe-lock/[a-z0-9-]+", value)
    ):
        raise ConfigError(
            f"[tool.migration-gate.lint] {where}: unknown rule {value!r}",
            hint=f"rules: {', '.join(FAMILIES)}, unsafe-lock/<squawk rule>",
        )
    return value


def _ids(table: Mapping[str, Any], key: str) -> frozenset[str]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"[tool.migration-gate.lint] {key} must be a list of rule ids")
    return frozenset(_check_id(v, key) for v in value)


def load_lint_config(table: Mapping[str, Any], *, enum_naming: Any = None) -> LintConfig:
    """Validate the lint table (`Settings.lint`); `enum_naming` is the top-level fallback."""
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(
            f"unknown setting(s) in [tool.migration-gate.lint]: {', '.join(sorted(unknown))}",
            hint=f"known: {', '.join(sorted(_KEYS))}",
        )
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError("[tool.migration-gate.lint] severity must be a table of rule = severity")
    for key, value in severity.items():
        _check_id(key, "severity")
        if value not in SEVERITIES:
            raise ConfigError(
                f"[tool.migration-gate.lint] severity of {key}: {value!r} is not "
                f"one of {', '.join(SEVERITIES)}"
            )
    naming = table.get("enum_naming", enum_naming if enum_naming is not None else "snake_case")
    if not isinstance(naming, str):
        raise ConfigError("[tool.migration-gate.lint] enum_naming must be a string")
    if naming not in ("snake_case", "none"):
        try:
            re.compile(naming)
        except re.error as exc:
            raise ConfigError(
                f"[tool.migration-gate.lint] enum_naming is not a valid regular expression: {exc}"
            ) from None
    squawk = table.get("squawk")
    if squawk is not None and not isinstance(squawk, str):
        raise ConfigError("[tool.migration-gate.lint] squawk must be a path")
    return LintConfig(
        enable=_ids(table, "enable"),
        disable=_ids(table, "disable"),
        severity=dict(severity),
        enum_naming=naming,
        squawk=squawk,
    )
