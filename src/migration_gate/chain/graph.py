"""Checks of the revision graph, and the order to walk it in. Pure: no files, no database.

`graph_findings` reports `duplicate-revision`, `broken-down-revision` and `multiple-heads`;
`walk_order` gives every revision after all of its parents (and `depends_on`), base first,
ties broken by revision id so that every run walks the same way.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from migration_gate.chain.revisions import RevisionInfo
from migration_gate.findings import Finding

__all__ = ["ancestors", "graph_findings", "heads", "walk_order"]


def heads(revs: Sequence[RevisionInfo]) -> list[str]:
    """Revisions that no other revision names as its parent."""
    parents = {p for r in revs for p in r.down_revisions}
    return sorted({r.revision for r in revs if r.revision not in parents})


def graph_findings(revs: Sequence[RevisionInfo], root: Path | None = None) -> list[Finding]:
    out: list[Finding] = []
    counts = Counter(r.revision for r in revs)
    for rev_id, n in sorted(counts.items()):
        if n > 1:
            files = [r.rel_path(root) for r in revs if r.revision == rev_id]
            out.append(
                Finding(
                    check="duplicate-revision",
                    severity="error",
                    revision=rev_id,
                    file=files[0],
                    line=1,
                    message=f"revision id {rev_id} is declared by {n} files: {', '.join(files)}; "
                    "give each migration its own id (alembic revision generates one)",
                    details={"files": files},
                )
            )
    known = set(counts)
    for r in revs:
        for parent in (*r.down_revisions, *r.depends_on):
            if parent not in known:
                out.append(
                    Finding(
                        check="broken-down-revision",
                        severity="error",
                        revision=r.revision,
                        file=r.rel_path(root),
                        line=1,
                        message=f"revision {r.revision} names {parent} as its parent, but no migration "
                        f"has that id; fix down_revision in {r.path.name}",
                        details={"missing": parent},
                    )
                )
    hs = heads(revs)
    broken = any(f.check == "broken-down-revision" for f in out)
    if len(hs) > 1 and not broken:  # a missing parent splits the chain: not a real second head
        out.append(
            Finding(
                check="multiple-heads",
                severity="error",
                message=f"the chain has {len(hs)} heads ({', '.join(hs)}); "
                f"merge them: alembic merge -m 'merge heads' {' '.join(hs)}",
                details={"heads": hs},
            )
        )
    return out


def walk_order(revs: Sequence[RevisionInfo]) -> list[str]:
    """Topological order, base first; revisions whose parents are missing are left out."""
    by_id = {r.revision: r for r in revs}
    deps = {r.revision: {p for p in (*r.down_revisions, *r.depends_on) if p in by_id} for r in revs}
    broken = {
        r.revision for r in revs if any(p not in by_id for p in (*r.down_revisions, *r.depends_on))
    }
    children: dict[str, list[str]] = {k: [] for k in deps}
    for rev, ps in deps.items():
        for p in ps:
            children[p].append(rev)
    indegree = {k: len(v) for k, v in deps.items()}
    ready = [k for k, n in indegree.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    excluded = set(broken)
    while ready:
        rev = heapq.heappop(ready)
        if rev in excluded:
            excluded.update(children[rev])
        else:
            order.append(rev)
        for child in children[rev]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    return order


def ancestors(revs: Sequence[RevisionInfo], targets: Sequence[str]) -> set[str]:
    """The revisions a database at `targets` has applied: the targets and every revision
    they descend from (`down_revision` and `depends_on`), transitively."""
    by_id = {r.revision: r for r in revs}
    seen: set[str] = set()
    todo = [t for t in targets if t in by_id]
    while todo:
        rev = todo.pop()
        if rev in seen:
            continue
        seen.add(rev)
        info = by_id[rev]
        todo.extend(p for p in (*info.down_revisions, *info.depends_on) if p in by_id)
    return seen
