"""The plan of a deploy: which revisions are pending at the database's revision, and how each
is declared. Pure: a `Chain`, the database's heads and what the files say in, a `Plan` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from migration_gate.chain.graph import ancestors, heads
from migration_gate.chain.script import Chain
from migration_gate.deploy.files import FileFacts
from migration_gate.deploy.section import PlannedRevision

__all__ = ["Plan", "build_plan"]


@dataclass(frozen=True)
class Plan:
    """What a deploy will do: the database's heads, the chain's heads, what is pending."""

    live: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[PlannedRevision, ...]
    #: live heads no file declares (a database ahead of, or beside, this chain)
    unknown: tuple[str, ...] = ()

    @property
    def at_head(self) -> bool:
        return not self.pending and not self.unknown and set(self.live) == set(self.heads)

    def revisions(self) -> list[str]:
        return [p.revision for p in self.pending]


def build_plan(
    chain: Chain,
    live: Sequence[str],
    files: FileFacts,
    *,
    root: Path | None = None,
) -> Plan:
    """The revisions the chain has and the database lacks, in walk order."""
    infos = chain.infos
    unknown = tuple(sorted(r for r in live if r not in infos))
    done = ancestors(chain.revisions, [r for r in live if r in infos])
    tips = tuple(sorted(heads(list(chain.revisions))))
    pending = tuple(
        PlannedRevision(
            revision=rev,
            file=infos[rev].rel_path(root),
            checksum=files.checksums.get(rev, ""),
            doc=infos[rev].doc,
            destructive=(infos[rev].gate.get("destructive") or "").strip() or None,
            autocommit=rev in files.autocommit,
        )
        for rev in chain.order
        if rev not in done
    )
    return Plan(tuple(sorted(live)), tips, () if unknown else pending, unknown)
