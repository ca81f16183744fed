"""Request bodies of instances (REST) and of an agent's status report (REST or socket)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from hspm.common.models import MAX_JSON_DEPTH, Input, UtcDatetime, json_depth

NUL = "\x00"


def _storable(value: str) -> str:
    # PostgreSQL text holds no U+0000; a socket's reports are checked here, not by a request.
    if NUL in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


DesiredState = Literal["running", "stopped"]
ReportedState = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_storable)
]
ErrorText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_storable)]
MAX_BINDINGS_BYTES = 16_384

_RENDERED = frozenset({"path", "url", "created_at", "updated_at", "image", "product_id", "reported_at"})


def _small(value: dict[str, Any]) -> dict[str, Any]:
    # A JSON document the agent sets, stored and pushed back: bounded like a frame, and
    # nested no deeper than a request body (a socket's frames do not pass read_json).
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"must nest at most {MAX_JSON_DEPTH} levels of arrays and objects")
    if len(repr(value)) > MAX_BINDINGS_BYTES:
        raise ValueError(f"must be at most {MAX_BINDINGS_BYTES} bytes")
    pending: list[Any] = [value]
    while pending:
        node = pending.pop()
        items = [*node, *node.values()] if isinstance(node, dict) else node
        if any(isinstance(item, str) and NUL in item for item in items):
            raise ValueError("must not contain the NUL character (U+0000)")
        pending.extend(item for item in items if isinstance(item, dict | list))
    return value


class InstanceCreate(Input):
    READ_ONLY = _RENDERED
    id: UUID | None = None
    build_id: UUID
    platform_id: UUID | None = None
    desired_state: DesiredState = "running"
    launch_bindings: dict[str, Any] = {}

    _bindings = field_validator("launch_bindings")(_small)


class StatusReport(Input):
    """What an agent reports: the spec's ``launch_bindings`` and ``deployed_at``, and more."""

    reported_state: ReportedState | None = None
    launch_bindings: dict[str, Any] | None = None
    deployed_at: UtcDatetime | None = None
    errors: Annotated[list[ErrorText], Field(max_length=50)] | None = None

    @field_validator("launch_bindings")
    @classmethod
    def _bindings(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _small(value)


class InstanceUpdate(StatusReport):
    READ_ONLY = _RENDERED | {"id", "platform_id"}
    build_id: UUID | None = None
    desired_state: DesiredState | None = None
