"""What a migration file says about itself, read statically: ids, parents, lines, intent.

`load_revisions` parses every file of the versions directories with `ast` (nothing is
executed), so graph checks and lint can run on a chain that Alembic itself would refuse
to load (duplicate ids, a missing parent). `gate` is the module-level declaration of
intent: ``gate = {"destructive": "why", "irreversible": "why"}``. Its optional ``"allow"``
entry silences lint rules one by one, each with a reason, and is read into `allow`:
``gate = {"allow": {"unsafe-lock/require-concurrent-index-creation": "table is empty"}}``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_gate.chain.checksum import decode_source

__all__ = [
    "RevisionInfo",
    "Unreadable",
    "load_revisions",
    "parse_revision_file",
    "parse_revision_source",
    "read_revisions",
]


@dataclass(frozen=True)
class RevisionInfo:
    revision: str
    down_revisions: tuple[str, ...]
    path: Path
    depends_on: tuple[str, ...] = ()
    upgrade_line: int | None = None
    downgrade_line: int | None = None
    #: true when downgrade() is missing or does nothing (pass, ..., a docstring)
    downgrade_empty: bool = True
    #: true when upgrade() is missing or does nothing (a merge revision, usually)
    upgrade_empty: bool = False
    gate: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""
    #: lint rules this migration silences: rule id (or family) -> reason
    allow: Mapping[str, str] = field(default_factory=dict)

    @property
    def irreversible(self) -> str | None:
        """Why the migration says it cannot be undone (``gate["irreversible"]``), if it
        says so with a reason; an empty reason declares nothing."""
        reason = self.gate.get("irreversible", "").strip()
        return reason or None

    @property
    def lacks_downgrade(self) -> bool:
        """It changes something (upgrade does work) but its downgrade() does nothing."""
        return self.downgrade_empty and not self.upgrade_empty

    def label(self) -> str:
        """`0004 (uuid keys keep rows)`: the id and the first line of its docstring."""
        return f"{self.revision} ({self.doc})" if self.doc else self.revision

    def rel_path(self, root: Path | None = None) -> str:
        root = root or Path.cwd()
        try:
            return self.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return self.path.as_posix()


def _ids(node: ast.expr | None) -> tuple[str, ...]:
    if node is None:
        return ()
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return ()
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


def _is_noop(body: list[ast.stmt]) -> bool:
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring or ...
        return False
    return True


def parse_revision_file(path: Path) -> RevisionInfo | None:
    """The revision a file declares, or None when it is not a revision file."""
    return parse_revision_source(decode_source(path.read_bytes()), path)


def parse_revision_source(source: str, path: Path) -> RevisionInfo | None:
    """The revision `source` declares (as the file `path`), or None when it declares none."""
    tree = ast.parse(source, filename=str(path))
    assigns: dict[str, ast.expr] = {}
    funcs: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigns[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            assigns[node.target.id] = node.value
        elif isinstance(node, ast.FunctionDef):
            funcs[node.name] = node
    rev = _ids(assigns.get("revision"))
    if not rev:
        return None
    gate: dict[str, Any] = {}
    allow: dict[str, str] = {}
    if "gate" in assigns:
        try:
            value = ast.literal_eval(assigns["gate"])
            if isinstance(value, dict):
                gate = {str(k): str(v) for k, v in value.items()}
                if isinstance(value.get("allow"), dict):
                    allow = {str(k): str(v) for k, v in value["allow"].items()}
        except ValueError:
            gate = {}
    down = funcs.get("downgrade")
    up = funcs.get("upgrade")
    return RevisionInfo(
        revision=rev[0],
        down_revisions=_ids(assigns.get("down_revision")),
        depends_on=_ids(assigns.get("depends_on")),
        path=path,
        upgrade_line=up.lineno if up else None,
        downgrade_line=down.lineno if down else None,
        downgrade_empty=down is None or _is_noop(down.body),
        upgrade_empty=up is None or _is_noop(up.body),
        gate=gate,
        allow=allow,
        doc=(ast.get_docstring(tree) or "").strip().splitlines()[0]
        if ast.get_docstring(tree)
        else "",
    )


@dataclass(frozen=True)
class Unreadable:
    """A file of the versions directories that Python cannot parse (syntax, encoding)."""

    path: Path
    line: int | None
    error: str


def read_revisions(
    version_dirs: Iterable[Path], *, recursive: bool = False
) -> tuple[list[RevisionInfo], list[Unreadable]]:
    """Every revision file under the given directories, in file name order, and the files
    that cannot be parsed (a syntax error, bytes that are not in their declared encoding)."""
    out: list[RevisionInfo] = []
    bad: list[Unreadable] = []
    for d in version_dirs:
        files = Path(d).rglob("*.py") if recursive else Path(d).glob("*.py")
        for path in sorted(files):
            if path.name.startswith("__") or "__pycache__" in path.parts:
                continue
            try:
                info = parse_revision_file(path)
            except SyntaxError as exc:
                bad.append(Unreadable(path, exc.lineno, f"SyntaxError: {exc.msg}"))
                continue
            except (UnicodeDecodeError, LookupError) as exc:
                bad.append(Unreadable(path, None, f"{type(exc).__name__}: {exc}"))
                continue
            if info is not None:
                out.append(info)
    return out, bad


def load_revisions(version_dirs: Iterable[Path], *, recursive: bool = False) -> list[RevisionInfo]:
    """Every parseable revision file under the given directories, in file name order."""
    return read_revisions(version_dirs, recursive=recursive)[0]
