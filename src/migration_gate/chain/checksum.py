"""Checksums of migration sources that ignore comments, formatting and docstrings.

A released migration must never change what it does; it may gain a comment or be
reformatted. `source_checksum` hashes what the code *is*, not how it is written:

**ast-v1** — decode the bytes as Python does (BOM, coding cookie), turn ``\\r\\n`` and ``\\r``
into ``\\n``, parse with `ast`, drop every docstring (module, class, function), and hash a
canonical rendering of the tree: each node's class name and its fields in order, fields that
are None or empty left out, constants by type and ``repr``, no positions and no
``type_comment``/``kind``/``type_params``. Comments, blank lines, indentation width, line
breaks, quote style, redundant parentheses and trailing commas do not change it; a changed
operation, name, argument or string (SQL included) does.

The tree is rendered here rather than with `ast.dump`, whose output changed across Python
versions (3.13 leaves out empty fields); token streams changed too (3.12 splits f-strings).
The rendering is a fixed grammar, so the same source hashes the same on every OS and on
every supported Python. Any change of this rendering gets a new algorithm name.
"""

from __future__ import annotations

import ast
import hashlib
import io
import tokenize
from pathlib import Path

__all__ = [
    "ALGORITHM",
    "canonical_tree",
    "decode_source",
    "first_change_line",
    "source_checksum",
    "split_checksum",
]

ALGORITHM = "ast-v1"

#: fields that describe how code is written, not what it does
_SKIPPED_FIELDS = frozenset({"type_comment", "kind", "type_params"})


def decode_source(data: bytes | str) -> str:
    """Source text as Python reads it: encoding from BOM / cookie, newlines as ``\\n``."""
    if isinstance(data, bytes):
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    else:
        text = data
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_DEFS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
#: what holds statements: a def or class is a statement, found only in these
_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def _strip_docstrings(tree: ast.AST) -> None:
    """Drop the docstring of the module and of every class and function. Only statement
    lists are visited (a def is a statement), not every node as `ast.walk` would."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, _DEFS):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                todo.extend(item for item in value if isinstance(item, _BLOCKS))


def _render_into(node: object, out: list[str]) -> None:
    """Append the rendering of `node` to `out` (a list, not nested generators: every token of
    a generator rendering passed through each level above it, and the checksums of a chain
    are computed on every deploy)."""
    if isinstance(node, ast.AST):
        out.append(node.__class__.__name__)
        out.append("(")
        constant = isinstance(node, ast.Constant)
        for name in node._fields:  # what ast.iter_fields gives, without its generator
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if constant and name == "value":
                out.append(f"{name}={type(value).__name__}:{value!r};")
                continue
            if name in _SKIPPED_FIELDS or value is None or value == []:
                continue
            out.append(f"{name}=")
            _render_into(value, out)
            out.append(";")
        out.append(")")
    elif isinstance(node, list):
        out.append("[")
        for item in node:
            _render_into(item, out)
            out.append(",")
        out.append("]")
    else:
        out.append(f"{type(node).__name__}:{node!r}")


def _render(node: object) -> str:
    out: list[str] = []
    _render_into(node, out)
    return "".join(out)


def canonical_tree(source: bytes | str) -> str:
    """The canonical rendering that ast-v1 hashes (useful to see why two sources differ)."""
    tree = ast.parse(decode_source(source))
    _strip_docstrings(tree)
    return _render(tree)


def source_checksum(source: bytes | str | Path) -> str:
    """``ast-v1:<sha256 hex>`` of a migration's source (bytes, text, or a file path).

    Raises SyntaxError when the source is not valid Python.
    """
    if isinstance(source, Path):
        source = source.read_bytes()
    digest = hashlib.sha256(canonical_tree(source).encode("utf-8")).hexdigest()
    return f"{ALGORITHM}:{digest}"


def split_checksum(value: str) -> tuple[str, str]:
    """(algorithm, hex digest) of a stored checksum such as ``ast-v1:ab12...``."""
    algorithm, sep, digest = value.partition(":")
    if not sep:
        return "", value
    return algorithm, digest


def _parsed(source: bytes | str) -> ast.Module:
    tree = ast.parse(decode_source(source))
    _strip_docstrings(tree)
    return tree


def _first_change(old: list[ast.stmt], new: list[ast.stmt], parent_line: int) -> int | None:
    for i, node in enumerate(new):
        before = old[i] if i < len(old) else None
        if before is not None and _render(before) == _render(node):
            continue
        inner_old = getattr(before, "body", None)
        inner_new = getattr(node, "body", None)
        if (
            before is not None
            and type(before) is type(node)
            and isinstance(inner_old, list)
            and isinstance(inner_new, list)
        ):
            found = _first_change(inner_old, inner_new, node.lineno)
            if found is not None:
                return found
        return node.lineno
    if len(old) > len(new):
        return new[-1].end_lineno or new[-1].lineno if new else parent_line
    return None


def first_change_line(old: bytes | str, new: bytes | str) -> int | None:
    """Line (in `new`) of the first statement whose meaning differs from `old`, descending
    into functions and blocks; None when ast-v1 sees no difference."""
    try:
        return _first_change(_parsed(old).body, _parsed(new).body, 1)
    except SyntaxError:
        return None
