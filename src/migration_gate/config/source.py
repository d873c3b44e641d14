"""Where the Alembic Config of a database comes from.

Either the caller's Config (the Alembic ini file, or one built in code and handed to the
Python API), which the step runner copies and points at its database, or a factory of the
URL (`[tool.migration-gate] config_factory`), whose Config already names the database and is
taken as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alembic.config import Config

__all__ = ["ConfigSource"]


@dataclass(frozen=True)
class ConfigSource:
    """Where the Alembic Config for a database comes from: the caller's Config (the runner
    points a copy of it at the database), or a factory of the URL (`config_factory`), whose
    Config already names the database and is taken as it is."""

    config: Config | None = None
    factory: Callable[[str | None], Config] | None = None

    def base(self) -> Config:
        """The Config for no database in particular (to find the script directory)."""
        if self.factory is not None:
            return self.factory(None)
        assert self.config is not None
        return self.config

    def for_url(self, url: str) -> tuple[Config, bool]:
        """(the Config for `url`, whether the URL is already in it)."""
        if self.factory is not None:
            return self.factory(url), True
        assert self.config is not None
        return self.config, False
