"""Rebuild a `SchemaSnapshot` from its canonical form (`to_dict()`, as stored in a file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migration_gate.snapshot.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Function,
    Index,
    SchemaSnapshot,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)

__all__ = ["snapshot_from_dict"]


def snapshot_from_dict(data: Mapping[str, Any]) -> SchemaSnapshot:
    """The snapshot whose canonical form is `data` (keys a file lacks take their defaults)."""
    tables = []
    for tname, t in data.get("tables", {}).items():
        tables.append(
            Table(
                name=tname,
                columns=tuple(Column(name=cname, **c) for cname, c in t.get("columns", {}).items()),
                primary_key=tuple(t.get("primary_key", ())),
                foreign_keys=tuple(
                    ForeignKey(
                        name=None if k.startswith("(") else k,
                        columns=tuple(fk["columns"]),
                        ref_table=fk["ref_table"],
                        ref_columns=tuple(fk["ref_columns"]),
                        on_delete=fk.get("on_delete", "NO ACTION"),
                        on_update=fk.get("on_update", "NO ACTION"),
                        deferrable=fk.get("deferrable", False),
                    )
                    for k, fk in t.get("foreign_keys", {}).items()
                ),
                unique_constraints=tuple(
                    UniqueConstraint(
                        name=None if k.startswith("unique(") else k, columns=tuple(u["columns"])
                    )
                    for k, u in t.get("unique_constraints", {}).items()
                ),
                check_constraints=tuple(
                    CheckConstraint(
                        name=None if k.startswith("check(") else k, expression=c["expression"]
                    )
                    for k, c in t.get("check_constraints", {}).items()
                ),
                indexes=tuple(
                    Index(
                        name=iname,
                        elements=tuple(i["elements"]),
                        unique=i.get("unique", False),
                        predicate=i.get("predicate"),
                        method=i.get("method"),
                    )
                    for iname, i in t.get("indexes", {}).items()
                ),
                comment=t.get("comment"),
            )
        )
    return SchemaSnapshot(
        dialect=data["dialect"],
        tables=tuple(tables),
        enums=tuple(EnumType(n, tuple(labels)) for n, labels in data.get("enums", {}).items()),
        sequences=tuple(Sequence(name=n, **s) for n, s in data.get("sequences", {}).items()),
        views=tuple(View(name=n, **v) for n, v in data.get("views", {}).items()),
        functions=tuple(Function(name=n, **f) for n, f in data.get("functions", {}).items()),
        triggers=tuple(
            Trigger(name=k.split(".", 1)[1], table=t["table"], definition=t["definition"])
            for k, t in data.get("triggers", {}).items()
        ),
        extensions=tuple(data.get("extensions", ())),
    )
