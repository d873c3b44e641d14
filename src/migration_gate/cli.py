"""The command line: `migration-gate [-c alembic.ini] COMMAND [options]`.

A thin shell over `commands`: parse, read settings once, call the verb, render the report
in each requested format, and turn the outcome into the documented exit code:
0 no error findings · 1 error findings · 2 usage or configuration error ·
3 infrastructure error. Heavy imports wait until a command runs, so --help is instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migration_gate.config.settings import Settings
    from migration_gate.findings import Report

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_CONFIG, EXIT_INFRA = 0, 1, 2, 3
FORMAT_CHOICES = ("text", "json", "markdown", "junit", "annotations")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        action="append",
        choices=FORMAT_CHOICES,
        dest="formats",
        help="output format (repeatable; pairs with --output in order); default text",
    )
    p.add_argument(
        "--output",
        action="append",
        dest="outputs",
        metavar="PATH",
        help="write the matching --format to PATH instead of stdout",
    )
    p.add_argument("--quiet", action="store_true", help="no progress, no text summary")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _pg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pg-url",
        help="PostgreSQL server to work on (its database is only the admin "
        "connection); default $MIGRATION_GATE_PG_URL, else the embedded server",
    )
    p.add_argument("--pg-bin", help="bin directory of local PostgreSQL binaries to start instead")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migration-gate",
        description="CI migration pipeline for Alembic + SQLAlchemy: roundtrip every migration "
        "on SQLite and PostgreSQL, compare models, and fail loudly.",
        epilog="exit codes: 0 no error findings, 1 error findings, 2 usage/config error, "
        "3 infrastructure error",
    )
    parser.add_argument(
        "-c", "--config", default="alembic.ini", help="the Alembic ini file (default alembic.ini)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "roundtrip",
        help="upgrade / downgrade / re-upgrade every revision and compare schema snapshots",
    )
    p.add_argument("--dialect", default="all", choices=("sqlite", "postgresql", "all"))
    p.add_argument("--from", dest="start", metavar="REV", help="check from this revision on")
    p.add_argument("--to", dest="end", metavar="REV", help="check up to this revision")
    p.add_argument("--shard", metavar="I/N", help="check only the I-th of N contiguous ranges")
    p.add_argument(
        "--no-data",
        dest="data",
        action="store_false",
        help="no data probe: do not fill tables with rows before each upgrade, so lost "
        "rows (data-loss) are not checked",
    )
    _pg(p)
    _common(p)

    p = sub.add_parser("check-models", help="head schema of the chain vs the models' MetaData")
    p.add_argument("--dialect", default="all", choices=("sqlite", "postgresql", "all"))
    p.add_argument(
        "--models",
        metavar="MODULE:ATTR",
        help="the MetaData to compare (default: target_metadata of env.py)",
    )
    _pg(p)
    _common(p)

    p = sub.add_parser(
        "lint",
        help="lint rules on each migration's source and on the SQL it "
        "runs (destructive operations, downgrades, FK types, enum names, locks)",
    )
    p.add_argument(
        "--dialect",
        default="all",
        choices=("sqlite", "postgresql", "all"),
        help="dialects to walk (the SQL and Squawk need postgresql); default all",
    )
    p.add_argument("--base", metavar="REF", help="lint only the revisions added since git REF")
    p.add_argument(
        "--show-sql",
        action="store_true",
        help="print the SQL each linted revision runs on PostgreSQL after the report",
    )
    _pg(p)
    _common(p)

    p = sub.add_parser(
        "lock",
        help="write the lock file of released migrations, or check them against it (--check)",
    )
    p.add_argument("--check", action="store_true", help="fail on edited or unlocked revisions")
    p.add_argument(
        "--base-ref",
        metavar="REF",
        help="with --check: also compare with the lock "
        "file at git REF (revisions released there must never change)",
    )
    p.add_argument(
        "--schemas",
        action="store_true",
        help="with --check: also verify the schema hashes (walks the chain)",
    )
    p.add_argument(
        "--dialect",
        default="all",
        choices=("sqlite", "postgresql", "all"),
        help="dialects whose schema hashes are written or verified; default all",
    )
    _pg(p)
    _common(p)
    return parser


@dataclass(frozen=True)
class _Terminal:
    """Where output goes, read once from the environment by `main`."""

    #: GITHUB_ACTIONS=true: print annotations for the findings
    github: bool = False
    #: stderr is a terminal and this is not CI: draw a progress bar
    interactive: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> _Terminal:
        github = environ.get("GITHUB_ACTIONS") == "true"
        ci = github or bool(environ.get("CI"))
        return cls(github=github, interactive=sys.stderr.isatty() and not ci)


class _Progress:
    """Progress over revisions: a bar with the current revision and dialect on a terminal,
    one plain line per revision in CI or when stderr is not a terminal."""

    WIDTH = 24

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.open = False
        self.dialect: str | None = None

    def __call__(self, dialect: str, i: int, n: int, rev: str) -> None:
        if not self.interactive:
            sys.stderr.write(f"{dialect} {i}/{n} {rev}\n")
            sys.stderr.flush()
            return
        if self.open and dialect != self.dialect:
            self.close()
        self.dialect = dialect
        done = self.WIDTH * (i - 1) // max(n, 1)
        bar = "#" * done + "." * (self.WIDTH - done)
        sys.stderr.write(f"\r[{bar}] {i}/{n} {dialect:10} {rev[:30]:30}")
        sys.stderr.flush()
        self.open = True

    def close(self) -> None:
        """End the bar's line (before the report is printed)."""
        if self.open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.open = False


def _run(args: argparse.Namespace, settings: Settings, progress: _Progress | None = None) -> Report:
    from migration_gate import commands

    if args.command == "roundtrip":
        return commands.roundtrip(
            settings,
            dialect=args.dialect,
            start=args.start,
            end=args.end,
            shard=args.shard,
            progress=progress,
            data=args.data,
        )
    if args.command == "check-models":
        return commands.check_models(settings, dialect=args.dialect, models=args.models)
    if args.command == "lint":
        return commands.lint(settings, dialect=args.dialect, base=args.base)
    if args.command == "lock":
        return commands.lock(
            settings,
            check=args.check,
            base_ref=args.base_ref,
            schemas=args.schemas,
            dialect=args.dialect,
        )
    raise AssertionError(args.command)


def _after_report(report: Report, args: argparse.Namespace) -> None:
    """What lint and lock add to the text on stdout: the SQL (--show-sql), the file written."""
    on_stdout = (args.formats or ["text"])[len(args.outputs or []) :]
    text_on_stdout = "text" in on_stdout or (not on_stdout and not args.quiet)
    if getattr(args, "show_sql", False) and text_on_stdout:
        from migration_gate.lint.sql_text import render_sql

        sys.stdout.write(render_sql(report))
    written = report.extras.get("lock.written")
    if written and not args.quiet:
        sys.stderr.write(f"wrote {written}\n")


def _emit(report: Report, args: argparse.Namespace, *, github: bool = False) -> None:
    from migration_gate.reports import render

    formats: list[str] = args.formats or ["text"]
    outputs: list[str] = args.outputs or []
    if len(outputs) > len(formats):
        formats += ["json"] * (len(outputs) - len(formats))
    to_stdout = False
    for i, fmt in enumerate(formats):
        text = render(report, fmt)
        if i < len(outputs):
            with open(outputs[i], "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
            to_stdout = True
    if not to_stdout and not args.quiet:
        sys.stdout.write(render(report, "text"))
    if github and "annotations" not in formats:
        # workflow commands go to stdout, unless a machine-readable report is already there
        machine = any(fmt != "text" for fmt in formats[len(outputs) :])
        (sys.stderr if machine else sys.stdout).write(render(report, "annotations"))


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    signal.signal(signal.SIGTERM, _on_sigterm)
    if not debug:
        # env.py usually calls fileConfig(); its per-step INFO lines drown the report
        logging.disable(logging.INFO)
    from migration_gate.config.settings import load_settings
    from migration_gate.db.urls import mask_text
    from migration_gate.errors import GateError

    try:
        settings = load_settings(
            args.config,
            pg_url=getattr(args, "pg_url", None),
            pg_bin=getattr(args, "pg_bin", None),
            environ=os.environ,
        )
        terminal = _Terminal.from_environ(os.environ)
        progress = None if getattr(args, "quiet", False) else _Progress(terminal.interactive)
        try:
            report = _run(args, settings, progress)
        finally:
            if progress is not None:
                progress.close()
        _emit(report, args, github=terminal.github)
        _after_report(report, args)
        return EXIT_OK if report.ok else EXIT_FINDINGS
    except GateError as exc:
        if debug:
            raise
        sys.stderr.write(f"FAILED: {mask_text(str(exc))}\n")
        return exc.exit_code if exc.exit_code in (EXIT_CONFIG, EXIT_INFRA) else EXIT_FINDINGS
    except KeyboardInterrupt:
        sys.stderr.write("FAILED: interrupted; scratch databases were dropped\n")
        return 130
    except OSError as exc:
        if debug:
            raise
        sys.stderr.write(f"FAILED: {mask_text(str(exc))}\n")
        return EXIT_INFRA
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(
            f"FAILED: internal error {type(exc).__name__}: {mask_text(str(exc))} "
            "(run with --debug for the traceback, and report it)\n"
        )
        return EXIT_INFRA


if __name__ == "__main__":
    raise SystemExit(main())
