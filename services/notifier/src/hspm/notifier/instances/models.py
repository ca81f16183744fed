"""Request bodies of instances (REST) and of an agent's status report (REST or socket)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from hspm.common.models import Input, UtcDatetime

DesiredState = Literal["running", "stopped"]
ReportedState = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
ErrorText = Annotated[str, StringConstraints(max_length=2000)]
MAX_BINDINGS_BYTES = 16_384

_RENDERED = frozenset({"path", "url", "created_at", "updated_at", "image", "product_id", "reported_at"})


def _small(value: dict[str, Any]) -> dict[str, Any]:
    # A JSON document the agent sets, stored and pushed back: bounded like a frame.
    if len(repr(value)) > MAX_BINDINGS_BYTES:
        raise ValueError(f"must be at most {MAX_BINDINGS_BYTES} bytes")
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
