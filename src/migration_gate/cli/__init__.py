"""The command line: `migration-gate [-c alembic.ini] COMMAND [options]`.

A thin shell over `commands`: parse (the parser is derived from `commands.COMMANDS` and
`cli.options`), read settings once, check where reports go, call the verb, write the reports,
and turn the outcome into the documented exit code: 0 no error findings · 1 error findings ·
2 usage or configuration error · 3 infrastructure error (and 3 for a bug of ours, "report
it"). `--debug` adds the traceback and never changes the exit code. Every line printed goes
through `urls.mask_text`, so no password leaves, wherever it sits in a URL. SIGINT and SIGTERM
end the run after its cleanup, which a second signal cannot interrupt.
"""

from __future__ import annotations

import inspect
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from migration_gate.cli.options import build_parser
from migration_gate.commands import COMMANDS

if TYPE_CHECKING:
    import argparse

    from migration_gate.findings import Report

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_CONFIG, EXIT_INFRA = 0, 1, 2, 3


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; cleanup runs while further signals are ignored."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # the cleanup that follows (dropping databases, stopping the server) must not be cut short
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def _fail(message: str, debug: bool) -> None:
    from migration_gate.db.urls import mask_text

    if debug:
        sys.stderr.write(mask_text(traceback.format_exc()))
    sys.stderr.write(f"FAILED: {mask_text(message)}\n")
    sys.stderr.flush()


def _run(args: argparse.Namespace) -> Report:
    from migration_gate.cli.output import Outputs, Progress, Terminal, emit
    from migration_gate.config.settings import load_settings

    command = next(c for c in COMMANDS if c.name == args.command)
    settings = load_settings(
        args.config,
        pg_url=getattr(args, "pg_url", None),
        pg_bin=getattr(args, "pg_bin", None),
        environ=os.environ,
    )
    outputs = Outputs.from_args(args.formats, getattr(args, "outputs", None), args.quiet)
    terminal = Terminal.from_environ(os.environ)
    function = command.function()
    kwargs = {name: getattr(args, name) for name in command.options}
    progress = None
    if "progress" in inspect.signature(function).parameters and not args.quiet:
        progress = Progress(terminal.interactive)
        kwargs["progress"] = progress
    try:
        report: Report = function(settings, **kwargs)
    finally:
        if progress is not None:
            progress.close()
    if getattr(args, "show_sql", False) and outputs.text_on_stdout:
        from migration_gate.lint.sql_text import render_sql

        emit(report, outputs, github=terminal.github)
        sys.stdout.write(render_sql(report))
    else:
        emit(report, outputs, github=terminal.github)
    for path in report.written:
        if not args.quiet:
            sys.stderr.write(f"wrote {path}\n")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = bool(args.debug)
    main_thread = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if main_thread else ()
    previous = {s: signal.signal(s, _on_signal) for s in signals}
    if not debug:
        # env.py usually calls fileConfig(); its per-step INFO lines drown the report
        logging.disable(logging.INFO)
    from migration_gate.errors import GateError

    try:
        report = _run(args)
        return EXIT_OK if report.ok else EXIT_FINDINGS
    except GateError as exc:
        _fail(str(exc), debug)
        return exc.exit_code if exc.exit_code in (EXIT_CONFIG, EXIT_INFRA) else EXIT_FINDINGS
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        name = signal.Signals(signum).name
        _fail(
            f"interrupted by {name}; the scratch databases were dropped and any server "
            "this run started was stopped",
            False,
        )
        return 128 + signum
    except OSError as exc:
        _fail(f"{exc}", debug)
        return EXIT_INFRA
    except Exception as exc:
        _fail(
            f"internal error {type(exc).__name__}: {exc} (a bug of migration-gate: run with "
            "--debug for the traceback, and report it)",
            debug,
        )
        return EXIT_INFRA
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    raise SystemExit(main())
