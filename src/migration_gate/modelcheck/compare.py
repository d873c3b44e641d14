"""What check-models compares: the objects the models declare, as Alembic's autogenerate does.

SQLAlchemy models declare tables (their columns, keys, constraints, indexes and comments),
and through them enum types and sequences. Views, functions, triggers and extensions they
cannot declare, unless a DDL event creates them in `create_all`
(``sa.event.listen(metadata, "after_create", DDL(...))``), and a migration may well create
them. So `compare` splits the difference of the two head schemas:

- an object only the chain has, of a kind that models do not declare (views, functions,
  triggers, extensions, enum types, sequences), is left out of the comparison and reported
  as `info`;
- everything else, including such an object once the models declare it, is `model-drift`:
  an error.

Pure: two snapshots in, a list of `Drift` out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from migration_gate.findings import Severity
from migration_gate.snapshot.diff import Change, diff
from migration_gate.snapshot.model import SchemaSnapshot

__all__ = ["UNDECLARED_KINDS", "Drift", "compare"]

#: the kinds of objects models declare only through DDL events (or implicitly)
UNDECLARED_KINDS = ("views", "functions", "triggers", "sequences", "enums", "extensions")

#: a kind → its `SchemaSnapshot.to_dict()` key of one object
_KEY: dict[str, Callable[[Any], str]] = {
    "views": lambda o: o.name,
    "functions": lambda o: o.name,
    "triggers": lambda o: o.key,
    "sequences": lambda o: o.name,
    "enums": lambda o: o.name,
    "extensions": lambda o: o,
}


@dataclass(frozen=True)
class Drift:
    """One difference between the chain's head schema and the models' schema."""

    change: Change
    severity: Severity
    #: the side that has the object: "models", "chain" or "both" (it differs)
    side: Literal["models", "chain", "both"]


def compare(chain: SchemaSnapshot, models: SchemaSnapshot) -> list[Drift]:
    """The drifts from the chain's schema (`chain`) to the models' (`models`)."""
    only_chain: dict[str, list[Any]] = {}
    kept: dict[str, Any] = {}
    for kind in UNDECLARED_KINDS:
        key = _KEY[kind]
        declared = {key(o) for o in getattr(models, kind)}
        ours = getattr(chain, kind)
        only_chain[kind] = [o for o in ours if key(o) not in declared]
        kept[kind] = tuple(o for o in ours if key(o) in declared)
    compared = replace(chain, **kept) if any(only_chain.values()) else chain
    out = [Drift(c, "error", _side(c)) for c in diff(compared, models)]
    document = chain.to_dict()
    for kind, objects in only_chain.items():
        for obj in objects:
            name = _KEY[kind](obj)
            before = name if kind == "extensions" else document[kind][name]
            out.append(Drift(Change((kind, name), "removed", before=before), "info", "chain"))
    return out


def _side(change: Change) -> Literal["models", "chain", "both"]:
    if change.kind == "added":
        return "models"
    if change.kind == "removed":
        return "chain"
    return "both"
