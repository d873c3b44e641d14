"""Time `replay` and `snapshot --sample` at scale, against their floors, in one process run.

On one PostgreSQL server (the embedded one started here, or `--pg-url`), a database of the
reference service at revision 0003 (main before the INTEGER → UUID keys) is generated at
`--scale` (1.0 is about 1 GB: 50k users, 300k conversations, 3M messages) and dumped with
`pg_dump -Fc` (never committed: it lives in the work directory). Then, in turns:

- **floor**: what a team does by hand on the same data: `pg_restore --jobs J` of the dump into
  a new database, then Alembic's own `command.upgrade` for each pending revision, one at a
  time, in one process (the reference env.py, no checks);
- **ours**: `migration-gate replay FILE --jobs J` (restore, exact row counts around every
  revision, the lock watch, the fresh head, the drift check), in a subprocess;
- **pg_dump**: a full `pg_dump -Fc` of the source, against **ours sample**:
  `migration-gate snapshot --sample N --mask ...` of the same source.

The tool's peak RSS (its own process: `getrusage(RUSAGE_SELF)` at exit, pg_restore and pg_dump
are other processes) is measured for `replay` and `snapshot --sample` at this scale and on
the tiny reference snapshot, to show it does not grow with the data. `--repeat R` runs floor
and ours R times in alternating order and keeps the best of each.

    python benchmarks/replay.py --scale 1.0 --json replay.json    # the figures of README.md
    python benchmarks/replay.py --scale 0.01 --repeat 1           # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from migration_gate.chain.runner import StepRunner  # noqa: E402
from migration_gate.config.settings import load_settings  # noqa: E402
from migration_gate.db.pg_server import LocalServer, embedded_bin_dir  # noqa: E402
from migration_gate.db.pgtools import conninfo  # noqa: E402

PENDING = ("0004", "0005", "0006", "0007", "0008")
#: runs the CLI and prints the process's own peak RSS (KiB) on stderr at the end
RSS = (
    "import resource, sys\n"
    "from migration_gate.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stderr.write(f'MAXRSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n"
    "raise SystemExit(code)\n"
)
FLOOR_UPGRADE = (
    "import sys\n"
    "from alembic import command\n"
    "from alembic.config import Config\n"
    "config = Config(sys.argv[1])\n"
    "config.set_main_option('sqlalchemy.url', sys.argv[2].replace('%', '%%'))\n"
    "config.attributes['configure_logger'] = False\n"
    "for rev in sys.argv[3:]:\n"
    "    command.upgrade(config, rev)\n"
)
FILL = """
ALTER TABLE messages DISABLE TRIGGER trigger_update_conversation_timestamp;
INSERT INTO users (id, email)
  SELECT md5('user' || g)::uuid, 'user' || g || '@example.org' FROM generate_series(1, {users}) g;
INSERT INTO conversations (user_id, title)
  SELECT md5('user' || (1 + g % {users}))::uuid, 'About topic ' || g
  FROM generate_series(1, {conversations}) g;
INSERT INTO messages (conversation_id, role, content, created_at)
  SELECT 1 + g % {conversations}, (ARRAY['user', 'assistant', 'system', 'tool'])[1 + g % 4],
         repeat(md5(g::text), 6), timestamptz '2025-01-13' + g * interval '1 second'
  FROM generate_series(1, {messages}) g;
ALTER TABLE messages ENABLE TRIGGER trigger_update_conversation_timestamp;
ANALYZE
"""


def _database(admin: str, name: str) -> str:
    engine = sa.create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.make_url(admin).set(database=name).render_as_string(hide_password=False)


def _drop(admin: str, name: str) -> None:
    engine = sa.create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def generate(admin: str, scale: float) -> tuple[str, int]:
    """The source database at 0003, filled; returns (URL, size in bytes)."""
    url = _database(admin, "bench_replay_source")
    settings = load_settings(ROOT / "alembic.ini")
    runner = StepRunner(settings.config_source(), url)
    try:
        runner.upgrade_many(["0001", "0002", "0003"])
    finally:
        runner.close()
    sizes = {
        "users": max(100, int(50_000 * scale)),
        "conversations": max(300, int(300_000 * scale)),
        "messages": max(3000, int(3_000_000 * scale)),
    }
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in FILL.format(**sizes).split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement.replace("%", "%%"))
        size = int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
    engine.dispose()
    return url, size


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int | None, str]:
    """(seconds, the tool's peak RSS in MiB if it printed one, stderr's tail)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    m = re.search(r"MAXRSS (\d+)", proc.stderr)
    return seconds, (int(m.group(1)) // 1024 if m else None), proc.stderr[-500:]


def floor(admin: str, dump: Path, jobs: int) -> dict[str, float]:
    bin_dir = embedded_bin_dir()
    url = _database(admin, "bench_replay_floor")
    dsn, env = conninfo(url)
    t0 = time.perf_counter()
    restore = subprocess.run(
        [
            str(bin_dir / "pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--jobs",
            str(jobs),
            "--dbname",
            dsn,
            str(dump),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    t1 = time.perf_counter()
    if restore.returncode != 0:
        raise SystemExit(f"pg_restore failed: {restore.stderr[-1000:]}")
    upgrade = subprocess.run(
        [sys.executable, "-c", FLOOR_UPGRADE, str(ROOT / "alembic.ini"), url, *PENDING],
        capture_output=True,
        text=True,
        check=False,
    )
    t2 = time.perf_counter()
    if upgrade.returncode != 0:
        raise SystemExit(f"alembic upgrade failed: {upgrade.stderr[-2000:]}")
    _drop(admin, "bench_replay_floor")
    return {"restore": t1 - t0, "upgrade": t2 - t1, "total": t2 - t0}


def ours(admin: str, dump: Path, jobs: int, work: Path) -> dict[str, float]:
    out = work / "replay.json"
    seconds, rss, _ = _timed(
        [
            sys.executable,
            "-c",
            RSS,
            "-c",
            str(ROOT / "alembic.ini"),
            "replay",
            str(dump),
            "--jobs",
            str(jobs),
            "--pg-url",
            admin,
            "--format",
            "json",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    report = json.loads(out.read_text())
    # table-rewrite errors are expected at this size (0004 locks for minutes); anything
    # else means the replay did not do the work the floor did
    wrong = [
        f
        for f in report["findings"]
        if f["check"] in ("replay-failed", "replay-drift", "data-loss")
    ]
    if wrong or len(report["steps"]) != len(PENDING):
        raise SystemExit(f"the benchmark replay must run every revision cleanly, found: {wrong}")
    timings = report["timings"]
    name = dump.name
    return {
        "total": seconds,
        "restore": timings.get(f"{name}.restore", 0.0),
        "replay": timings.get(f"{name}.replay", 0.0),
        "steps": sum(s["seconds"] for s in report["steps"]),
        "fresh_head": timings.get("postgresql.fresh_head", 0.0),
        "rewrites": float(sum(1 for f in report["findings"] if f["check"] == "table-rewrite")),
        "rss_mib": float(rss or 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: about 1 GB")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--pg-url", help="a server (default: an embedded one started here)")
    parser.add_argument("--work", default=str(HERE / ".work" / "replay"))
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    server = None if args.pg_url else LocalServer(embedded_bin_dir()).start()
    admin = args.pg_url or (server.url if server else "")
    results: dict[str, Any] = {"scale": args.scale, "jobs": args.jobs, "repeat": args.repeat}
    try:
        t0 = time.perf_counter()
        source, size = generate(admin, args.scale)
        results["generate_seconds"] = round(time.perf_counter() - t0, 1)
        results["database_bytes"] = size
        dump = work / "big.dump"
        dsn, env = conninfo(source)
        results["pg_dump_seconds"], _, _ = _timed(
            [str(embedded_bin_dir() / "pg_dump"), "-Fc", "-f", str(dump), "--dbname", dsn],
            env={**os.environ, **env},
        )
        results["dump_bytes"] = dump.stat().st_size
        sample = work / "sample.dump"
        seconds, rss, _ = _timed(
            [
                sys.executable,
                "-c",
                RSS,
                "-c",
                str(ROOT / "alembic.ini"),
                "snapshot",
                "--url",
                source,
                "--output",
                str(sample),
                "--sample",
                str(args.sample),
                "--mask",
                "users.email",
                "--mask",
                "messages.content",
                "--pg-url",
                admin,
                "--quiet",
            ]
        )
        results["sample_seconds"], results["sample_rss_mib"] = seconds, rss
        runs: dict[str, list[dict[str, float]]] = {"floor": [], "ours": []}
        for i in range(args.repeat):
            order = ("floor", "ours") if i % 2 == 0 else ("ours", "floor")
            for what in order:
                run = (
                    floor(admin, dump, args.jobs)
                    if what == "floor"
                    else ours(admin, dump, args.jobs, work)
                )
                runs[what].append(run)
                print(f"{what}: {run}", flush=True)
        best = {k: min(v, key=lambda r: r["total"]) for k, v in runs.items()}
        results["floor"], results["ours"] = best["floor"], best["ours"]
        results["runs"] = runs
        _, tiny_rss, _ = _timed(
            [
                sys.executable,
                "-c",
                RSS,
                "-c",
                str(ROOT / "alembic.ini"),
                "replay",
                str(ROOT / "snapshots" / "main.dump"),
                "--pg-url",
                admin,
                "--quiet",
            ]
        )
        results["tiny_replay_rss_mib"] = tiny_rss
        results["ratio_replay"] = round(best["ours"]["total"] / best["floor"]["total"], 3)
        results["ratio_sample_vs_pg_dump"] = round(
            results["sample_seconds"] / results["pg_dump_seconds"], 3
        )
    finally:
        if server is not None:
            server.stop()
        elif admin:
            _drop(admin, "bench_replay_source")
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
