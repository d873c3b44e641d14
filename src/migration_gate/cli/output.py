"""Where a command's output goes: progress on stderr, reports on stdout or in files.

`Outputs` pairs each `--format` with its `--output` path and checks the paths before any work
starts (a report that cannot be written is a usage error found in the first second, not after
a long walk). `emit` writes every report; when a file cannot be written after all, the text
report still reaches the terminal, so no finding is ever lost. `Progress` draws a rich bar
with elapsed time and ETA on a terminal and one plain line per revision in CI or a log.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_gate.db.urls import scrub_known
from migration_gate.errors import ConfigError, InfrastructureError
from migration_gate.findings import Report

__all__ = ["Outputs", "Progress", "Terminal", "emit"]


@dataclass(frozen=True)
class Terminal:
    """Where output goes, read once from the environment by `main`."""

    #: GITHUB_ACTIONS=true: print annotations for the findings
    github: bool = False
    #: stderr is a terminal and this is not CI: draw a progress bar
    interactive: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Terminal:
        github = environ.get("GITHUB_ACTIONS") == "true"
        ci = github or bool(environ.get("CI"))
        return cls(github=github, interactive=sys.stderr.isatty() and not ci)


@dataclass(frozen=True)
class Outputs:
    """(format, path or None for stdout) pairs, in the order given."""

    pairs: tuple[tuple[str, Path | None], ...]
    quiet: bool = False

    @classmethod
    def from_args(
        cls, formats: Sequence[str] | None, outputs: Sequence[str] | None, quiet: bool
    ) -> Outputs:
        fmts = list(formats or ["text"])
        paths = [Path(p) for p in outputs or []]
        fmts += ["json"] * (len(paths) - len(fmts))
        pairs = tuple((f, paths[i] if i < len(paths) else None) for i, f in enumerate(fmts))
        for _, path in pairs:
            if path is not None:
                _check_writable(path)
        return cls(pairs, quiet)

    @property
    def text_on_stdout(self) -> bool:
        return any(f == "text" and p is None for f, p in self.pairs) or (
            all(p is not None for _, p in self.pairs) and not self.quiet
        )


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"--output {path} is a directory", hint="name a file")
    if not parent.is_dir():
        raise ConfigError(
            f"--output {path}: the directory {parent} does not exist",
            hint=f"create it first (mkdir -p {parent}) or write elsewhere",
        )
    target = path if path.exists() else parent
    if not os.access(target, os.W_OK):
        raise ConfigError(f"--output {path} is not writable", hint="write elsewhere")


def emit(report: Report, outputs: Outputs, *, github: bool = False) -> None:
    """Write every requested report. A file that cannot be written still leaves the text
    report on stdout, then raises an InfrastructureError naming the file."""
    from migration_gate.reports import render

    failed: list[str] = []
    to_stdout = False
    for fmt, path in outputs.pairs:
        text = scrub_known(render(report, fmt))
        if path is None:
            sys.stdout.write(text)
            to_stdout = True
            continue
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror or exc}")
    if (not to_stdout and not outputs.quiet) or (failed and not to_stdout):
        sys.stdout.write(scrub_known(render(report, "text")))
    if github and all(fmt != "annotations" for fmt, _ in outputs.pairs):
        # workflow commands go to stdout, unless a machine-readable report is already there
        machine = any(fmt != "text" and path is None for fmt, path in outputs.pairs)
        (sys.stderr if machine else sys.stdout).write(scrub_known(render(report, "annotations")))
    sys.stdout.flush()
    if failed:
        raise InfrastructureError(
            f"could not write the report to {'; '.join(failed)} (the text report is above)"
        )


class Progress:
    """Progress over revisions: a rich bar per dialect (elapsed time, ETA) on a terminal, one
    plain line per revision in CI or when stderr is not a terminal."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __call__(self, dialect: str, i: int, n: int, rev: str) -> None:
        if not self.interactive:
            sys.stderr.write(f"{dialect} {i}/{n} {rev}\n")
            sys.stderr.flush()
            return
        bar = self._progress()
        task = self._tasks.get(dialect)
        if task is None:
            task = self._tasks[dialect] = bar.add_task(dialect, total=n)
        bar.update(task, completed=i - 1, description=f"{dialect:10} {rev[:24]:24}")

    def _progress(self) -> Any:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
        return self._bar

    def close(self) -> None:
        """Finish the bars (before the report is printed)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
