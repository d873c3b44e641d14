"""Which revisions a walk checks: `--from`, `--to` and `--shard`, resolved against the chain.

Pure. Revisions are named as Alembic accepts them: a full id, a unique prefix of one, `base`
(before the first revision) for `--from` and `head` for `--to`. A selection that checks
nothing (a reversed range, a shard past the end of a short chain) is a usage error, never a
walk that reports "passed" having looked at nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from migration_gate.errors import ConfigError

__all__ = ["Selection", "parse_shard", "resolve", "select"]


def parse_shard(shard: str | None) -> tuple[int, int] | None:
    """`"2/4"` → (2, 4); None stays None."""
    if not shard:
        return None
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like I/N (e.g. 2/4), not {shard!r}") from None
    if not 1 <= i <= n:
        raise ConfigError(f"--shard {shard}: I must be between 1 and N")
    return i, n


def resolve(name: str, revision: str, order: Sequence[str]) -> str | None:
    """The revision `revision` names (None for `base`/`head`, which bound nothing)."""
    if revision in ("base", "head", "heads"):
        if (name, revision) in (("--from", "base"), ("--to", "head"), ("--to", "heads")):
            return None
        raise ConfigError(f"{name} {revision}: use --from base or --to head")
    if revision in order:
        return revision
    matches = [r for r in order if r.startswith(revision)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(
            f"{name} {revision}: ambiguous, it is the start of {', '.join(matches[:5])}",
            hint="give more characters of the revision id",
        )
    raise ConfigError(
        f"{name} {revision}: no such revision in the chain",
        hint="see the revision ids with: alembic history",
    )


@dataclass(frozen=True)
class Selection:
    """A walk's share of the chain, in walk order."""

    #: applied first without checks (the revisions before the range)
    skip: tuple[str, ...]
    #: checked
    check: tuple[str, ...]
    #: in the requested range after this shard's part (the later shards')
    later: tuple[str, ...]


def select(
    order: Sequence[str],
    *,
    start: str | None = None,
    end: str | None = None,
    shard: tuple[int, int] | None = None,
) -> Selection:
    """The selection of `order` that `--from start --to end --shard i/n` name."""
    if not order:
        raise ConfigError(
            "the chain has no revision to walk",
            hint="check script_location / version_locations in the Alembic config",
        )
    lo, hi = 0, len(order)
    if start is not None:
        lo = order.index(resolve("--from", start, order) or order[0])
    if end is not None:
        named = resolve("--to", end, order)
        hi = order.index(named) + 1 if named is not None else len(order)
    if lo >= hi:
        raise ConfigError(
            f"--from {start} --to {end} selects no revision: {start} comes after {end} in the chain"
            if start and end
            else "the selection holds no revision",
            hint="swap --from and --to",
        )
    stop = hi
    if shard is not None:
        index, count = shard
        n = hi - lo
        lo, hi = lo + (n * (index - 1)) // count, lo + (n * index) // count
        if lo >= hi:
            raise ConfigError(
                f"--shard {index}/{count} selects no revision: the range has only {n} "
                f"revision(s), fewer than {count} shards",
                hint=f"use at most {n} shards",
            )
    return Selection(tuple(order[:lo]), tuple(order[lo:hi]), tuple(order[hi:stop]))
