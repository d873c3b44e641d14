"""Pre-flight: is the database what the files say it is? Pure decisions, as findings.

- `ledger_findings` (``ledger-mismatch``): a revision the ledger records as applied whose file
  now has another checksum (edited after it was deployed: post-mortem 004), or that no file
  declares any more; a database at a revision the chain does not know. A revision the ledger
  records but the version table no longer contains (a downgrade outside migration-gate) is a
  warning.
- `drift_finding` (``schema-drift``): the live schema against the schema the chain produces at
  the live revision, object by object ("messages.role: type messagerole, expected
  message_role"). Refused (an error) unless the deploy was told `--allow-drift`, then a warning
  that says the deploy went on.
- `unversioned_finding`: a database that holds tables but no Alembic revision, refused with the
  ``alembic stamp`` that adopts it (and the revision whose schema it has, when the lock file
  knows one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from migration_gate.chain.graph import ancestors
from migration_gate.chain.script import Chain
from migration_gate.deploy.files import FileFacts
from migration_gate.deploy.ledger import LEDGER_TABLE, latest_applied
from migration_gate.deploy.section import LedgerRow
from migration_gate.findings import Finding, Severity
from migration_gate.snapshot import Change, SchemaSnapshot, diff

__all__ = [
    "LEDGER_MISMATCH",
    "SCHEMA_DRIFT",
    "drift_finding",
    "drift_sentences",
    "ledger_findings",
    "unversioned_finding",
]

SCHEMA_DRIFT = "schema-drift"
LEDGER_MISMATCH = "ledger-mismatch"


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def _sentence(change: Change) -> str:
    path = change.path
    if change.kind == "changed" and len(path) == 5 and path[0] == "tables":
        table, name, prop = path[1], path[3], path[4]
        if prop == "nullable":
            found = "NULL" if change.after else "NOT NULL"
            wanted = "NULL" if change.before else "NOT NULL"
            return f"{table}.{name}: {found}, expected {wanted}"
        return f"{table}.{name}: {prop} {_fmt(change.after)}, expected {_fmt(change.before)}"
    text = change.sentence(added="is extra (the chain does not make it)", removed="is missing")
    return f"{text} (expected → found)" if "→" in text else text


def drift_sentences(expected: SchemaSnapshot, live: SchemaSnapshot) -> list[str]:
    """Each difference of the live schema from the expected one, as a sentence."""
    return [_sentence(c) for c in diff(expected, live)]


def _at(heads: Sequence[str]) -> str:
    return ", ".join(heads) if heads else "base"


#: when the drift check runs: on its own (`drift`), before a deploy applies, or after it
When = Literal["drift", "before", "after"]
_VERDICT: dict[tuple[When, bool], tuple[str, Severity, str]] = {
    ("drift", False): (SCHEMA_DRIFT, "error", "a deploy would refuse it"),
    ("drift", True): (SCHEMA_DRIFT, "error", "a deploy would refuse it"),
    ("before", False): (SCHEMA_DRIFT, "error", "refused: nothing was applied"),
    ("before", True): (SCHEMA_DRIFT, "warning", "--allow-drift: deployed anyway"),
    ("after", False): (
        "deploy-failed",
        "error",
        "after the deploy: it ran, but did not leave the schema the chain makes",
    ),
    ("after", True): (
        SCHEMA_DRIFT,
        "warning",
        "after the deploy, as before it; --allow-drift deployed anyway",
    ),
}


def drift_finding(
    environment: str,
    heads: Sequence[str],
    expected: SchemaSnapshot,
    live: SchemaSnapshot,
    *,
    when: When = "drift",
    allow_drift: bool = False,
) -> Finding | None:
    """`schema-drift` when the live schema is not the expected one; None when it is."""
    if expected == live:
        return None
    sentences = drift_sentences(expected, live) or [
        "the schemas differ in a way the diff cannot name (compare the snapshots' JSON)"
    ]
    shown = "; ".join(sentences[:3]) + (
        f"; and {len(sentences) - 3} more" if len(sentences) > 3 else ""
    )
    check, severity, verdict = _VERDICT[(when, allow_drift)]
    return Finding(
        check=check,
        severity=severity,
        revision=heads[0] if len(heads) == 1 else None,
        dialect=live.dialect,
        message=f"{environment}: the schema at revision {_at(heads)} is not the one the chain "
        f"produces: {shown} ({verdict})",
        details={
            "diff": sentences,
            "environment": environment,
            "hint": "find out who changed the database by hand (or which migration was edited "
            "after it ran there), then bring the schema back with a new migration; "
            "--allow-drift deploys anyway",
        },
    )


def _ledger_row(row: LedgerRow) -> str:
    env = f" to {row.environment}" if row.environment else ""
    return f"deployed{env} at {row.started_at} by {row.deployed_by}"


def ledger_findings(
    environment: str,
    chain: Chain,
    files: FileFacts,
    heads: Sequence[str],
    rows: Sequence[LedgerRow],
    *,
    root: Path | None = None,
) -> list[Finding]:
    """The ledger (and the version table) against the revision files."""
    out: list[Finding] = []
    infos = chain.infos
    for rev in heads:
        if rev not in infos:
            out.append(
                Finding(
                    check=LEDGER_MISMATCH,
                    severity="error",
                    revision=rev,
                    message=f"{environment}: the database is at revision {rev}, which no "
                    "migration file declares (refused)",
                    details={
                        "hint": "deploy from the branch that has this revision (is this "
                        "checkout behind the one that last deployed?), or restore its file",
                    },
                )
            )
    applied = ancestors(chain.revisions, [h for h in heads if h in infos])
    for rev, row in latest_applied(rows).items():
        info = infos.get(rev)
        if info is None:
            out.append(
                Finding(
                    check=LEDGER_MISMATCH,
                    severity="error",
                    revision=rev,
                    message=f"{environment}: {LEDGER_TABLE} records revision {rev} "
                    f"({_ledger_row(row)}), but no migration file declares it any more "
                    "(refused)",
                    details={
                        "ledger": _ledger_row(row),
                        "hint": "restore the migration file: this database ran it; undo its "
                        "effect with a new migration instead of deleting it",
                    },
                )
            )
            continue
        now = files.checksums.get(rev)
        if row.checksum and now and row.checksum != now:
            out.append(
                Finding(
                    check=LEDGER_MISMATCH,
                    severity="error",
                    revision=rev,
                    file=info.rel_path(root),
                    line=1,
                    message=f"{environment}: {rev} was edited after it was deployed "
                    f"({_ledger_row(row)} with checksum {row.checksum}; the file's is {now}): "
                    "this database ran the old version and will never run the new one "
                    "(refused)",
                    details={
                        "deployed": row.checksum,
                        "checksum": now,
                        "ledger": _ledger_row(row),
                        "hint": "revert the edit (the released version must stay as it ran) "
                        "and add a new migration for the change",
                    },
                )
            )
        elif rev not in applied and all(h in infos for h in heads):
            out.append(
                Finding(
                    check=LEDGER_MISMATCH,
                    severity="warning",
                    revision=rev,
                    file=info.rel_path(root),
                    message=f"{environment}: {LEDGER_TABLE} records {rev} as applied "
                    f"({_ledger_row(row)}) but the database is at {_at(heads)}: it was "
                    "downgraded outside migration-gate; the deploy applies it again",
                    details={"ledger": _ledger_row(row)},
                )
            )
    return out


def unversioned_finding(
    environment: str,
    live: SchemaSnapshot,
    *,
    version_table: str,
    matches: Mapping[str, str] | None = None,
    ini: str = "alembic.ini",
) -> Finding:
    """A database with objects but no revision: refused, with the command that adopts it.
    `matches` maps a revision to how its schema is known to equal this one."""
    names = sorted(t.name for t in live.tables)
    some = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    if matches:
        rev, how = next(iter(matches.items()))
        hint = (
            f"its schema is the chain's at revision {rev} ({how}): adopt it with "
            f"`alembic -c {ini} stamp {rev}`, then deploy again"
        )
    else:
        hint = (
            "find the revision whose schema it has (no revision in the lock file has this "
            f"schema), adopt it with `alembic -c {ini} stamp REVISION`, then deploy again; "
            "migration-gate drift then shows what still differs"
        )
    return Finding(
        check=SCHEMA_DRIFT,
        severity="error",
        dialect=live.dialect,
        message=f"{environment}: the database holds {len(names)} table(s) ({some}) but no "
        f"Alembic revision ({version_table} is missing or empty): refused, the first "
        "migration would run on tables it did not make",
        details={"tables": names, "hint": hint},
    )
