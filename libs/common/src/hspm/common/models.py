"""Building blocks of request bodies every service uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
Short = Annotated[str, StringConstraints(max_length=500)]
# Deeper than any document the API defines, and far inside what a service can store and
# render again: orjson writes at most 255 levels, and views and events wrap a document.
MAX_JSON_DEPTH = 64


def json_depth(value: Any) -> int:
    """How many levels of arrays and objects ``value`` nests (0 for a scalar), without recursion."""
    deepest = 0
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http or https URL")
    return value


def _utc(value: datetime) -> datetime:
    # The spec: a datetime without a zone is UTC; any zone is accepted and normalised.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


HttpUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_http_url)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class Input(BaseModel):
    """Unknown fields are refused so a typo is an error, not a silent no-op.

    ``READ_ONLY`` names fields of the rendered resource that clients echo back on
    update (the reference UI sends whole objects); they are dropped, not refused.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    READ_ONLY: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.READ_ONLY:
            return {k: v for k, v in data.items() if k not in cls.READ_ONLY}
        return data
