"""The exception hierarchy, drawn in one place.

Exceptions mean "cannot go on"; what a check finds is a `Finding`, never an exception.
Only `cli.py` turns these into exit codes: `ConfigError` → 2, `InfrastructureError` → 3.
"""

from __future__ import annotations

__all__ = ["ConfigError", "GateError", "InfrastructureError", "MigrationError"]


class GateError(Exception):
    """Base of every error migration-gate raises on purpose.

    `message` says what went wrong, `hint` how to fix it; both are one line each and
    never contain a password (see `urls.mask`).
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(GateError):
    """Usage or configuration is wrong: a missing file, a malformed setting, a bad flag."""

    exit_code = 2


class InfrastructureError(GateError):
    """A database is unreachable, a server would not start, a tool is missing."""

    exit_code = 3


class MigrationError(GateError):
    """A migration step raised; carries the revision and the database's own error."""

    def __init__(
        self,
        message: str,
        *,
        revision: str | None = None,
        cause: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.revision = revision
        self.cause = cause
