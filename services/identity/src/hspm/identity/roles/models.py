"""Request bodies of roles and appointments."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from hspm.common.models import Input, Name, Text


class RoleCreate(Input):
    id: UUID | None = None
    name: Name
    description: Text | None = None
    default: bool = False
    permissions: dict[str, Any] = Field(default_factory=dict)


class RoleUpdate(Input):
    READ_ONLY = frozenset({"id", "builtin"})
    name: Name | None = None
    description: Text | None = None
    default: bool | None = None
    permissions: dict[str, Any] | None = None


class AppointmentCreate(Input):
    id: UUID | None = None
    entity_id: UUID
    entity_type: Literal["User", "Group"]
    role_id: UUID | None = None


class AppointmentUpdate(Input):
    """Move an appointment to another user or group; ``role_id`` may only repeat the path's."""

    READ_ONLY = frozenset({"id"})
    entity_id: UUID | None = None
    entity_type: Literal["User", "Group"] | None = None
    role_id: UUID | None = None
