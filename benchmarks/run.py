"""Time `migration-gate roundtrip` against the floor and its peers, in one process run.

On the same server (one embedded PostgreSQL started once, or `--pg-url`) and the same
synthetic chain (`generate.py`), for PostgreSQL and SQLite:

- **floor**: per-migration up → down → up with Alembic's own `command.upgrade` /
  `command.downgrade`, in-process, one shared connection, no checks. Alembic's commands
  re-read the whole script directory on every call (quadratic in the chain), so the floor
  loads it once and hands that `ScriptDirectory` to every command: what Alembic itself
  costs per step, the bar we hold ourselves to. `--naive-floor` also times the unpatched
  commands.
- **ours**: `migration_gate.roundtrip(config, url)` with its defaults, i.e. every check on
  (graph checks; per revision a snapshot after each step and their diffs, fk-type-mismatch
  and the data probe).
- **peers** (unless `--skip-peers`, when installed): pytest-alembic's
  `downgrade_leaves_no_trace` (both dialects) and alembic-gauntlet's stairway test
  (PostgreSQL only: it works in per-test schemas over an async driver), each run by
  pytest in a subprocess with its plugin, from a rootdir in the work directory.

Linearity, two ways: the total at `--also N` over the total at `--n`, and the pace (ms per
revision) over the first and the last `--window` revisions of one walk. The second is
measured within one run, so a machine that slows down between two runs does not show in it.

Also: a snapshot of an `--snapshot-tables`-table PostgreSQL schema (median of several), the
start-up of `migration-gate --help` (a subprocess, median of several), and (unless
`--skip-verbs`) the verbs CI runs, `roundtrip`, `lint`, `lock` and `check-models`, on the
same chain with models, at each N (`verbs.py`).

    python benchmarks/run.py --n 200 --also 400            # the table of benchmarks/README.md
    python benchmarks/run.py --n 20 --skip-peers --dialect sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import ChainSpec, generate, revision_id
from verbs import VerbTimes, render_verbs, time_verbs

import migration_gate
from migration_gate.checks.base import RoundtripCheck
from migration_gate.db.engines import engine as tool_engine
from migration_gate.db.provision import PostgresProvider, Provider, SqliteProvider
from migration_gate.db.urls import PG_ASYNC_DRIVER
from migration_gate.db.urls import parse as parse_url
from migration_gate.snapshot import capture
from migration_gate.walk.run import WalkOptions

__all__ = ["Results", "main"]

HERE = Path(__file__).resolve().parent
DIALECTS = ("postgresql", "sqlite")


@dataclass
class Results:
    """Seconds per (dialect, n, what), and the single measurements."""

    times: dict[tuple[str, int, str], float] = field(default_factory=dict)
    breakdown: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    snapshot_ms: dict[str, float] = field(default_factory=dict)
    help_s: float | None = None
    #: ms per revision over the first and the last window of revisions, per (dialect, n, what)
    pace: dict[tuple[str, int, str], tuple[float, float]] = field(default_factory=dict)
    #: the CLI's verbs per (dialect or "all", n, verb) (verbs.py)
    verbs: VerbTimes = field(default_factory=VerbTimes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "times": [
                {"dialect": d, "n": n, "what": w, "seconds": round(s, 3)}
                for (d, n, w), s in self.times.items()
            ],
            "breakdown": {
                f"{d}/{n}": {k: round(v, 3) for k, v in b.items()}
                for (d, n), b in self.breakdown.items()
            },
            "snapshot_ms": {k: round(v, 2) for k, v in self.snapshot_ms.items()},
            "help_seconds": None if self.help_s is None else round(self.help_s, 3),
            "pace_ms": [
                {"dialect": d, "n": n, "what": w, "first": round(a, 2), "last": round(b, 2)}
                for (d, n, w), (a, b) in self.pace.items()
            ],
            "verbs": [
                {
                    "dialect": d,
                    "n": n,
                    "verb": v,
                    "seconds": round(s, 3),
                    "cpu_seconds": round(self.verbs.cpu[d, n, v], 3),
                    "timings": {k: round(t, 3) for k, t in self.verbs.parts[d, n, v].items()},
                }
                for (d, n, v), s in self.verbs.seconds.items()
            ],
            "notes": self.notes,
        }


# -- the contenders -------------------------------------------------------------------------


@contextlib.contextmanager
def _one_script_directory(config: Config) -> Iterator[None]:
    """Make every Alembic command of this block use one ScriptDirectory, loaded once."""
    script = ScriptDirectory.from_config(config)
    original = ScriptDirectory.__dict__["from_config"]
    ScriptDirectory.from_config = classmethod(lambda cls, cfg: script)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        ScriptDirectory.from_config = original  # type: ignore[method-assign]


def floor(
    ini: Path, url: str, n: int, *, naive: bool = False, marks: list[float] | None = None
) -> float:
    """Per-migration up → down → up with alembic.command, one connection, no checks
    (`marks`: gets the time before the first revision, then at the end of each)."""
    config = Config(str(ini))
    engine = tool_engine(url)  # 2.0-style Connection (commit()) on SQLAlchemy 1.4 too
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        scope = contextlib.nullcontext() if naive else _one_script_directory(config)
        t0 = time.perf_counter()
        if marks is not None:
            marks.append(0.0)
        with scope:
            for i in range(1, n + 1):
                rev = revision_id(i)
                command.upgrade(config, rev)
                conn.commit()
                command.downgrade(config, "-1")
                conn.commit()
                command.upgrade(config, rev)
                conn.commit()
                if marks is not None:
                    marks.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


def probe_note() -> str | None:
    """None when `roundtrip` runs the data probe (this engine's default), else why not."""
    names = {f.name for f in dataclasses.fields(WalkOptions)}
    if "data_probe" not in names:
        return "this engine has no data probe: roundtrip ran without it"
    if not WalkOptions().data_probe:
        return "the data probe is off by default in this engine: roundtrip ran without it"
    return None


@dataclass
class _Clock(RoundtripCheck):
    """A walk hook that notes when each revision's check begins (it adds two calls per
    revision, nothing else)."""

    t0: float
    marks: list[float] = field(default_factory=list)

    def before_upgrade(self, step: Any, before: Any) -> list[Any]:
        self.marks.append(time.perf_counter() - self.t0)
        return []


def ours(
    ini: Path, url: str, marks: list[float] | None = None
) -> tuple[float, migration_gate.Report]:
    """`migration_gate.roundtrip` on `url` with its defaults: every check on (graph checks,
    snapshots and their diffs, fk-type-mismatch, the data probe). `marks`: gets the time
    at the start of each revision's check, then the end of the walk."""
    config = Config(str(ini))
    t0 = time.perf_counter()
    clock = _Clock(t0)
    options = WalkOptions(extra_checks=[clock]) if marks is not None else None
    report = migration_gate.roundtrip(config, url, options=options)
    elapsed = time.perf_counter() - t0
    if marks is not None:
        marks.extend([*clock.marks, elapsed])
    return elapsed, report


def pace(marks: list[float], window: int) -> tuple[float, float] | None:
    """ms per revision over the first and the last `window` revisions, from the times at
    the boundaries of the revisions (n + 1 of them; set-up before the first is left out).
    None when there are too few."""
    if window < 1 or len(marks) < 2 * window + 1:
        return None
    first = (marks[window] - marks[0]) / window
    last = (marks[-1] - marks[-window - 1]) / window
    return first * 1000, last * 1000


PYTEST_ALEMBIC_CONFTEST = """
import os

import pytest
import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.pool import NullPool


@pytest.fixture
def alembic_config():
    return Config(os.environ["BENCH_INI"])


@pytest.fixture
def alembic_engine():
    engine = sa.create_engine(os.environ["BENCH_URL"], poolclass=NullPool)
    yield engine
    engine.dispose()
"""

PYTEST_ALEMBIC_TEST = """
from pytest_alembic.tests.experimental import test_downgrade_leaves_no_trace  # noqa: F401
"""

GAUNTLET_TEST = """
import os

import pytest
from alembic.config import Config
from alembic_gauntlet.testing.consistency_mixin import MigrationConsistencyMixin
from alembic_gauntlet.testing.schema_mixin import MigrationSchemaMixin

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


class TestChain(MigrationSchemaMixin, MigrationConsistencyMixin):
    @pytest.fixture
    def alembic_config(self):
        return Config(os.environ["BENCH_INI"])

    @pytest.fixture
    def migration_db_url(self):
        return os.environ["BENCH_URL"]
"""


def _pytest_peer(
    work: Path, name: str, files: dict[str, str], env: dict[str, str], select: str
) -> tuple[float, str]:
    """Run one peer's test with pytest in a subprocess; (seconds of the test, outcome)."""
    root = work / name
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    for fname, text in files.items():
        (root / fname).write_text(textwrap.dedent(text))
    junit = root / "junit.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(root / "pytest.ini"),
        "--rootdir",
        str(root),
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        select,
        f"--junitxml={junit}",
        str(root),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=root, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    outcome = "passed" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        outcome += ": " + " | ".join(tail)
    try:
        cases = ET.parse(junit).getroot().iter("testcase")
        seconds = sum(float(c.get("time", "0")) for c in cases)
    except (OSError, ET.ParseError):
        seconds = wall
    return seconds or wall, outcome


def pytest_alembic(work: Path, ini: Path, url: str) -> tuple[float, str]:
    return _pytest_peer(
        work,
        "pytest_alembic",
        {"conftest.py": PYTEST_ALEMBIC_CONFTEST, "test_peer.py": PYTEST_ALEMBIC_TEST},
        {"BENCH_INI": str(ini), "BENCH_URL": url},
        "downgrade_leaves_no_trace",
    )


def gauntlet(work: Path, ini: Path, url: str) -> tuple[float, str]:
    async_url = parse_url(url).set(drivername=f"postgresql+{PG_ASYNC_DRIVER}")
    return _pytest_peer(
        work,
        "alembic_gauntlet",
        {"test_peer.py": GAUNTLET_TEST},
        {"BENCH_INI": str(ini), "BENCH_URL": async_url.render_as_string(hide_password=False)},
        "stairway",
    )


# -- snapshot and start-up ------------------------------------------------------------------


def snapshot_ms(provider: Provider, work: Path, tables: int, repeat: int) -> float:
    """Median milliseconds of one snapshot of a schema of `tables` generated tables."""
    ini = generate(work / f"snapshot_{tables}", ChainSpec(n=tables))
    url = provider.scratch("bench_snapshot")
    try:
        config = Config(str(ini))
        engine = tool_engine(url)  # 2.0-style Connection (commit()) on SQLAlchemy 1.4 too
        with engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
            capture(conn)  # warm the caches of the server and of the normalizer
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                snap = capture(conn)
                samples.append((time.perf_counter() - t0) * 1000)
            assert len(snap.tables) == tables, len(snap.tables)
        engine.dispose()
    finally:
        provider.drop(url)
    return statistics.median(samples)


def help_seconds(repeat: int) -> float:
    exe = Path(sys.executable).parent / "migration-gate"
    cmd = (
        [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "migration_gate", "--help"]
    )
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


# -- the run --------------------------------------------------------------------------------


def _floor_on(
    provider: Provider, ini: Path, n: int, *, naive: bool = False, marks: list[float] | None = None
) -> float:
    url = provider.scratch("bench_floor")
    try:
        return floor(ini, url, n, naive=naive, marks=marks)
    finally:
        provider.drop(url)


def run(args: argparse.Namespace) -> Results:
    res = Results()
    dialects = DIALECTS if args.dialect == "all" else (args.dialect,)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    note = probe_note()
    if note:
        res.notes.append(note)
    spec = dict(enum_every=args.enums, check_every=args.checks, extra_indexes=args.indexes)
    providers: dict[str, Provider] = {}
    try:
        for d in dialects:
            providers[d] = SqliteProvider() if d == "sqlite" else PostgresProvider(args.pg_url)
        for n in (args.n, *args.also):
            ini = generate(work / f"chain_{n}", ChainSpec(n=n, **spec))
            for d in dialects:
                p = providers[d]
                floors: list[tuple[float, list[float]]] = []
                best: tuple[float, migration_gate.Report, list[float]] | None = None
                for r in range(max(args.repeat, 1)):  # interleaved: both see the same machine
                    _log(f"{d} n={n}: floor, then migration-gate roundtrip ({r + 1})")
                    floor_marks: list[float] = []
                    floors.append((_floor_on(p, ini, n, marks=floor_marks), floor_marks))
                    url = p.scratch("bench_ours")
                    marks: list[float] = []
                    try:
                        seconds, report = ours(ini, url, marks)
                    finally:
                        p.drop(url)
                    if best is None or seconds < best[0]:
                        best = (seconds, report, marks)
                assert best is not None
                fastest_floor = min(floors, key=lambda f: f[0])
                res.times[d, n, "floor"] = fastest_floor[0]
                for what, what_marks in (("floor", fastest_floor[1]), ("ours", best[2])):
                    measured = pace(what_marks, args.window)
                    if measured is not None:
                        res.pace[d, n, what] = measured
                res.times[d, n, "ours"] = best[0]
                res.breakdown[d, n] = {
                    k.split(".", 1)[1]: v
                    for k, v in best[1].timings.items()
                    if k.startswith(d + ".")
                }
                if best[1].findings:
                    res.notes.append(
                        f"{d} n={n}: roundtrip reported {len(best[1].findings)} "
                        f"finding(s) on a clean chain: {best[1].findings[0].message}"
                    )
                if args.naive_floor and n == args.n:
                    _log(f"{d} n={n}: naive floor")
                    res.times[d, n, "naive floor"] = _floor_on(p, ini, n, naive=True)
                if args.skip_peers or n != args.n:
                    continue
                for name, fn, dialect_ok in (
                    ("pytest-alembic", pytest_alembic, True),
                    ("alembic-gauntlet", gauntlet, d == "postgresql"),
                ):
                    module = name.replace("-", "_")
                    if not dialect_ok or importlib.util.find_spec(module) is None:
                        continue
                    _log(f"{d} n={n}: {name}")
                    url = p.scratch("bench_peer")
                    try:
                        seconds, outcome = fn(work / f"peer_{d}_{n}", ini, url)
                    finally:
                        p.drop(url)
                    res.times[d, n, name] = seconds
                    if outcome != "passed":
                        res.notes.append(f"{name} on {d}, n={n}: {outcome}")
        if not args.skip_verbs:
            _log("the verbs roundtrip, lint, lock, check-models, every size in each turn")
            pg = providers.get("postgresql")
            chains = {
                n: generate(work / f"verbs_{n}", ChainSpec(n=n, models=True, **spec))
                for n in (args.n, *args.also)
            }
            res.verbs = time_verbs(
                chains,
                pg.admin_url.render_as_string(hide_password=False)
                if isinstance(pg, PostgresProvider)
                else None,
                dialects,
                args.repeat,
            )
            res.notes.extend(res.verbs.notes)
        if "postgresql" in providers and args.snapshot_tables:
            _log(f"snapshot of {args.snapshot_tables} tables")
            res.snapshot_ms["postgresql"] = snapshot_ms(
                providers["postgresql"], work, args.snapshot_tables, args.snapshot_repeat
            )
        if "sqlite" in providers and args.snapshot_tables:
            res.snapshot_ms["sqlite"] = snapshot_ms(
                providers["sqlite"], work, args.snapshot_tables, args.snapshot_repeat
            )
    finally:
        for p in providers.values():
            p.close()
    if args.help_repeat:
        _log("migration-gate --help")
        res.help_s = help_seconds(args.help_repeat)
    return res


def _log(text: str) -> None:
    sys.stderr.write(f"[bench] {text}\n")
    sys.stderr.flush()


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def render(res: Results, args: argparse.Namespace) -> str:
    """The table and the ratios against the targets of issue 4, as Markdown."""
    out = ["| dialect | n | what | seconds |", "|---|---|---|---|"]
    out += [f"| {d} | {n} | {w} | {s:.2f} |" for (d, n, w), s in res.times.items()]
    out.append("")
    out.append("| ratio | value | target |")
    out.append("|---|---|---|")
    t = res.times
    for d in DIALECTS:
        for n in (args.n, *args.also):
            if (d, n, "ours") in t:
                out.append(
                    f"| {d} n={n}: ours / floor | {_ratio(t[d, n, 'ours'], t[d, n, 'floor'])} | ≤ 2x |"
                )
        for m in args.also:
            for what in ("ours", "floor"):
                if (d, m, what) in t and (d, args.n, what) in t:
                    out.append(
                        f"| {d}: {what} n={m} / n={args.n} | "
                        f"{_ratio(t[d, m, what], t[d, args.n, what])} | "
                        f"{'≤ 2.2x' if what == 'ours' else '(reference)'} |"
                    )
        for peer in ("pytest-alembic", "alembic-gauntlet"):
            if (d, args.n, peer) in t:
                target = "≥ 20x" if peer == "pytest-alembic" else "(reference)"
                out.append(
                    f"| {d} n={args.n}: {peer} / ours | "
                    f"{_ratio(t[d, args.n, peer], t[d, args.n, 'ours'])} | {target} |"
                )
    for (d, n, what), (first, last) in res.pace.items():
        if n == max([args.n, *args.also]):
            out.append(
                f"| {d} n={n}: {what}, ms per revision, first {args.window} → last "
                f"{args.window} | {first:.1f} → {last:.1f} ({last / first:.2f}x) | "
                f"{'≈ 1x (linear)' if what == 'ours' else '(reference)'} |"
            )
    for d, ms in res.snapshot_ms.items():
        target = "≤ 20 ms" if d == "postgresql" else "(reference)"
        out.append(
            f"| snapshot of {args.snapshot_tables} tables, {d} (median) | {ms:.1f} ms | {target} |"
        )
    if res.help_s is not None:
        out.append(f"| `migration-gate --help` (median) | {res.help_s:.3f} s | ≤ 0.3 s |")
    out.append("")
    for (d, n), parts in res.breakdown.items():
        total = parts.get("total", 0.0)
        shown = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if k != "total"
        )
        out.append(f"- ours, {d} n={n}: total {total:.2f} s; {shown}")
    out += [f"- note: {note}" for note in res.notes]
    verbs = render_verbs(res.verbs, args.n, args.also)
    return "\n".join(out) + "\n" + (f"\n{verbs}" if verbs else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="revisions in the chain (default 200)")
    p.add_argument(
        "--also",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="also time ours and the floor on a chain of N (linearity); repeatable",
    )
    p.add_argument("--dialect", choices=("all", *DIALECTS), default="all")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("MIGRATION_GATE_PG_URL"),
        help="PostgreSQL server to use (default: one embedded server for the run)",
    )
    p.add_argument("--skip-peers", action="store_true", help="do not run pytest-alembic / gauntlet")
    p.add_argument(
        "--skip-verbs",
        action="store_true",
        help="do not time roundtrip / lint / lock / check-models as the CLI runs them",
    )
    p.add_argument(
        "--naive-floor",
        action="store_true",
        help="also time the floor with Alembic re-reading the scripts on every command",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="best of R for the floor and ours, run in turns (default 3)",
    )
    p.add_argument(
        "--enums", type=int, default=0, metavar="EVERY", help="chain option, see generate.py"
    )
    p.add_argument("--checks", type=int, default=0, metavar="EVERY", help="chain option")
    p.add_argument("--indexes", type=int, default=0, metavar="K", help="chain option")
    p.add_argument(
        "--window",
        type=int,
        default=50,
        help="revisions at each end of the chain for the pace (ms per revision)",
    )
    p.add_argument("--snapshot-tables", type=int, default=200, help="0 to skip the snapshot timing")
    p.add_argument("--snapshot-repeat", type=int, default=15)
    p.add_argument("--help-repeat", type=int, default=7, help="0 to skip the --help timing")
    p.add_argument("--work", type=Path, default=HERE / ".work", help="work directory (gitignored)")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    res = run(args)
    sys.stdout.write(render(res, args))
    if args.json:
        args.json.write_text(json.dumps(res.to_dict(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
