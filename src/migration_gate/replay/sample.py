"""The plan of a sampled and/or masked copy: per table, the SQL that picks and reads its rows.

Sampling (`--sample N`) keeps at most N rows per table with every foreign key resolving:

* tables are taken parents first; a table's rows qualify when each of its NOT NULL foreign
  keys points at a row already kept in the parent (children follow the sampled parents);
* a nullable foreign key never excludes a row: when its parent row was not kept, the
  copy writes NULL there (so cycles through a nullable key need no order);
* a NOT NULL reference of a table to itself keeps only rows whose referenced row is kept
  too (pruned until nothing changes); a nullable one is nulled like any other;
* NOT NULL foreign keys that form a cycle between tables cannot be sampled: a ConfigError.

The kept rows of each table are remembered as (ctid, referenced key columns) in a temporary
table of the source session, so all of this runs in the source database as SQL, and each
table is then read once, by tuple id, as `COPY (SELECT ...) TO STDOUT`. Masked columns are
expressions of that SELECT (`mask`); a column referencing a masked key is masked the same
way. Pure: builds SQL text from a `SchemaSnapshot`, runs nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from migration_gate.errors import ConfigError
from migration_gate.replay.mask import default_kind, mask_expression
from migration_gate.snapshot import ForeignKey, SchemaSnapshot, Table

__all__ = ["TablePlan", "plan_copy", "propagate_masks", "qident", "qtable", "resolve_masks"]

Masks = Mapping[tuple[str, str], str]
#: (table, column) -> kind, or None for the kind its type and name suggest
MaskRequest = Mapping[tuple[str, str], str | None]


def qident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qtable(name: str) -> str:
    """`schema.table` or `table` (current schema), quoted."""
    schema, dot, table = name.partition(".")
    return f"{qident(schema)}.{qident(table)}" if dot else qident(name)


@dataclass(frozen=True)
class TablePlan:
    """How one table is copied."""

    name: str
    #: the columns written (generated columns are left to the target)
    columns: tuple[str, ...]
    #: the SELECT whose rows are copied
    select: str
    #: CREATE TEMP TABLE of the kept rows' tuple ids and key columns (sampling only)
    keys: str | None = None
    #: a DELETE to repeat until it deletes nothing (NOT NULL self references)
    prune: str | None = None
    #: the temporary table `keys` creates
    key_table: str | None = None


def _nullable(table: Table, fk: ForeignKey) -> list[str]:
    out = []
    for name in fk.columns:
        col = table.column(name)
        if col is None or col.nullable:
            out.append(name)
    return out


def _unique(table: Table, column: str) -> bool:
    sets = [table.primary_key, *(u.columns for u in table.unique_constraints)]
    sets += [tuple(i.elements) for i in table.indexes if i.unique and not i.predicate]
    return any(column in s for s in sets if s)


def propagate_masks(snapshot: SchemaSnapshot, masks: Masks) -> dict[tuple[str, str], str]:
    """The masks, plus each column that references a masked column, masked the same way."""
    out = dict(masks)
    changed = True
    while changed:
        changed = False
        for table in snapshot.tables:
            for fk in table.foreign_keys:
                for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
                    kind = out.get((fk.ref_table, ref))
                    if kind is None:
                        continue
                    have = out.get((table.name, col))
                    if have is None:
                        out[(table.name, col)] = kind
                        changed = True
                    elif have != kind:
                        raise ConfigError(
                            f"--mask {table.name}.{col}={have} but it references "
                            f"{fk.ref_table}.{ref}, masked as {kind}: the join would break",
                            hint=f"mask both with the same kind, or leave {table.name}.{col} "
                            "out (it follows the column it references)",
                        )
    return out


def resolve_masks(
    snapshot: SchemaSnapshot, masks: MaskRequest, version_table: str = "alembic_version"
) -> dict[tuple[str, str], str]:
    """Each mask with its kind (the default for its column when none was given); a
    ConfigError for a column that does not exist or that no fake fits."""
    out: dict[tuple[str, str], str] = {}
    for (table_name, column), kind in masks.items():
        table = snapshot.table(table_name)
        col = table.column(column) if table is not None else None
        if table_name == version_table:
            raise ConfigError(
                f"--mask {table_name}.{column}: the version table is never masked",
                hint="replay reads the revision from it",
            )
        if table is None or col is None:
            raise ConfigError(
                f"--mask {table_name}.{column}: no such "
                + ("table" if table is None else "column"),
                hint="name it table.column (schema.table.column outside the current schema)",
            )
        chosen = kind or default_kind(column, col.type)
        if chosen is None:
            raise ConfigError(
                f"--mask {table_name}.{column}: no fake fits its type {col.type}",
                hint="use =null on a nullable column, or do not mask it",
            )
        out[(table_name, column)] = chosen
    return out


def _order(tables: list[Table], required: Mapping[str, list[ForeignKey]]) -> list[Table]:
    """Parents before children along the NOT NULL foreign keys (self references aside)."""
    by_name = {t.name: t for t in tables}
    done: set[str] = set()
    out: list[Table] = []
    pending = sorted(by_name)
    while pending:
        ready = [
            n
            for n in pending
            if all(
                fk.ref_table in (done | {n}) or fk.ref_table not in by_name for fk in required[n]
            )
        ]
        if not ready:
            raise ConfigError(
                "cannot sample: NOT NULL foreign keys form a cycle between " + ", ".join(pending),
                hint="snapshot these tables without --sample",
            )
        for n in ready:
            done.add(n)
            out.append(by_name[n])
        pending = [n for n in pending if n not in done]
    return out


def plan_copy(
    snapshot: SchemaSnapshot,
    *,
    sample: int | None,
    masks: MaskRequest,
    version_table: str = "alembic_version",
    partitioned: Collection[str] = (),
    skip: Collection[str] = (),
) -> list[TablePlan]:
    """The copy plan of every table of `snapshot` but those in `skip` (partitions, copied
    through their parent), in the order to copy them. `version_table` is copied whole."""
    masks = propagate_masks(snapshot, resolve_masks(snapshot, masks, version_table))
    tables = [t for t in snapshot.tables if t.name not in skip]
    known = {t.name for t in tables}
    required: dict[str, list[ForeignKey]] = {}
    deferred: dict[str, list[ForeignKey]] = {}
    for t in tables:
        required[t.name] = []
        deferred[t.name] = []
        for fk in t.foreign_keys:
            if fk.ref_table not in known:
                continue
            (deferred if _nullable(t, fk) else required)[t.name].append(fk)
    ordered = (
        _order(tables, required) if sample is not None else sorted(tables, key=lambda t: t.name)
    )
    keys = {t.name: f"mg_k_{i}" for i, t in enumerate(ordered)}
    key_columns: dict[str, list[str]] = {t.name: [] for t in ordered}
    for t in ordered:
        for fk in (*required[t.name], *deferred[t.name]):
            for ref in fk.ref_columns:
                if ref not in key_columns[fk.ref_table]:
                    key_columns[fk.ref_table].append(ref)
        for fk in required[t.name]:
            if fk.ref_table == t.name:
                key_columns[t.name] += [c for c in fk.columns if c not in key_columns[t.name]]
    plans = []
    for t in ordered:
        whole = sample is None or t.name == version_table
        plans.append(
            _table_plan(
                t,
                sample=None if whole else sample,
                masks=masks,
                keys=keys,
                key_columns=key_columns[t.name],
                required=required[t.name],
                deferred=[] if whole else deferred[t.name],
                partitioned=t.name in partitioned,
            )
        )
    return plans


def _in_keys(fk: ForeignKey, key_table: str, alias: str = "t") -> str:
    cols = ", ".join(f"{alias}.{qident(c)}" for c in fk.columns)
    refs = ", ".join(qident(c) for c in fk.ref_columns)
    return f"({cols}) IN (SELECT {refs} FROM {key_table})"


def _table_plan(
    t: Table,
    *,
    sample: int | None,
    masks: Masks,
    keys: Mapping[str, str],
    key_columns: list[str],
    required: list[ForeignKey],
    deferred: list[ForeignKey],
    partitioned: bool,
) -> TablePlan:
    source = f"{'' if partitioned else 'ONLY '}{qtable(t.name)} AS t"
    columns = tuple(c.name for c in t.columns if c.generated is None)
    exprs = []
    for name in columns:
        col = t.column(name)
        assert col is not None
        expr = f"t.{qident(name)}"
        kind = masks.get((t.name, name))
        if kind is not None:
            expr = mask_expression(
                expr,
                f"{t.name}.{name}",
                col.type,
                kind,
                nullable=col.nullable,
                unique=_unique(t, name),
            )
        conditions = [
            _in_keys(fk, keys[fk.ref_table]) for fk in deferred if name in _nullable(t, fk)
        ]
        if conditions:
            expr = f"CASE WHEN {' AND '.join(conditions)} THEN {expr} END"
        exprs.append(f"{expr} AS {qident(name)}")
    select = f"SELECT {', '.join(exprs)} FROM {source}"
    if sample is None:
        return TablePlan(t.name, columns, select)
    key = keys[t.name]
    picked = ["t.ctid AS mg_tid"] + (["t.tableoid AS mg_toid"] if partitioned else [])
    picked += [f"t.{qident(c)}" for c in key_columns]
    where = [_in_keys(fk, keys[fk.ref_table]) for fk in required if fk.ref_table != t.name]
    create = (
        f"CREATE TEMP TABLE {key} AS SELECT {', '.join(picked)} FROM {source}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" LIMIT {int(sample)}"
    )
    prune = None
    selfs = [fk for fk in required if fk.ref_table == t.name]
    if selfs:
        dangling = " OR ".join(f"NOT {_in_keys(fk, key, alias='k')}" for fk in selfs)
        prune = f"DELETE FROM {key} AS k WHERE {dangling}"
    if partitioned:
        select += f" WHERE (t.tableoid, t.ctid) IN (SELECT mg_toid, mg_tid FROM {key})"
    else:
        select += f" WHERE t.ctid = ANY (ARRAY(SELECT mg_tid FROM {key}))"
    return TablePlan(t.name, columns, select, create, prune, key)
