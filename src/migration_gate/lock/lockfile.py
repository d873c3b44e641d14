"""The lock file of released migrations: its format, and what a check of it finds. Pure.

``migrations/migration-gate.lock`` is text meant for review: a header, then one block per
revision in walk order (base first), then a last line naming the head(s)::

    lock-version: 1

    revision: 0001
    parents: -
    file: migrations/versions/2025_01_06_0001_users_accounts_agents.py
    checksum: ast-v1:3f0c...
    schema.postgresql: sha256:9a41...
    schema.sqlite: sha256:12be...

    head: 0001

Two branches that each add a revision on the same head both append a block after the same
line and both rewrite the ``head:`` line, so git reports a conflict and the second branch
must rebase (and re-lock) before it merges: the chain cannot silently grow two heads.

`compare` turns the migrations as they are, the lock, and optionally the lock of the base
branch into `edited-migration` and `unlocked-migration` findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from migration_gate.errors import ConfigError
from migration_gate.findings import Finding

__all__ = ["Current", "LockEntry", "LockFile", "compare", "parse_lock"]

VERSION = "1"
HEADER = """\
# migration-gate lock file, written by `migration-gate lock`: review it like code, do not edit it.
# Each block pins a revision: its checksum ignores comments, docstrings and formatting, and the
# schema hashes are those of the schema after the revision on each dialect.
# A revision that is released (merged into the base branch) must never change: databases that
# already ran it will not run it again. To change the schema, add a new migration.
"""
_KEYS = ("revision", "parents", "file", "checksum")


@dataclass(frozen=True)
class LockEntry:
    revision: str
    parents: tuple[str, ...]
    file: str
    checksum: str
    #: dialect -> "sha256:<hex>" of the schema after this revision
    schemas: Mapping[str, str] = field(default_factory=dict)

    def render(self) -> list[str]:
        lines = [
            f"revision: {self.revision}",
            f"parents: {', '.join(self.parents) or '-'}",
            f"file: {self.file}",
            f"checksum: {self.checksum}",
        ]
        lines += [f"schema.{d}: {h}" for d, h in sorted(self.schemas.items())]
        return lines


@dataclass(frozen=True)
class LockFile:
    entries: tuple[LockEntry, ...] = ()
    heads: tuple[str, ...] = ()

    def get(self, revision: str) -> LockEntry | None:
        return next((e for e in self.entries if e.revision == revision), None)

    def render(self) -> str:
        out = [HEADER.rstrip("\n"), f"lock-version: {VERSION}", ""]
        for entry in self.entries:
            out += [*entry.render(), ""]
        out.append(f"head: {', '.join(self.heads) or '-'}")
        return "\n".join(out) + "\n"


def _ids(value: str) -> tuple[str, ...]:
    return () if value.strip() in ("", "-") else tuple(p.strip() for p in value.split(","))


def parse_lock(text: str, *, source: str = "the lock file") -> LockFile:
    """Read a lock file; a malformed one (or one with merge conflict markers) is a ConfigError."""
    entries: list[LockEntry] = []
    current: dict[str, str] = {}
    schemas: dict[str, str] = {}
    heads: tuple[str, ...] = ()

    def close() -> None:
        if not current:
            return
        missing = [k for k in _KEYS if k not in current]
        if missing:
            raise ConfigError(
                f"{source}: the block of {current.get('revision', '?')} lacks {', '.join(missing)}",
                hint="regenerate it: migration-gate lock",
            )
        entries.append(
            LockEntry(
                current["revision"],
                _ids(current["parents"]),
                current["file"],
                current["checksum"],
                dict(schemas),
            )
        )
        current.clear()
        schemas.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            raise ConfigError(
                f"{source} has git conflict markers (line {number}): two branches "
                "added migrations on the same head",
                hint="rebase on the base branch, put your migration after its head "
                "(down_revision), and run migration-gate lock again",
            )
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            raise ConfigError(f"{source}, line {number}: expected 'key: value', got {raw!r}")
        if key == "lock-version":
            if value != VERSION:
                raise ConfigError(
                    f"{source} has lock-version {value}; this migration-gate "
                    f"reads version {VERSION}",
                    hint="upgrade migration-gate",
                )
        elif key == "revision":
            close()
            current["revision"] = value
        elif key == "head":
            close()
            heads = _ids(value)
        elif key in _KEYS[1:] and current:
            current[key] = value
        elif key.startswith("schema.") and current:
            schemas[key.removeprefix("schema.")] = value
        else:
            raise ConfigError(
                f"{source}, line {number}: unexpected {key!r}",
                hint="regenerate it: migration-gate lock",
            )
    close()
    return LockFile(tuple(entries), heads)


@dataclass(frozen=True)
class Current:
    """A revision as the files are now."""

    revision: str
    file: str
    checksum: str
    #: line to report an edit at (the first changed statement, when it is known)
    line: int | None = None


def _edited(cur: Current, locked: LockEntry, *, released_on: str | None, lock_path: str) -> Finding:
    if released_on is not None:
        why = (
            f"{cur.revision} was edited after it was released on {released_on} (its checksum "
            f"is {cur.checksum}, the lock at {released_on} has {locked.checksum})"
        )
        hint = (
            "revert the edit and add a new migration instead (alembic revision -m '...'): "
            "databases that already ran this revision will never run the edited version"
        )
    else:
        why = (
            f"{cur.revision} changed since it was locked (its checksum is {cur.checksum}, "
            f"{lock_path} has {locked.checksum})"
        )
        hint = (
            "revert the edit and add a new migration instead: a locked migration may already "
            "have run on dev or main, and those databases will never run the edited version. "
            "Only if this revision never left your branch, run migration-gate lock to re-lock it"
        )
    return Finding(
        check="edited-migration",
        severity="error",
        revision=cur.revision,
        file=cur.file,
        line=cur.line or 1,
        message=f"{why}; comment and formatting changes do not count, this edit changes "
        "what the migration does",
        details={
            "checksum": cur.checksum,
            "locked": locked.checksum,
            "released_on": released_on,
            "hint": hint,
        },
    )


def compare(
    current: Sequence[Current],
    lock: LockFile,
    *,
    base: LockFile | None = None,
    base_ref: str | None = None,
    lock_path: str = "the lock file",
) -> list[Finding]:
    """Findings for the migrations as they are against the lock (and the base branch's lock)."""
    out: list[Finding] = []
    by_rev = {c.revision: c for c in current}
    for cur in current:
        released = base.get(cur.revision) if base is not None else None
        locked = lock.get(cur.revision)
        if released is not None and released.checksum != cur.checksum:
            out.append(_edited(cur, released, released_on=base_ref, lock_path=lock_path))
        elif locked is None:
            out.append(
                Finding(
                    check="unlocked-migration",
                    severity="error",
                    revision=cur.revision,
                    file=cur.file,
                    line=1,
                    message=f"{cur.revision} is not in {lock_path}",
                    details={
                        "hint": "run migration-gate lock and commit the lock file with the "
                        "migration"
                    },
                )
            )
        elif locked.checksum != cur.checksum:
            out.append(_edited(cur, locked, released_on=None, lock_path=lock_path))
    gone: dict[str, str | None] = {}
    for entry in lock.entries:
        gone.setdefault(entry.revision, None)
    for entry in base.entries if base is not None else ():
        gone[entry.revision] = base_ref
    for head in lock.heads:
        if head not in by_rev and lock.get(head) is None:
            out.append(
                Finding(
                    check="edited-migration",
                    severity="error",
                    revision=head,
                    line=1,
                    message=f"{lock_path} names {head} as the head, but neither the chain nor "
                    "the lock's own blocks have that revision: the lock file was edited by hand "
                    "or belongs to another chain",
                    details={"hint": "regenerate it: migration-gate lock, and review the diff"},
                )
            )
    for rev, released_on in gone.items():
        if rev in by_rev:
            continue
        where = f"released on {released_on}" if released_on else f"locked in {lock_path}"
        pinned = (base.get(rev) if released_on and base is not None else None) or lock.get(rev)
        out.append(
            Finding(
                check="edited-migration",
                severity="error",
                revision=rev,
                file=pinned.file if pinned else None,
                line=1,
                message=f"{rev} is {where}, but no migration file declares it any more",
                details={
                    "hint": "restore the migration file: databases that ran it record it in "
                    "their version table; undo its effect with a new migration instead"
                },
            )
        )
    return out
