"""Time `migration-gate deploy` and its pre-flight against plain Alembic, in one process run.

On one server (the embedded PostgreSQL started once, or `--pg-url`) and the synthetic chain
of `generate.py` (N revisions, one table each, so the head has N tables), with an env.py
that runs each migration in its own transaction (``transaction_per_migration=True``):

- **alembic**: `alembic upgrade head` in-process (`command.upgrade`) on an empty database:
  the floor, what Alembic itself costs.
- **step runner**: the chain loaded (`load_chain`) and applied by the step runner, one
  Alembic command per revision through env.py, and nothing else: what any deploy that runs
  one command per revision costs before it does any of its own work.
- **step runner, one command**: the same, but as a deploy applies it when env.py runs each
  migration in its own transaction: every revision in one command (`upgrade_each`), each in
  its own transaction: the floor of the deploy.
- **deploy (lock file)**: the deploy command in-process on an empty database
  (`commands.deploy.deploy`: chain load, lock, pre-flight, one transaction and ledger row per
  revision, post-check), with a lock file that vouches for the head's schema.
- **deploy (scratch)**: the same without a lock file: the post-check builds the head's
  schema on a scratch database (a second walk of the chain).
- **pre-flight (lock file)** / **pre-flight (scratch)**: `drift` of a database at the head
  (N tables): with the lock file the live schema's hash settles it; without, the expected
  schema is built on a scratch database and diffed.

Each is run `--repeat` times in turns and the best is kept (the machine is shared and noisy);
the last column is the median, over the turns, of each row's time over Alembic's in the
same turn.

    python benchmarks/deploy.py --n 200
    python benchmarks/deploy.py --n 50 --repeat 1     # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import ChainSpec, generate

from migration_gate.chain.runner import StepRunner
from migration_gate.chain.script import load_chain
from migration_gate.commands.deploy import deploy
from migration_gate.commands.drift import drift
from migration_gate.config.settings import Settings, load_settings
from migration_gate.db.provision import PostgresProvider
from migration_gate.findings import Report
from migration_gate.lock.locking import write_lock

HERE = Path(__file__).resolve().parent

ENV = """\
name: bench
database:
  url_env: BENCH_DATABASE_URL
deploy:
  backup: never
"""


def _per_migration_env(root: Path) -> None:
    """The generated env.py, with one transaction per migration (for the plain baseline)."""
    env = root / "migrations" / "env.py"
    text = env.read_text()
    patched = text.replace(
        'render_as_batch=connection.dialect.name == "sqlite", **opts)',
        'render_as_batch=connection.dialect.name == "sqlite", '
        "transaction_per_migration=True, **opts)",
    )
    # Alembic keeps an open transaction it did not begin for all revisions: connect, not begin
    patched = patched.replace("with engine.begin() as conn:", "with engine.connect() as conn:")
    assert patched.count("transaction_per_migration") == 1 and "engine.begin()" not in patched, (
        "generate.py's env.py changed: update the benchmark"
    )
    env.write_text(patched)


def _project(work: Path, n: int, admin: str) -> Path:
    root = work / f"deploy_{n}"
    ini = generate(root, ChainSpec(n=n), url=admin)
    _per_migration_env(root)
    (root / "envs").mkdir(exist_ok=True)
    (root / "envs" / "bench.yaml").write_text(ENV)
    (root / "pyproject.toml").write_text(
        '[tool.migration-gate]\nlock_file = "migrations/migration-gate.lock"\n'
    )
    return ini


def _settings(ini: Path, url: str, admin: str, *, lock: bool) -> Settings:
    s = load_settings(ini, pg_url=admin, environ={"BENCH_DATABASE_URL": url})
    return s if lock else dataclasses.replace(s, lock_file=ini.parent / "no.lock")


def _alembic(ini: Path, url: str) -> None:
    cfg = Config(str(ini))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


def _step_runner(ini: Path, url: str) -> None:
    chain = load_chain(Config(str(ini)))
    runner = StepRunner(Config(str(ini)), url, script=chain.script)
    try:
        runner.upgrade_many(chain.order)
    finally:
        runner.close()


def _step_runner_batched(ini: Path, url: str) -> None:
    chain = load_chain(Config(str(ini)))
    runner = StepRunner(Config(str(ini)), url, script=chain.script)
    try:
        applied = runner.upgrade_each(chain.order)
        assert applied == tuple(chain.order), "env.py has no transaction_per_migration"
    finally:
        runner.close()


def _ok(report: Report) -> Report:
    if not report.ok:
        raise SystemExit(f"the benchmark's {report.command} failed: {report.findings}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="revisions (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept")
    parser.add_argument("--pg-url", help="a PostgreSQL server (default: the embedded one)")
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    with PostgresProvider(args.pg_url) as provider:
        admin = provider.admin_url.render_as_string(hide_password=False)
        ini = _project(args.work, args.n, admin)
        with_lock = load_settings(ini, pg_url=admin)
        if not _ok(write_lock(with_lock, {"postgresql": provider})).written:
            raise SystemExit("no lock file was written")

        def fresh(run: Callable[[str], object]) -> float:
            url = provider.scratch("bench_deploy")
            try:
                t0 = time.perf_counter()
                run(url)
                return time.perf_counter() - t0
            finally:
                provider.drop(url)

        at_head = provider.scratch("bench_head")
        _alembic(ini, at_head)
        timings: dict[str, float] = {}

        def preflight(lock: bool) -> float:
            report = _ok(drift(_settings(ini, at_head, admin, lock=lock), env="bench"))
            assert report.deploy is not None
            expected = "lock file" if lock else "scratch database"
            assert report.deploy.expected_from == expected, report.deploy.expected_from
            return report.timings["deploy.total"]

        runs: dict[str, Callable[[], float]] = {
            "alembic upgrade head": lambda: fresh(lambda url: _alembic(ini, url)),
            "step runner alone": lambda: fresh(lambda url: _step_runner(ini, url)),
            "step runner, one command": lambda: fresh(lambda url: _step_runner_batched(ini, url)),
            "deploy (lock file)": lambda: fresh(
                lambda url: _ok(deploy(_settings(ini, url, admin, lock=True), env="bench"))
            ),
            "deploy (scratch)": lambda: fresh(
                lambda url: _ok(deploy(_settings(ini, url, admin, lock=False), env="bench"))
            ),
            "pre-flight (lock file)": lambda: preflight(True),
            "pre-flight (scratch)": lambda: preflight(False),
        }
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, run in runs.items():
                samples[name].append(run())
        provider.drop(at_head)
    timings = {name: min(values) for name, values in samples.items()}
    floor = timings["alembic upgrade head"]
    alembic = samples["alembic upgrade head"]
    print(f"n={args.n}, best of {args.repeat}")
    print("| what | seconds | median | / alembic | / alembic, same turn |")
    print("|---|---|---|---|---|")
    for name, best in timings.items():
        # each turn runs every row once, close in time: a ratio within a turn drifts less
        # with the machine's load than a ratio of two bests taken in different turns
        turns = statistics.median(v / a for v, a in zip(samples[name], alembic, strict=True))
        print(
            f"| {name} | {best:.3f} | {statistics.median(samples[name]):.3f} "
            f"| {best / floor:.2f}x | {turns:.2f}x |"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"n": args.n, "best": timings, "samples": samples}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
