"""Checks on schema snapshots that are not part of the up/down/up walk itself.

Each module holds one pure function over `SchemaSnapshot`s (so `lint` and `roundtrip` can
share it) and, where the walk runs it, the small adapter that turns its result into
`Finding`s: `fk_types` (a foreign key whose column type differs from the column it
references) and `divergence` (the head schemas of SQLite and PostgreSQL differ).
"""
