"""Whole-process times of `migration-gate` verbs on a generated chain, for one or more engines.

Each verb runs as a user runs it, ``python -m migration_gate -c <chain>/alembic.ini <verb>
--pg-url <server> --quiet``, on a chain of `generate.py` with models, against one PostgreSQL
server (embedded, started once, or `--pg-url`). Given several source trees (`--src`), each
run puts one first on PYTHONPATH: that is how two versions of the engine are compared on the
same machine in one run (before and after a change)::

    mkdir -p /tmp/before && git archive <commit> src | tar -x -C /tmp/before
    python benchmarks/cli.py --n 200 --also 400 --src /tmp/before/src --src src

Each turn runs every chain size, verb and source once; `--repeat` turns, and the best of
each is kept, so a machine that slows down part-way slows every contender alike. The times
include the interpreter's start-up and imports (≈0.3-0.5 s), as the issue's figures did.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import ChainSpec, generate

from migration_gate.db.provision import PostgresProvider

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
DEFAULT_VERBS = (
    "roundtrip --dialect postgresql",
    "lint --dialect postgresql",
    "lint",
    "lock --dialect postgresql",
    "check-models --dialect postgresql",
)


def run_verb(src: Path, ini: Path, verb: str, pg_url: str) -> tuple[float, int]:
    """(wall seconds, exit code) of one whole `migration-gate` process on `src`."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "migration_gate", "-c", str(ini), *verb.split()]
    cmd += ["--pg-url", pg_url, "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="revisions in the chain (default 200)")
    p.add_argument("--also", type=int, action="append", default=[], metavar="N")
    p.add_argument(
        "--src",
        type=Path,
        action="append",
        default=[],
        help="a source tree holding migration_gate/ (repeatable; default: this checkout's src)",
    )
    p.add_argument("--verb", action="append", default=[], help=f"default: {list(DEFAULT_VERBS)}")
    p.add_argument("--repeat", type=int, default=3, help="best of R, in turns (default 3)")
    p.add_argument("--pg-url", default=os.environ.get("MIGRATION_GATE_PG_URL"))
    p.add_argument("--work", type=Path, default=HERE / ".work", help="work directory (gitignored)")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = p.parse_args(argv)
    sources = [s.resolve() for s in args.src] or [HERE.parent / "src"]
    verbs = args.verb or list(DEFAULT_VERBS)
    best: dict[tuple[int, str, int], float] = {}
    failed: list[str] = []
    server = PostgresProvider(args.pg_url)
    url = server.admin_url.render_as_string(hide_password=False)
    try:
        chains = {
            n: generate(args.work / f"cli_{n}", ChainSpec(n=n, models=True))
            for n in (args.n, *args.also)
        }
        for r in range(max(args.repeat, 1)):  # every size, verb and source in each turn
            for n, ini in chains.items():
                for verb in verbs:
                    for i, src in enumerate(sources):
                        sys.stderr.write(f"[bench] n={n} {verb} on {src} ({r + 1})\n")
                        seconds, code = run_verb(src, ini, verb, url)
                        if code not in (0, 1):
                            failed.append(f"n={n} {verb} on {src}: exit {code}")
                        key = (n, verb, i)
                        best[key] = min(seconds, best.get(key, seconds))
    finally:
        server.close()
    out = ["| verb | n | " + " | ".join(f"src {i + 1}" for i in range(len(sources))) + " |"]
    out.append("|---|---|" + "---|" * len(sources))
    for n in (args.n, *args.also):
        for verb in verbs:
            cells = " | ".join(f"{best[n, verb, i]:.2f} s" for i in range(len(sources)))
            out.append(f"| `{verb}` | {n} | {cells} |")
    out.append("")
    out += [f"- src {i + 1}: {src}" for i, src in enumerate(sources)]
    out += [f"- failed: {f}" for f in failed]
    sys.stdout.write("\n".join(out) + "\n")
    if args.json:
        rows = [
            {"n": n, "verb": v, "src": str(sources[i]), "seconds": round(s, 3)}
            for (n, v, i), s in best.items()
        ]
        args.json.write_text(json.dumps({"times": rows, "failed": failed}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
