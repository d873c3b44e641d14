"""The edge of lint: walk the chain, capture its SQL, ask Squawk, build contexts, run the rules.

`lint_chain` is handed one empty database per dialect (the caller provisions them). It walks
the chain up, one revision per step, on each (`upwalk.walk_up`); on PostgreSQL it also
captures every statement each revision sends. The revisions to lint are all of them, or with
`base` those that the git ref does not have yet. The rendered SQL of each linted revision is
kept in `Report.sql` (revision → SQL) for the reports. A chain that cannot be loaded is
reported (`chain-load-failed`) and not walked.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect

from migration_gate.chain import gitrefs
from migration_gate.chain.checksum import decode_source
from migration_gate.chain.revisions import parse_revision_source
from migration_gate.chain.script import load_chain
from migration_gate.chain.sql_capture import rendered_script
from migration_gate.chain.upwalk import UpWalk, walk_up
from migration_gate.config.settings import Settings, import_object
from migration_gate.errors import InfrastructureError
from migration_gate.findings import Finding, Report
from migration_gate.lint import lint_revision
from migration_gate.lint.config import LintConfig, load_lint_config
from migration_gate.lint.context import ModelEnum, RevisionContext, SquawkViolation
from migration_gate.lint.squawk import find_squawk, run_squawk

__all__ = ["added_since", "lint_chain", "model_enums"]


def added_since(ref: str, version_dirs: Sequence[Path], order: Sequence[str]) -> list[str]:
    """The revisions of `order` that no file of the version directories declares at `ref`."""
    known: set[str] = set()
    for d in version_dirs:
        root = gitrefs.repo_root(d)
        for name, content in gitrefs.files_at(root, ref, d).items():
            if not name.endswith(".py"):
                continue
            try:
                info = parse_revision_source(decode_source(content), Path(name))
            except (SyntaxError, ValueError, UnicodeDecodeError):
                continue
            if info is not None:
                known.add(info.revision)
    return [r for r in order if r not in known]


def model_enums(metadata: Any) -> tuple[ModelEnum, ...]:
    """The enum columns of a MetaData, as PostgreSQL would name their types."""
    out: list[ModelEnum] = []
    dialect = PGDialect()  # type: ignore[no-untyped-call]
    for table in getattr(metadata, "tables", {}).values():
        for col in table.columns:
            try:
                impl = col.type.dialect_impl(dialect)
            except Exception:
                continue
            if isinstance(impl, sa.Enum) and impl.name and impl.native_enum:
                cls = impl.enum_class.__name__ if impl.enum_class is not None else None
                out.append(ModelEnum(table.name, col.name, impl.name, cls))
    return tuple(out)


def _models(settings: Settings, walks: Mapping[str, UpWalk]) -> tuple[ModelEnum, ...] | None:
    metadata = import_object(settings.models, "models", settings.root) if settings.models else None
    if metadata is None:
        metadata = next(
            (w.target_metadata for w in walks.values() if w.target_metadata is not None), None
        )
    return model_enums(metadata) if metadata is not None else None


def _squawk_binary(cfg: LintConfig, databases: Mapping[str, str]) -> str | None:
    """The squawk binary when the unsafe-lock rules will run (checked before any walk)."""
    if "postgresql" not in databases or not cfg.family_enabled("unsafe-lock"):
        return None
    binary = find_squawk(cfg.squawk)
    if binary is None:
        raise InfrastructureError(
            "squawk is not installed, so the unsafe-lock rules cannot run",
            hint="pip install 'migration-gate[lint]', or disable unsafe-lock in [tool.migration-gate.lint]",
        )
    return binary


def _squawk(
    cfg: LintConfig, binary: str | None, walk: UpWalk | None, targets: Sequence[str]
) -> dict[str, list[SquawkViolation]]:
    if walk is None or binary is None:
        return {}
    scripts = {r: rendered_script(walk.steps[r].statements)[0] for r in targets if r in walk.steps}
    return run_squawk(
        binary, scripts, pg_version=walk.server_version, include=cfg.squawk_includes()
    )


def lint_chain(
    settings: Settings, databases: Mapping[str, str], *, base: str | None = None
) -> Report:
    """Lint the chain, walking it on `databases` (dialect → URL of an empty database)."""
    t0 = time.perf_counter()
    report = Report("lint")
    cfg = load_lint_config(settings.lint, enum_naming=settings.enum_naming)
    binary = _squawk_binary(cfg, databases)
    source = settings.config_source()
    chain = load_chain(source.base(), root=settings.root)
    report.extend(f for f in chain.problems if f.check == "chain-load-failed")
    infos, order = chain.infos, list(chain.order)
    targets = order if base is None else added_since(base, list(chain.dirs), order)
    walks: dict[str, UpWalk] = {}
    if chain.blocked:
        if not any(f.check == "chain-load-failed" for f in chain.problems):
            report.add(
                Finding(
                    check="broken-down-revision",
                    severity="info",
                    message="lint runs the static rules only: Alembic cannot load the chain; "
                    "fix the revision graph first",
                )
            )
    elif targets:
        for dialect, url in databases.items():
            t1 = time.perf_counter()
            walks[dialect] = walk_up(
                source,
                url,
                order,
                infos,
                observe=targets,
                capture_sql=dialect == "postgresql",
                script=chain.script,
                setup=settings.setup_hook(),
            )
            report.timings[f"{dialect}.walk"] = time.perf_counter() - t1
            failed = walks[dialect].failure_finding(
                infos,
                settings.root,
                "fix the migration; lint needs each revision to run to see its SQL",
            )
            if failed is not None:
                report.add(failed)
    report.checked = {d: [r for r in targets if r in w.steps] for d, w in walks.items()}
    pg = walks.get("postgresql")
    squawked = _squawk(cfg, binary, pg, targets)
    enums = _models(settings, walks)
    sql: dict[str, str] = {}
    silenced: list[dict[str, Any]] = []
    for rev in targets:
        info = infos[rev]
        step = pg.steps.get(rev) if pg is not None else None
        text, starts = rendered_script(step.statements) if step is not None else ("", [])
        if step is not None:
            sql[rev] = text
        ctx = RevisionContext(
            info=info,
            file=info.rel_path(settings.root),
            tree=ast.parse(decode_source(info.path.read_bytes()), filename=str(info.path)),
            statements=step.statements if step is not None else (),
            sql_starts=tuple(starts),
            snapshots={
                d: (w.steps[rev].before, w.steps[rev].after)
                for d, w in walks.items()
                if rev in w.steps
            },
            squawk=tuple(squawked.get(rev, ())),
            model_enums=enums,
            enum_convention=cfg.enum_naming,
        )
        found, quiet = lint_revision(ctx, cfg)
        report.extend(found)
        silenced.extend(quiet)
    report.sql = sql
    report.silenced = silenced
    report.timings["lint.total"] = time.perf_counter() - t0
    return report
