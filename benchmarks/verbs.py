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
from dataclasses import dataclass, field
from pathlib import Path

from migration_gate import commands
from migration_gate.config.settings import Settings, load_settings
from migration_gate.findings import Report

__all__ = ["VERBS", "VerbTimes", "render_verbs", "time_verbs"]

VERBS = ("roundtrip", "lint", "lock", "check-models")
#: the verbs also timed with both dialects (their CLI default)
BOTH = ("roundtrip", "lint")


def _call(verb: str) -> Callable[[Settings, str], Report]:
    """The verb's function from the table the CLI is built from."""
    fn = next(c for c in commands.COMMANDS if c.name == verb).function()
    return lambda s, d: fn(s, dialect=d)


_CALLS: dict[str, Callable[[Settings, str], Report]] = {v: _call(v) for v in VERBS}


@dataclass
class VerbTimes:
    """Per (dialect or "all", n, verb): the best wall seconds, the best CPU seconds of this
    process (the engine's own work, SQLite's included, PostgreSQL's server not: the part of
    the time a busy machine disturbs least), and the report's timings of the fastest run."""

    seconds: dict[tuple[str, int, str], float] = field(default_factory=dict)
    cpu: dict[tuple[str, int, str], float] = field(default_factory=dict)
    parts: dict[tuple[str, int, str], dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def time_verbs(
    chains: Mapping[int, Path], pg_url: str | None, dialects: Sequence[str], repeat: int
) -> VerbTimes:
    """Time every verb on the chains (n → alembic.ini); a verb that fails on a clean chain
    measured the wrong thing and gets a note. Each turn runs every chain and verb once, so a
    machine that slows down part-way slows them all."""
    runs = [(d, v) for d in dialects for v in VERBS]
    if len(dialects) > 1:
        runs += [("all", v) for v in BOTH]
    settings = {n: load_settings(ini, pg_url=pg_url) for n, ini in chains.items()}
    out = VerbTimes()
    for r in range(max(repeat, 1)):
        for n in chains:
            for dialect, verb in runs:
                sys.stderr.write(f"[bench] n={n}: {verb} --dialect {dialect} ({r + 1})\n")
                t0, c0 = time.perf_counter(), time.process_time()
                report = _CALLS[verb](settings[n], dialect)
                seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                key = (dialect, n, verb)
                if not report.ok and r == 0:
                    errors = [f for f in report.findings if f.is_error]
                    out.notes.append(
                        f"{verb} --dialect {dialect}, n={n}: {len(errors)} error(s) on a clean "
                        f"chain: {errors[0].message if errors else '?'}"
                    )
                if seconds < out.seconds.get(key, float("inf")):
                    out.seconds[key] = seconds
                    out.parts[key] = dict(report.timings)
                out.cpu[key] = min(cpu, out.cpu.get(key, cpu))
    return out


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def render_verbs(res: VerbTimes, n: int, also: Sequence[int]) -> str:
    """The verbs' table and ratios, as Markdown."""
    times = res.seconds
    if not times:
        return ""
    out = ["| verb | --dialect | n | seconds | CPU seconds |", "|---|---|---|---|---|"]
    out += [
        f"| {v} | {d} | {m} | {s:.2f} | {res.cpu[d, m, v]:.2f} |"
        for (d, m, v), s in sorted(times.items())
    ]
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
                    f"| {v} --dialect {d}: n={m} / n={n} | {_ratio(times[d, m, v], s)} "
                    f"(CPU {_ratio(res.cpu[d, m, v], res.cpu[d, n, v])}) | {target} |"
                )
    out.append("")
    for (d, m, v), parts in sorted(res.parts.items()):
        if v == "lint":
            walks = {k: t for k, t in parts.items() if k.endswith(".walk")}
            rest = parts.get("lint.total", 0.0) - sum(walks.values())
            shown = ", ".join(f"{k} {t:.2f}" for k, t in sorted(walks.items()))
            out.append(
                f"- lint --dialect {d}, n={m}: total {parts.get('lint.total', 0.0):.2f} s; "
                f"{shown}; the rest (Squawk, the rules, the models) {rest:.2f}"
            )
    return "\n".join(out) + "\n"
