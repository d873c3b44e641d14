"""Import what the settings name (`module:attribute`), and say clearly why one cannot be.

Also the one place that turns a pydantic `ValidationError` into a one-line `ConfigError`
message naming the key, the value found and the type expected.
"""

from __future__ import annotations

import importlib
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from migration_gate.errors import ConfigError

__all__ = ["import_object", "validation_message"]


def import_object(spec: str, what: str, root: Path | None = None) -> Any:
    """Import `module:attr.path` (from the project `root` too) or raise a ConfigError."""
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what} must look like module:attribute, not {spec!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import {what} {spec!r}: {exc}",
            hint="check the module name, and run from the project root",
        ) from None
    except Exception as exc:  # the user's module raised while being imported
        raise ConfigError(
            f"importing {module_name} for {what} {spec!r} raised {type(exc).__name__}: {exc}",
            hint=f"fix {module_name} so that it imports",
        ) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"cannot import {what} {spec!r}: {module_name} has no attribute {part!r}",
                hint="check the attribute name after the colon",
            ) from None
    return obj


def validation_message(exc: ValidationError, where: str, model: type[BaseModel]) -> str:
    """`[tool.migration-gate] models: Input should be a valid string (found int 5)`: the
    first problem, and how many more there are."""
    messages = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            at = _model_at(model, err["loc"][:-1])
            known = sorted(n for n, f in at.model_fields.items() if not f.exclude) if at else []
            listed = f" (known: {', '.join(known)})" if known else ""
            messages.append(f"{where}: unknown key {key!r}{listed}")
        elif err["type"] == "missing":
            messages.append(f"{where}: {key} is missing (it is required)")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            found = f"{type(value).__name__} {value!r}"
            messages.append(f"{where}: {key}: {msg} (found {found})")
    first = messages[0] if messages else str(exc)
    more = len(messages) - 1
    return first + (f" (and {more} more problem(s))" if more > 0 else "")


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model that holds the keys at `loc` (a section of `model`), or None when the path
    does not lead through models (a list, a mapping)."""
    current: type[BaseModel] = model
    for part in loc:
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        found = [
            t
            for t in (field.annotation, *typing.get_args(field.annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if not found:
            return None
        current = found[0]
    return current
