"""The embedded PostgreSQL server is stopped and its files removed at the end of a run,
also when the run is interrupted or the server cannot be started."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.chain_builder import write_chain

SLOW = ("a1", None, "import time\ntime.sleep(60)", "pass")


def _servers_in(tmp: str) -> set[str]:
    return set(glob.glob(os.path.join(tmp, "mgpg-*")))


def _private_tmp() -> str:
    """A TMPDIR of this test's own (other runs on the machine use /tmp too), short enough
    for a Unix socket path and open to the server's system user."""
    tmp = tempfile.mkdtemp(prefix="mgt-")
    os.chmod(tmp, 0o755)
    return tmp


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("sig", "twice"),
    [
        (signal.SIGINT, False),
        (signal.SIGTERM, False),
        (signal.SIGINT, True),
        (signal.SIGTERM, True),
    ],
)
def test_interrupt_stops_the_embedded_server(
    tmp_path: Path, sig: signal.Signals, twice: bool
) -> None:
    """One signal, or a second one 50 ms after the first (an impatient Ctrl-C): the cleanup
    runs to its end either way and says what it did."""
    ini = write_chain(tmp_path, [SLOW])
    tmp = _private_tmp()
    env = {k: v for k, v in os.environ.items() if k != "MIGRATION_GATE_PG_URL"}
    env["TMPDIR"] = tmp
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "migration_gate",
            "-c",
            str(ini),
            "roundtrip",
            "--dialect",
            "postgresql",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "postgresql 1/1 a1": the server is up, a1 is sleeping
    assert "postgresql 1/1" in line
    started = _servers_in(tmp)
    assert len(started) == 1
    time.sleep(0.5)
    proc.send_signal(sig)
    if twice:
        time.sleep(0.05)
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig
    assert "Traceback" not in err
    assert f"FAILED: interrupted by {sig.name}; the scratch databases were dropped" in err
    assert not _servers_in(tmp), "the server's temporary directory is left behind"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert next(iter(started)) not in ps, "a postgres process of this run is still alive"
    os.rmdir(tmp)


def test_server_that_will_not_start_exits_3(tmp_path: Path) -> None:
    ini = write_chain(tmp_path, [("a1", None, "pass", "pass")])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "migration_gate",
            "-c",
            str(ini),
            "roundtrip",
            "--dialect",
            "postgresql",
            "--pg-bin",
            str(tmp_path / "no-such-bin"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "MIGRATION_GATE_PG_URL"},
    )
    assert proc.returncode == 3
    assert proc.stderr.startswith("FAILED: initdb not found in") and "--pg-bin" in proc.stderr
