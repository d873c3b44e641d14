"""Load a chain: Alembic's script directory, every revision file, and what keeps it from loading.

`load_chain` reads the revision files twice, on purpose. Statically (`revisions`, with `ast`,
nothing executed) for the graph checks and lint, which must work on a chain Alembic refuses;
then through Alembic itself, which imports every revision module, inside the caller's
`invoke` (an application context, say) when there is one. A file that does not parse, does
not decode, or raises when imported is a `chain-load-failed` error naming the file, the line
and the exception: a chain that cannot be loaded is never "passed" (post-mortem 000).
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import coerce_resource_to_filename

from migration_gate.chain.graph import graph_findings, walk_order
from migration_gate.chain.revisions import RevisionInfo, Unreadable, read_revisions
from migration_gate.db.urls import mask_text
from migration_gate.errors import ConfigError
from migration_gate.findings import Finding

__all__ = ["CHAIN_LOAD_FAILED", "Chain", "Invoke", "load_chain", "load_script", "version_dirs"]

CHAIN_LOAD_FAILED = "chain-load-failed"
#: wraps each Alembic command the tool runs (a worker thread, an app context...)
Invoke = Callable[[Callable[[], Any]], Any]


def load_script(config: Config) -> ScriptDirectory:
    """The script directory; a missing or broken one is a ConfigError."""
    try:
        return ScriptDirectory.from_config(config)
    except Exception as exc:
        raise ConfigError(
            f"cannot load the Alembic script directory: {mask_text(str(exc))}",
            hint="check script_location in the ini file (-c/--config)",
        ) from None


def version_dirs(script: ScriptDirectory) -> list[Path]:
    """The directories Alembic reads revision files from (its `version_locations`)."""
    if script.version_locations:
        return [
            Path(coerce_resource_to_filename(loc)).absolute() for loc in script.version_locations
        ]
    return [Path(script.dir, "versions").absolute()]


@dataclass(frozen=True)
class Chain:
    """A loaded chain: the script directory, its revisions read statically, and the
    findings about the chain itself (graph checks, files that cannot be loaded)."""

    script: ScriptDirectory
    revisions: tuple[RevisionInfo, ...]
    #: graph findings and `chain-load-failed` errors, in that order
    problems: tuple[Finding, ...] = ()
    #: Alembic built its revision map: the revisions can be run
    runnable: bool = True
    root: Path | None = None
    dirs: tuple[Path, ...] = field(default=())

    @cached_property
    def infos(self) -> Mapping[str, RevisionInfo]:
        return {r.revision: r for r in self.revisions}

    @cached_property
    def order(self) -> tuple[str, ...]:
        """Every revision after its parents, base first (see `graph.walk_order`)."""
        return tuple(walk_order(self.revisions))

    @property
    def blocked(self) -> bool:
        """Nothing can be walked: Alembic cannot load the chain, or a file is unreadable."""
        return not self.runnable or any(f.check == CHAIN_LOAD_FAILED for f in self.problems)

    def rel(self, path: Path) -> str:
        root = self.root or Path.cwd()
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


def _unreadable(bad: Unreadable, chain: Chain) -> Finding:
    rel = chain.rel(bad.path)
    return Finding(
        check=CHAIN_LOAD_FAILED,
        severity="error",
        file=rel,
        line=bad.line,
        message=f"cannot read {rel}: {bad.error}",
        details={
            "error": bad.error,
            "hint": "fix the file: every file of the versions directory must be valid Python "
            "(UTF-8 unless it declares another encoding)",
        },
    )


def _failure_site(exc: BaseException, dirs: Sequence[Path]) -> tuple[Path | None, int | None]:
    """The revision file and line where an import failed (innermost frame in `dirs`)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return Path(exc.filename), exc.lineno
    roots = [str(d.resolve()) for d in dirs]
    site: tuple[Path | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        resolved = str(Path(frame.filename).resolve())
        if any(resolved.startswith(r) for r in roots):
            site = (Path(frame.filename), frame.lineno)
    return site


def _import_failed(
    exc: BaseException, chain: Chain, path: Path | None, line: int | None
) -> Finding:
    error = mask_text(f"{type(exc).__name__}: {exc}".strip().splitlines()[0])
    rel = chain.rel(path) if path is not None else None
    where = f"{rel}" + (f" line {line}" if line else "") if rel else "the chain"
    return Finding(
        check=CHAIN_LOAD_FAILED,
        severity="error",
        file=rel,
        line=line,
        message=f"Alembic cannot load {where}: {error}; no revision was run",
        details={
            "error": error,
            "hint": "make the revision importable in the environment the gate runs in "
            "(install what it imports; with an application context, pass invoke= or "
            "config_factory)",
        },
    )


def load_chain(
    config: Config,
    *,
    invoke: Invoke | None = None,
    root: Path | None = None,
    script: ScriptDirectory | None = None,
) -> Chain:
    """Load the chain `config` names; never raises for a broken revision file (that is a
    finding), only for a script directory that does not exist (a ConfigError)."""
    script = script or load_script(config)
    dirs = tuple(version_dirs(script))
    revs, bad = read_revisions(dirs, recursive=bool(script.recursive_version_locations))
    chain = Chain(script, tuple(revs), root=root, dirs=dirs)
    problems = [*graph_findings(revs, root), *(_unreadable(b, chain) for b in bad)]
    chain = Chain(script, tuple(revs), tuple(problems), root=root, dirs=dirs)
    run: Invoke = invoke or (lambda fn: fn())

    def build() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate ids, missing parents: graph findings
            _ = script.revision_map.heads

    try:
        run(build)
    except Exception as exc:
        path, line = _failure_site(exc, dirs)
        known = path is not None and any(b.path.resolve() == path.resolve() for b in bad)
        explained = path is None and any(f.is_error for f in problems)  # a broken graph
        if not known and not explained:
            problems.append(_import_failed(exc, chain, path, line))
        return Chain(script, tuple(revs), tuple(problems), False, root, dirs)
    return chain
