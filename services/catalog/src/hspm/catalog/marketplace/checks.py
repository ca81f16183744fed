"""The parts every ``marketplace.json`` check shares: issues, a report, value tests, shapes.

``Checker`` walks a parsed document collecting issues, each with its JSON path; the
checks of each part of the document (``facts``, ``configurations``) extend it, and
``schema.validate`` puts them together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

_CRON_FIELD = re.compile(r"^[\w*/,\-?LW#]+$")


@dataclass(frozen=True)
class Issue:
    """One finding: where (JSON path), what, and which rule."""

    path: str
    message: str
    rule: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "rule": self.rule}


@dataclass
class Report:
    """Errors reject the document; warnings are shown to its author."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [i.as_json() for i in self.errors],
            "warnings": [i.as_json() for i in self.warnings],
        }


def is_uuid(value: Any) -> bool:
    """A canonical UUID string (hyphenated, any case)."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host, or a mailto: address (the schema's "url")."""
    parts = urlsplit(value)
    if parts.scheme == "mailto":
        return "@" in parts.path
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def is_uri(value: str) -> bool:
    """An absolute URI: a scheme and something after it."""
    parts = urlsplit(value)
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme)) and len(value) > len(parts.scheme) + 1


def is_cron(value: str) -> bool:
    """Five whitespace-separated cron fields (``m h dom mon dow``)."""
    fields = value.split()
    return len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)


def whole_number(value: Any) -> int | None:
    """A JSON number that is whole (``256`` or ``256.0``) as an int; anything else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


class Checker:
    """Walks the document once, collecting issues; each method checks one object kind."""

    def __init__(self) -> None:
        self.report = Report()

    def error(self, path: str, rule: str, message: str) -> None:
        self.report.errors.append(Issue(path, message, rule))

    def warn(self, path: str, rule: str, message: str) -> None:
        self.report.warnings.append(Issue(path, message, rule))

    # --- generic shapes -----------------------------------------------------------------

    def obj(self, value: Any, path: str, required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The object at ``path`` if it is one; each missing required key is an error."""
        if not isinstance(value, dict):
            self.error(path, "type", "must be an object")
            return None
        for key in required:
            if key not in value:
                self.error(f"{path}.{key}", "required", "is required")
        return value

    def items(self, value: Any, path: str, min_items: int = 0) -> Iterator[tuple[str, Any]]:
        """``(path, item)`` of an array; not an array, or too short, is an error."""
        if not isinstance(value, list):
            self.error(path, "type", "must be an array")
            return
        if len(value) < min_items:
            self.error(path, "min-items", f"must have at least {min_items} item(s)")
        for i, item in enumerate(value):
            yield f"{path}[{i}]", item

    def string(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        """``parent[key]`` as a string; a wrong type is an error, absence only if required."""
        if key not in parent:
            if required:
                self.error(f"{path}.{key}", "required", "is required")
            return None
        value = parent[key]
        if not isinstance(value, str):
            self.error(f"{path}.{key}", "type", "must be a string")
            return None
        return value

    def boolean(self, parent: dict[str, Any], key: str, path: str) -> None:
        if key in parent and not isinstance(parent[key], bool):
            self.error(f"{path}.{key}", "type", "must be true or false")

    def enum(self, parent: dict[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str | None:
        value = self.string(parent, key, path)
        if value is not None and value not in allowed:
            self.error(f"{path}.{key}", "enum", f"must be one of {', '.join(allowed)}")
        return value

    def uuid(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> None:
        value = self.string(parent, key, path, required=required)
        if value is not None and not is_uuid(value):
            self.error(f"{path}.{key}", "uuid", "must be a UUID")

    def url(self, parent: dict[str, Any], key: str, path: str) -> None:
        """The schema's non-standard ``format: url``: http(s) or mailto; empty only warns."""
        value = self.string(parent, key, path)
        if value == "":
            self.warn(f"{path}.{key}", "url", "is empty")
        elif value is not None and not is_web_url(value):
            self.error(f"{path}.{key}", "url", "must be an http(s) or mailto URL")

    def uri(self, parent: dict[str, Any], key: str, path: str) -> None:
        value = self.string(parent, key, path)
        if value is not None and not is_uri(value):
            self.error(f"{path}.{key}", "uri", "must be an absolute URI")

    def each(self, parent: dict[str, Any], key: str, path: str, one: Callable[[Any, str], None]) -> None:
        """Check every element of the array ``parent[key]`` (when present) with ``one``."""
        if key in parent:
            for item_path, item in self.items(parent[key], f"{path}.{key}"):
                one(item, item_path)
