"""What every verb shares: which dialects, and the scratch-database providers for them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import partial

from migration_gate.config.settings import Settings
from migration_gate.db.provision import Provider, provider_for
from migration_gate.db.workspace import ProviderWorkspace, Workspace
from migration_gate.errors import ConfigError

__all__ = ["DIALECTS", "dialects", "providers", "scratch", "scratch_workspaces"]

DIALECTS = ("sqlite", "postgresql")


def dialects(choice: str) -> tuple[str, ...]:
    """`all` → both; one name → itself."""
    if choice == "all":
        return DIALECTS
    if choice not in DIALECTS:
        raise ConfigError(f"unknown dialect {choice!r}", hint="use sqlite, postgresql or all")
    return (choice,)


@contextlib.contextmanager
def providers(settings: Settings, names: Sequence[str]) -> Iterator[dict[str, Provider]]:
    """A provider per dialect, closed (scratch databases dropped, server stopped) on exit."""
    made: dict[str, Provider] = {}
    try:
        for d in names:
            made[d] = provider_for(d, pg_url=settings.pg_url, pg_bin=settings.pg_bin)
        yield made
    finally:
        for p in made.values():
            p.close()


@contextlib.contextmanager
def scratch(settings: Settings, dialect: str, label: str) -> Iterator[ProviderWorkspace]:
    """A scratch database of `dialect` on its own provider, all of it gone on exit."""
    with providers(settings, (dialect,)) as made, ProviderWorkspace(made[dialect], label) as ws:
        yield ws


def scratch_workspaces(
    settings: Settings, names: Sequence[str], label: str
) -> dict[str, Callable[[], AbstractContextManager[Workspace]]]:
    """dialect -> a context manager of a scratch workspace, made only when entered."""
    return {d: partial(scratch, settings, d, f"{label}_{d}") for d in names}
