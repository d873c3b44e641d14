"""Which columns of a probe row say which table the row came from (pure).

The probe makes most values of a row for its table and column (`values`: tagged text,
UUIDs, keys, JSON, bytes); a value found in another table then says the row's data went
there. Other values a row only shares with other rows: its references hold the parent's
keys (every table that points at the same parent holds them too), and enum or check-list
labels and check constants are the same in every table that allows them. Those columns are
no evidence that rows were moved (`judge`, `relocate.destinations`).
"""

from __future__ import annotations

from migration_gate.checks.probe.constraints import read_rules
from migration_gate.checks.probe.references import loose_references
from migration_gate.snapshot.model import SchemaSnapshot, Table

__all__ = ["own_columns"]


def own_columns(table: Table, snapshot: SchemaSnapshot) -> frozenset[str]:
    """The columns of `table` whose probe values were made for it: not its references (real
    or likely, `loose_references`), not labels of an enum or a check constraint."""
    refs = {
        c for fk in (*table.foreign_keys, *loose_references(table, snapshot)) for c in fk.columns
    }
    enums = {e.name for e in snapshot.enums}
    rules = read_rules(table).columns
    labels = {n for n, rule in rules.items() if rule.allowed or rule.equal}
    return frozenset(
        c.name
        for c in table.columns
        if c.name not in refs and c.name not in labels and c.type not in enums
    )
