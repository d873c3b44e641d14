"""replay-drift: the replayed head's schema is not the schema a fresh database gets at head.

Post-mortem 004: dev kept an enum named `messagerole` that no fresh database ever has. The
replayed head is diffed against the head built from empty on a scratch database
(`chain.expected.expected_schema`), object by object, and each difference is one sentence
that names the object and what a fresh head has instead:
`messages.role: type messagerole, expected message_role`. Pure.
"""

from __future__ import annotations

from pathlib import Path

from migration_gate.chain.script import Chain
from migration_gate.findings import Finding
from migration_gate.snapshot import Change, SchemaSnapshot, diff

__all__ = ["CHECK", "drift_finding", "drift_sentences"]

CHECK = "replay-drift"


def _sentence(change: Change) -> str:
    path = change.path
    if change.kind == "changed" and len(path) == 5 and path[0] == "tables" and path[2] == "columns":
        _, table, _, column, prop = path
        if prop == "nullable":
            got = "NULL" if change.after else "NOT NULL"
            want = "NULL" if change.before else "NOT NULL"
            return f"{table}.{column}: {got}, expected {want}"
        return f"{table}.{column}: {prop} {change.after}, expected {change.before}"
    return change.sentence(
        added="only in the replayed database", removed="missing (a fresh head has it)"
    )


def drift_sentences(replayed: SchemaSnapshot, fresh: SchemaSnapshot) -> list[str]:
    """Each difference of the replayed head from the fresh head, as a sentence."""
    return [_sentence(c) for c in diff(fresh, replayed)]


def drift_finding(
    replayed: SchemaSnapshot,
    fresh: SchemaSnapshot,
    *,
    snapshot: str,
    chain: Chain,
    heads: tuple[str, ...],
    root: Path | None,
) -> Finding | None:
    """The drift of one replayed snapshot, or None when it matches a fresh head."""
    sentences = drift_sentences(replayed, fresh)
    if not sentences:
        return None
    head = heads[0] if len(heads) == 1 else None
    info = chain.infos.get(head or "")
    shown = "; ".join(sentences[:3]) + (
        f"; and {len(sentences) - 3} more" if len(sentences) > 3 else ""
    )
    return Finding(
        check=CHECK,
        severity="error",
        revision=head,
        dialect=replayed.dialect,
        file=info.rel_path(root) if info else None,
        message=f"{snapshot} replayed to head differs from a fresh head: {shown}",
        details={
            "snapshot": snapshot,
            "diff": sentences,
            "hint": "the database holds a state the chain never produces (a migration edited "
            "after it ran there? a change made by hand?): add a migration that repairs it, "
            "idempotently, so that fresh and existing databases both end at the same schema",
        },
    )
