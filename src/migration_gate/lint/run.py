"""The edge of lint: walk the chain, capture its SQL, ask Squawk, build contexts, run the rules.

`lint_chain` is handed one empty database per dialect (the caller provisions them). It walks
the chain up, one revision per step, on each (`upwalk.walk_up`); on PostgreSQL it also
captures every statement each revision sends. The revisions to lint are all of them, or with
`base` those that the git ref does not have yet. The rendered SQL of each linted revision is
kept in ``report.extras["sql"]`` (revision → SQL) for the reports.
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
from migration_gate.chain.graph import walk_order
from migration_gate.chain.revisions import RevisionInfo, load_chain, parse_revision_source
from migration_gate.chain.runner import load_script, revision_map_error
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


def _failure(walk: UpWalk, infos: Mapping[str, RevisionInfo], root: Path) -> Finding | None:
    exc = walk.failure
    if exc is None or exc.revision is None:
        return None
    info = infos[exc.revision]
    rest = (
        f"; {len(walk.not_run)} later revision(s) not linted on {walk.dialect}"
        if walk.not_run
        else ""
    )
    return Finding(
        check="upgrade-failed",
        severity="error",
        revision=exc.revision,
        dialect=walk.dialect,
        file=info.rel_path(root),
        line=exc.line or info.upgrade_line,
        message=f"upgrade of {exc.revision} failed on {walk.dialect}: {exc.cause}{rest}",
        details={
            "error": exc.cause,
            "unchecked": walk.not_run,
            "hint": "fix the migration; lint needs each revision to run to see its SQL",
        },
    )


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
    cfg = load_lint_config(settings.lint, enum_naming=settings.raw.get("enum_naming"))
    binary = _squawk_binary(cfg, databases)
    base_config = settings.alembic_config()
    script = load_script(base_config)
    dirs = [Path(p) for p in script._version_locations]
    revs = load_chain(script)
    infos = {r.revision: r for r in revs}
    order = walk_order(revs)
    targets = order if base is None else added_since(base, dirs, order)
    report.extras["lint.revisions"] = list(targets)
    walks: dict[str, UpWalk] = {}
    broken = revision_map_error(script)
    if broken:
        report.add(
            Finding(
                check="broken-down-revision",
                severity="info",
                message=f"lint runs the static rules only: Alembic cannot load the chain "
                f"({broken}); fix the revision graph first",
            )
        )
    elif targets:
        for dialect, url in databases.items():
            t1 = time.perf_counter()
            config = settings.alembic_config(url)
            location = config.get_main_option("script_location")
            same = location == base_config.get_main_option("script_location")
            walks[dialect] = walk_up(
                config,
                url,
                order,
                infos,
                observe=targets,
                capture_sql=dialect == "postgresql",
                script=script if same else None,  # the chain read once, unless elsewhere
            )
            report.timings[f"{dialect}.walk"] = time.perf_counter() - t1
            failed = _failure(walks[dialect], infos, settings.root)
            if failed is not None:
                report.add(failed)
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
            tree=ast.parse(info.path.read_text(encoding="utf-8"), filename=str(info.path)),
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
    report.extras["sql"] = sql
    report.extras["lint.silenced"] = silenced
    report.timings["lint.total"] = time.perf_counter() - t0
    return report
