"""Write and check the lock file: the edge between `lockfile` (pure) and files, git, databases.

`write_lock` checksums every migration file (`checksum.source_checksum`), walks the chain up
on each provider's dialect to hash the schema after every revision, and writes the lock file
named by `Settings.lock_file`. `check_lock` compares the files with that lock and, given a git
ref, with the lock as it is there (a revision released on the base branch must never change);
with providers it also walks the chain again to verify the schema hashes, which catches a
released migration whose effect changed without its file changing (it imports code that did).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from alembic.script import ScriptDirectory

from migration_gate.chain import gitrefs
from migration_gate.chain.checksum import decode_source, first_change_line, source_checksum
from migration_gate.chain.graph import heads, walk_order
from migration_gate.chain.revisions import RevisionInfo, load_chain
from migration_gate.chain.runner import load_script
from migration_gate.chain.upwalk import walk_up
from migration_gate.config.settings import Settings
from migration_gate.db.provision import Provider
from migration_gate.db.workspace import ProviderWorkspace
from migration_gate.errors import ConfigError, GateError
from migration_gate.findings import Finding, Report
from migration_gate.lock.lockfile import Current, LockEntry, LockFile, compare, parse_lock

__all__ = ["check_lock", "current_lock", "write_lock"]


def _chain(settings: Settings) -> tuple[list[RevisionInfo], list[str], ScriptDirectory]:
    script = load_script(settings.alembic_config())
    revs = load_chain(script)
    return revs, walk_order(revs), script


def _schema_hashes(
    settings: Settings,
    providers: Mapping[str, Provider],
    revs: list[RevisionInfo],
    order: list[str],
    report: Report,
    script: ScriptDirectory | None = None,
) -> dict[str, dict[str, str]]:
    """dialect -> revision -> "sha256:<hex>" of the schema after it; failures become findings.
    The walks reuse `script` (the chain as loaded) when their config points at it."""
    infos = {r.revision: r for r in revs}
    loaded = settings.alembic_config().get_main_option("script_location")
    out: dict[str, dict[str, str]] = {}
    for dialect, provider in providers.items():
        t0 = time.perf_counter()
        with ProviderWorkspace(provider, f"lock_{dialect}") as ws:
            config = settings.alembic_config(ws.url)
            same = config.get_main_option("script_location") == loaded
            walked = walk_up(config, ws.url, order, infos, script=script if same else None)
        report.timings[f"{dialect}.walk"] = time.perf_counter() - t0
        out[dialect] = {rev: f"sha256:{step.after.sha256()}" for rev, step in walked.steps.items()}
        exc = walked.failure
        if exc is not None and exc.revision is not None:
            info = infos[exc.revision]
            report.add(
                Finding(
                    check="upgrade-failed",
                    severity="error",
                    revision=exc.revision,
                    dialect=dialect,
                    file=info.rel_path(settings.root),
                    line=exc.line or info.upgrade_line,
                    message=f"upgrade of {exc.revision} failed on {dialect}: {exc.cause}; "
                    "cannot hash the schemas of the chain",
                    details={"error": exc.cause, "hint": "fix the migration, then lock again"},
                )
            )
    return out


def current_lock(settings: Settings, providers: Mapping[str, Provider], report: Report) -> LockFile:
    """The lock file the chain has now (schema hashes from walks on `providers`)."""
    revs, order, script = _chain(settings)
    infos = {r.revision: r for r in revs}
    hashes = _schema_hashes(settings, providers, revs, order, report, script)
    entries = tuple(
        LockEntry(
            revision=rev,
            parents=infos[rev].down_revisions,
            file=infos[rev].rel_path(settings.root),
            checksum=source_checksum(infos[rev].path),
            schemas={d: h[rev] for d, h in hashes.items() if rev in h},
        )
        for rev in order
    )
    return LockFile(entries, tuple(heads(revs)))


def _read_lock(settings: Settings) -> LockFile:
    path = settings.lock_file
    if not path.is_file():
        raise ConfigError(
            f"no lock file at {_shown(settings, path)}",
            hint="run migration-gate lock and commit the file",
        )
    return parse_lock(decode_source(path.read_bytes()), source=_shown(settings, path))


def _shown(settings: Settings, path: Path) -> str:
    try:
        return path.resolve().relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        return str(path)


def write_lock(settings: Settings, providers: Mapping[str, Provider]) -> Report:
    """Write the lock file; entries whose checksum changed are reported as warnings."""
    t0 = time.perf_counter()
    report = Report("lock")
    new = current_lock(settings, providers, report)
    if not report.ok:
        return report
    path = settings.lock_file
    if path.is_file():
        try:
            old: LockFile | None = parse_lock(decode_source(path.read_bytes()))
        except GateError:
            old = None
        for entry in new.entries:
            before = old.get(entry.revision) if old is not None else None
            if before is not None and before.checksum != entry.checksum:
                report.add(
                    Finding(
                        check="edited-migration",
                        severity="warning",
                        revision=entry.revision,
                        file=entry.file,
                        line=1,
                        message=f"{entry.revision} was locked with another checksum and is re-locked "
                        "now; if it was released, revert the edit and add a new migration "
                        "instead (lock --check --base-ref will refuse it)",
                        details={"locked": before.checksum, "checksum": entry.checksum},
                    )
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new.render(), encoding="utf-8", newline="\n")
    report.extras["lock.written"] = _shown(settings, path)
    report.extras["lock.revisions"] = [e.revision for e in new.entries]
    report.timings["lock.total"] = time.perf_counter() - t0
    return report


def _change_line(
    settings: Settings, info: RevisionInfo, locked: LockEntry | None, base_ref: str | None
) -> int | None:
    """The first changed line of `info`'s file, from its version at the base ref or at HEAD."""
    if locked is None:
        return None
    try:
        root = gitrefs.repo_root(info.path)
        for ref, file in ((base_ref, settings.root / locked.file), ("HEAD", info.path)):
            if ref is None:
                continue
            old = gitrefs.show(root, ref, file)
            if old is not None and source_checksum(old) == locked.checksum:
                return first_change_line(old, info.path.read_bytes())
    except (GateError, SyntaxError):
        return None
    return None


def check_lock(
    settings: Settings,
    *,
    base_ref: str | None = None,
    providers: Mapping[str, Provider] | None = None,
) -> Report:
    """`edited-migration` / `unlocked-migration` findings for the chain against its lock."""
    t0 = time.perf_counter()
    report = Report("lock")
    lock = _read_lock(settings)
    revs, order, script = _chain(settings)
    base: LockFile | None = None
    if base_ref is not None:
        root = gitrefs.repo_root(
            settings.lock_file.parent if settings.lock_file.parent.exists() else settings.root
        )
        text = gitrefs.show(root, base_ref, settings.lock_file)
        if text is None:
            report.add(
                Finding(
                    check="edited-migration",
                    severity="info",
                    message=f"{base_ref} has no lock file yet: nothing released to "
                    "compare with; only the local lock was checked",
                )
            )
        else:
            base = parse_lock(decode_source(text), source=f"the lock file at {base_ref}")
    infos = {r.revision: r for r in revs}
    current = []
    for rev in order:
        info = infos[rev]
        checksum = source_checksum(info.path)
        locked = (base.get(rev) if base is not None else None) or lock.get(rev)
        line = None
        if locked is not None and locked.checksum != checksum:
            released = base is not None and base.get(rev) is not None
            line = _change_line(settings, info, locked, base_ref if released else None)
        current.append(
            Current(rev, info.rel_path(settings.root), checksum, line or info.upgrade_line)
        )
    report.extend(
        compare(
            current,
            lock,
            base=base,
            base_ref=base_ref,
            lock_path=_shown(settings, settings.lock_file),
        )
    )
    if providers:
        _check_schemas(settings, providers, lock, current, report, revs, order, script)
    report.timings["lock.total"] = time.perf_counter() - t0
    return report


def _check_schemas(
    settings: Settings,
    providers: Mapping[str, Provider],
    lock: LockFile,
    current: list[Current],
    report: Report,
    revs: list[RevisionInfo],
    order: list[str],
    script: ScriptDirectory | None = None,
) -> None:
    edited = {f.revision for f in report.findings if f.is_error}
    hashes = _schema_hashes(settings, providers, revs, order, report, script)
    by_rev = {c.revision: c for c in current}
    for dialect, per_rev in hashes.items():
        for rev, now in per_rev.items():
            entry = lock.get(rev)
            locked = entry.schemas.get(dialect) if entry is not None else None
            if locked is None or locked == now or rev in edited:
                continue
            report.add(
                Finding(
                    check="edited-migration",
                    severity="error",
                    revision=rev,
                    dialect=dialect,
                    file=by_rev[rev].file,
                    line=1,
                    message=f"the schema after {rev} on {dialect} is not the locked one although its "
                    "source is unchanged: it depends on code outside its file (imports from "
                    "the application?) or on the database version",
                    details={
                        "locked": locked,
                        "now": now,
                        "hint": "make the migration self-contained (copy the values it imports), "
                        "or re-lock if only the database version changed",
                    },
                )
            )
