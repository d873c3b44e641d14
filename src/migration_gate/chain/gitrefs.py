"""Read files as they were at a git ref: the edge between migration-gate and git.

`lint --base REF` asks which revisions a branch adds, and `lock --check --base-ref REF` reads
the lock file as it is on the base branch. Both only read (``git rev-parse``, ``git ls-tree``,
``git show``); a ref git does not know is a `ConfigError`, a missing git an
`InfrastructureError`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from migration_gate.errors import ConfigError, InfrastructureError

__all__ = ["files_at", "repo_root", "show", "verify_ref"]


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except FileNotFoundError:
        raise InfrastructureError(
            "git is not installed", hint="install git, or drop --base"
        ) from None


def repo_root(path: Path) -> Path:
    """The top directory of the git work tree that holds `path`."""
    start = path if path.is_dir() else path.parent
    proc = _git(start, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise ConfigError(
            f"{start} is not inside a git repository",
            hint="--base and --base-ref compare with a git ref; run inside the clone",
        )
    return Path(proc.stdout.strip()).resolve()


def verify_ref(root: Path, ref: str) -> None:
    """Raise a ConfigError unless `ref` names a commit."""
    proc = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if proc.returncode != 0:
        raise ConfigError(
            f"git does not know the ref {ref!r}",
            hint="fetch it first (in CI: actions/checkout with fetch-depth: 0)",
        )


def _rel(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise ConfigError(f"{path} is outside the git repository {root}") from None


def show(root: Path, ref: str, path: Path) -> bytes | None:
    """The content of `path` at `ref`, or None when it did not exist there."""
    verify_ref(root, ref)
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "show", f"{ref}:{_rel(root, path)}"],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise InfrastructureError("git is not installed") from None
    return proc.stdout if proc.returncode == 0 else None


def files_at(root: Path, ref: str, directory: Path) -> dict[str, bytes]:
    """Every file under `directory` at `ref`: repository-relative path → content."""
    verify_ref(root, ref)
    proc = _git(root, "ls-tree", "-r", "--name-only", "-z", ref, "--", _rel(root, directory))
    if proc.returncode != 0:
        raise ConfigError(f"git ls-tree {ref} failed: {proc.stderr.strip()}")
    out: dict[str, bytes] = {}
    for name in filter(None, proc.stdout.split("\0")):
        content = show(root, ref, root / name)
        if content is not None:
            out[name] = content
    return out
