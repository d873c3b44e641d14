"""The rows a failed revision choked on, found from the database's own error.

When the error names a constraint or a column (PostgreSQL's diagnostics: table, column,
constraint, detail; SQLite's "NOT NULL constraint failed: t.c"), a query finds a few of
the rows that break it, on the database as the failed (rolled back) step left it:

* NOT NULL (23502): rows where the column is NULL, or every row when the column is new;
* unique (23505): rows sharing the duplicated key of the detail (`Key (email)=(...)`);
* check (23514): rows where the CHECK expression of the failed statement is false;
* foreign key (23503): rows holding the key value the detail names;
* a value that does not convert (22P02, 22001 ...) in `ALTER COLUMN ... TYPE`: rows
  holding the value the error quotes, or longer than the new length.

Values are shown as restored (a masked snapshot shows masked values), cut to 80 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from migration_gate.db import engines
from migration_gate.db.failure import error_code
from migration_gate.replay.sample import qident, qtable

__all__ = ["Offending", "find_offending", "offending_query"]

LIMIT = 5
_KEY = re.compile(
    r"Key \((?P<cols>.+?)\)=\((?P<vals>.*)\) (?:already exists|is duplicated|is not present)"
)
_ALTER_TYPE = re.compile(
    r"ALTER\s+TABLE\s+(?:ONLY\s+)?(?P<table>\S+)\s+ALTER\s+(?:COLUMN\s+)?(?P<col>\S+)\s+(?:SET\s+DATA\s+)?TYPE\b",
    re.I,
)
_TABLE_IN_SQL = re.compile(
    r"(?:ALTER\s+TABLE\s+(?:ONLY\s+)?|\bON\s+(?:ONLY\s+)?)(?P<table>[\w.\"]+)", re.I
)
_QUOTED = re.compile(r':\s*"(?P<value>[^"]*)"\s*$')
_TOO_LONG = re.compile(r"value too long for type character(?: varying)?\((?P<n>\d+)\)")
_SQLITE = re.compile(r"(?P<what>NOT NULL|UNIQUE) constraint failed: (?P<cols>[\w.]+(?:, [\w.]+)*)")


@dataclass(frozen=True)
class Offending:
    """What the rows break, and a few of them."""

    what: str
    rows: list[dict[str, str]] = field(default_factory=list)


def _check_expression(statement: str) -> str | None:
    """The expression of the first CHECK (...) in a statement, parentheses balanced."""
    m = re.search(r"\bCHECK\s*\(", statement, re.I)
    if m is None:
        return None
    depth, start = 0, m.end() - 1
    for i in range(start, len(statement)):
        if statement[i] == "(":
            depth += 1
        elif statement[i] == ")":
            depth -= 1
            if depth == 0:
                return statement[start + 1 : i]
    return None


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _table_name(schema: str | None, table: str | None) -> str | None:
    if not table:
        return None
    return f"{schema}.{table}" if schema and schema != "public" else table


def offending_query(
    code: str | None,
    *,
    table: str | None,
    column: str | None,
    detail: str,
    message: str,
    statement: str,
    column_exists: bool = True,
) -> tuple[str, str] | None:
    """(what the rows break, the WHERE clause that finds them) for an error; pure."""
    key = _KEY.search(detail or message)
    if table is None:
        m = _ALTER_TYPE.search(statement) or _TABLE_IN_SQL.search(statement)
        table = m.group("table").replace('"', "") if m else None
    if table is None:
        return None
    if code == "23502" and column:
        if not column_exists:
            return f"{table}.{column} is new and NOT NULL: every row breaks it", "TRUE"
        return f"{table}.{column} must not be NULL", f"{qident(column)} IS NULL"
    if code == "23505" and key:
        cols = key.group("cols")
        return (
            f"{table} ({cols}) must be unique",
            f"({cols}) IN (SELECT {cols} FROM {qtable(table)} GROUP BY {cols} HAVING count(*) > 1)",
        )
    if code == "23514":
        expr = _check_expression(statement)
        if expr:
            return f"{table} must satisfy CHECK ({expr})", f"NOT ({expr})"
    if code == "23503" and key and "," not in key.group("cols"):
        cols = key.group("cols")
        return f"{table} ({cols}) = {key.group('vals')} references nothing", (
            f"CAST({cols} AS text) = {_literal(key.group('vals'))}"
        )
    alter = _ALTER_TYPE.search(statement)
    if code and code.startswith("22") and alter:
        col = alter.group("col").replace('"', "")
        long = _TOO_LONG.search(message)
        if long:
            n = long.group("n")
            return f"{table}.{col} longer than {n}", f"length(CAST({qident(col)} AS text)) > {n}"
        quoted = _QUOTED.search(message.splitlines()[0] if message else "")
        if quoted:
            value = quoted.group("value")
            return f"{table}.{col} holds {value!r}, which does not convert", (
                f"CAST({qident(col)} AS text) = {_literal(value)}"
            )
    return None


def _sqlite_query(message: str) -> tuple[str, str, str] | None:
    m = _SQLITE.search(message)
    if m is None:
        return None
    cols = [c.split(".", 1) for c in m.group("cols").split(", ")]
    table = cols[0][0]
    names = ", ".join(qident(c[-1]) for c in cols)
    if m.group("what") == "NOT NULL":
        return table, f"{table}.{cols[0][-1]} must not be NULL", f"{names} IS NULL"
    where = (
        f"({names}) IN (SELECT {names} FROM {qident(table)} GROUP BY {names} HAVING count(*) > 1)"
    )
    return table, f"{table} ({names}) must be unique", where


def _rows(conn: Connection, table: str, where: str) -> list[dict[str, str]]:
    sql = f"SELECT * FROM {qtable(table)} WHERE {where} LIMIT {LIMIT}"
    out = []
    for row in conn.exec_driver_sql(sql.replace("%", "%%")).mappings():
        out.append({k: _cut(v) for k, v in row.items()})
    return out


def _cut(value: object) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def find_offending(url: str, exc: BaseException) -> Offending | None:
    """A few rows that break what the failed step's error names, if it names something."""
    db_error = next((e for e in _chain(exc) if isinstance(e, DBAPIError)), None)
    if db_error is None:
        return None
    orig = db_error.orig
    statement = str(db_error.statement or "")
    engine = engines.engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                found = _sqlite_query(str(orig))
                if found is None:
                    return None
                return Offending(found[1], _rows(conn, found[0], found[2]))
            diag = getattr(orig, "diag", None)
            table = _table_name(
                getattr(diag, "schema_name", None), getattr(diag, "table_name", None)
            )
            column = getattr(diag, "column_name", None)
            exists = True
            if table and column:
                exists = bool(
                    conn.execute(
                        sa.text(
                            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:t) "
                            "AND attname = :c AND NOT attisdropped"
                        ),
                        {"t": qtable(table), "c": column},
                    ).first()
                )
            found_pg = offending_query(
                error_code(db_error),  # psycopg's sqlstate, psycopg2's pgcode
                table=table,
                column=column,
                detail=str(getattr(diag, "message_detail", "") or ""),
                message=str(getattr(diag, "message_primary", "") or str(orig)),
                statement=statement,
                column_exists=exists,
            )
            if found_pg is None:
                return None
            what, where = found_pg
            name = table or _statement_table(statement)
            if name is None:
                return None
            return Offending(what, _rows(conn, name, where))
    except sa.exc.SQLAlchemyError:
        return None  # the error stands on its own; the rows were a bonus
    finally:
        engine.dispose()


def _statement_table(statement: str) -> str | None:
    m = _ALTER_TYPE.search(statement) or _TABLE_IN_SQL.search(statement)
    return m.group("table").replace('"', "") if m else None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
