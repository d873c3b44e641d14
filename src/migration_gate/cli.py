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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migration_gate.findings import Report
    from migration_gate.settings import Settings

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_CONFIG, EXIT_INFRA = 0, 1, 2, 3
FORMAT_CHOICES = ("text", "json")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", action="append", choices=FORMAT_CHOICES, dest="formats",
                   help="output format (repeatable; pairs with --output in order); default text")
    p.add_argument("--output", action="append", dest="outputs", metavar="PATH",
                   help="write the matching --format to PATH instead of stdout")
    p.add_argument("--quiet", action="store_true", help="no progress, no text summary")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _pg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pg-url", help="PostgreSQL server to work on (its database is only the admin "
                   "connection); default $MIGRATION_GATE_PG_URL, else the embedded server")
    p.add_argument("--pg-bin", help="bin directory of local PostgreSQL binaries to start instead")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migration-gate",
        description="CI migration pipeline for Alembic + SQLAlchemy: roundtrip every migration "
                    "on SQLite and PostgreSQL, compare models, and fail loudly.",
        epilog="exit codes: 0 no error findings, 1 error findings, 2 usage/config error, "
               "3 infrastructure error",
    )
    parser.add_argument("-c", "--config", default="alembic.ini",
                        help="the Alembic ini file (default alembic.ini)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("roundtrip", help="upgrade / downgrade / re-upgrade every revision and "
                       "compare schema snapshots")
    p.add_argument("--dialect", default="all", choices=("sqlite", "postgresql", "all"))
    p.add_argument("--from", dest="start", metavar="REV", help="check from this revision on")
    p.add_argument("--to", dest="end", metavar="REV", help="check up to this revision")
    p.add_argument("--shard", metavar="I/N", help="check only the I-th of N contiguous ranges")
    _pg(p)
    _common(p)

    p = sub.add_parser("check-models", help="head schema of the chain vs the models' MetaData")
    p.add_argument("--dialect", default="all", choices=("sqlite", "postgresql", "all"))
    p.add_argument("--models", metavar="MODULE:ATTR",
                   help="the MetaData to compare (default: target_metadata of env.py)")
    _pg(p)
    _common(p)
    return parser


def _progress(quiet: bool) -> Callable[[str, int, int, str], None] | None:
    if quiet:
        return None
    tty = sys.stderr.isatty() and not os.environ.get("CI")

    def show(dialect: str, i: int, n: int, rev: str) -> None:
        if tty:
            width = 24
            done = int(width * (i - 1) / max(n, 1))
            sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {dialect:10} {rev[:30]:30}")
            if i == n:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(f"{dialect} {i}/{n} {rev}\n")
        sys.stderr.flush()

    return show


def _run(args: argparse.Namespace, settings: Settings) -> Report:
    from migration_gate import commands

    if args.command == "roundtrip":
        return commands.roundtrip(settings, dialect=args.dialect, start=args.start, end=args.end,
                                  shard=args.shard, progress=_progress(args.quiet))
    if args.command == "check-models":
        return commands.check_models(settings, dialect=args.dialect, models=args.models)
    raise AssertionError(args.command)


def _emit(report: Report, args: argparse.Namespace) -> None:
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
    from migration_gate.errors import GateError
    from migration_gate.settings import load_settings
    from migration_gate.urls import mask_text

    try:
        settings = load_settings(args.config, pg_url=getattr(args, "pg_url", None),
                                 pg_bin=getattr(args, "pg_bin", None), environ=os.environ)
        report = _run(args, settings)
        _emit(report, args)
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
        sys.stderr.write(f"FAILED: internal error {type(exc).__name__}: {mask_text(str(exc))} "
                         "(run with --debug for the traceback, and report it)\n")
        return EXIT_INFRA


if __name__ == "__main__":
    raise SystemExit(main())
