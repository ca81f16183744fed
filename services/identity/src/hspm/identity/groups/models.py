"""Request bodies of groups and memberships."""

from __future__ import annotations

from uuid import UUID

from hspm.common.models import Input, Name, Text


class GroupCreate(Input):
    id: UUID | None = None
    name: Name
    description: Text | None = None


class GroupUpdate(Input):
    READ_ONLY = frozenset({"id"})
    name: Name | None = None
    description: Text | None = None


class MemberCreate(Input):
    id: UUID | None = None
    user_id: UUID
    group_id: UUID | None = None


class MemberUpdate(Input):
    """Move a membership to another user; ``group_id`` may only repeat the path's group."""

    READ_ONLY = frozenset({"id"})
    user_id: UUID | None = None
    group_id: UUID | None = None
