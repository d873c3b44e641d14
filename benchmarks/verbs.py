"""Time the verbs CI runs on a chain (roundtrip, lint, lock, check-models), in one process run.

Each verb is called the way the CLI calls it (`migration_gate.commands`, after the CLI's
`load_settings`), on the same chain (generated with models, so that `check-models` has
something to compare and `lint` reads the models' enums) and the same PostgreSQL server,
once per dialect; `roundtrip` and `lint` also with both dialects, the CLI's default. Each
turn runs every chain size and verb once; `repeat` turns, and the best time of each is kept:
every verb sees the same machine, and the best is the least disturbed run. Process start-up (≈0.3 s of imports)
is left out, the same for every verb.

    python benchmarks/run.py --n 200 --also 400 --skip-peers    # prints the verbs' table too
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from migration_gate import commands
from migration_gate.config.settings import Settings, load_settings
from migration_gate.findings import Report

__all__ = ["VERBS", "render_verbs", "time_verbs"]

VERBS = ("roundtrip", "lint", "lock", "check-models")
#: the verbs also timed with both dialects (their CLI default)
BOTH = ("roundtrip", "lint")

_CALLS: dict[str, Callable[[Settings, str], Report]] = {
    "roundtrip": lambda s, d: commands.roundtrip(s, dialect=d),
    "lint": lambda s, d: commands.lint(s, dialect=d),
    "lock": lambda s, d: commands.lock(s, dialect=d),
    "check-models": lambda s, d: commands.check_models(s, dialect=d),
}


def time_verbs(
    chains: Mapping[int, Path], pg_url: str | None, dialects: Sequence[str], repeat: int
) -> tuple[dict[tuple[str, int, str], float], list[str]]:
    """Best seconds per (dialect or "all", n, verb) on the chains (n → alembic.ini), and
    notes (a verb that failed on a clean chain measured the wrong thing). Each turn runs
    every chain and verb once, so a machine that slows down part-way slows them all."""
    runs = [(d, v) for d in dialects for v in VERBS]
    if len(dialects) > 1:
        runs += [("all", v) for v in BOTH]
    settings = {n: load_settings(ini, pg_url=pg_url) for n, ini in chains.items()}
    best: dict[tuple[str, int, str], float] = {}
    notes: list[str] = []
    for r in range(max(repeat, 1)):
        for n in chains:
            for dialect, verb in runs:
                sys.stderr.write(f"[bench] n={n}: {verb} --dialect {dialect} ({r + 1})\n")
                t0 = time.perf_counter()
                report = _CALLS[verb](settings[n], dialect)
                seconds = time.perf_counter() - t0
                if not report.ok and r == 0:
                    errors = [f for f in report.findings if f.is_error]
                    notes.append(
                        f"{verb} --dialect {dialect}, n={n}: {len(errors)} error(s) on a clean "
                        f"chain: {errors[0].message if errors else '?'}"
                    )
                if seconds < best.get((dialect, n, verb), float("inf")):
                    best[dialect, n, verb] = seconds
    return best, notes


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def render_verbs(times: dict[tuple[str, int, str], float], n: int, also: Sequence[int]) -> str:
    """The verbs' table and ratios, as Markdown. `times`: (dialect or "all", n, verb) → s."""
    if not times:
        return ""
    out = ["| verb | --dialect | n | seconds |", "|---|---|---|---|"]
    out += [f"| {v} | {d} | {m} | {s:.2f} |" for (d, m, v), s in sorted(times.items())]
    out += ["", "| ratio | value | target |", "|---|---|---|"]
    for m in (n, *also):
        for d in ("postgresql", "all", "sqlite"):
            target = "≤ 1.0x" if d == "postgresql" else "(reference)"
            lint, rt = times.get((d, m, "lint")), times.get((d, m, "roundtrip"))
            if lint and rt:
                out.append(
                    f"| n={m}: lint / roundtrip, --dialect {d} | {_ratio(lint, rt)} | {target} |"
                )
        lint_all, rt_pg = times.get(("all", m, "lint")), times.get(("postgresql", m, "roundtrip"))
        if lint_all and rt_pg:
            out.append(
                f"| n={m}: lint (both dialects) / roundtrip --dialect postgresql | "
                f"{_ratio(lint_all, rt_pg)} | ≤ 1.0x |"
            )
    for m in also:
        for (d, base, v), s in sorted(times.items()):
            if base == n and (d, m, v) in times:
                target = "≤ 2.2x" if v == "lint" and m == 2 * n else "(reference)"
                out.append(
                    f"| {v} --dialect {d}: n={m} / n={n} | {_ratio(times[d, m, v], s)} | {target} |"
                )
    return "\n".join(out) + "\n"
