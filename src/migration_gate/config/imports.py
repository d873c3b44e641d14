"""Import what the settings name (`module:attribute`), and say clearly why one cannot be.

Also the one place that turns a pydantic `ValidationError` into a one-line `ConfigError`
message naming the key, the value found and the type expected.
"""

from __future__ import annotations

import importlib
import sys
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


_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "an integer",
    "dict_type": "a table",
    "list_type": "a list",
    "float_type": "a number",
}


def validation_message(exc: ValidationError, where: str, model: type[BaseModel]) -> str:
    """`[tool.migration-gate] models: expected a string, found int 5` (the first error, and
    how many more there are)."""
    messages = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            known = ", ".join(sorted(model.model_fields))
            messages.append(f"{where} has an unknown key {key!r} (known: {known})")
            continue
        expected = _EXPECTED.get(err["type"], err["msg"].lower())
        found = f"{type(value).__name__} {value!r}" if value is not None else "nothing"
        if err["type"] == "missing":
            messages.append(f"{where} {key}: missing (it is required)")
        else:
            messages.append(f"{where} {key}: expected {expected}, found {found}")
    first = messages[0] if messages else str(exc)
    more = len(messages) - 1
    return first + (f" (and {more} more problem(s))" if more > 0 else "")
