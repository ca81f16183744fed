"""Events the identity service publishes."""

from __future__ import annotations

from uuid import UUID

from hspm.common.events.base import Event


class UserCreated(Event):
    TYPE = "identity.user.created"
    user_id: UUID
    name: str


class UserUpdated(Event):
    TYPE = "identity.user.updated"
    user_id: UUID
    name: str


class UserDeleted(Event):
    TYPE = "identity.user.deleted"
    user_id: UUID


class GroupDeleted(Event):
    TYPE = "identity.group.deleted"
    group_id: UUID


class MembershipChanged(Event):
    """A user joined or left a group; licensing counts group claims by membership."""

    TYPE = "identity.membership.changed"
    group_id: UUID
    user_id: UUID
    member: bool


class SessionRevoked(Event):
    """A session or API token must stop working now, on every gateway replica."""

    TYPE = "identity.session.revoked"
    session_id: UUID
    user_id: UUID


class AccessChanged(Event):
    """Effective permissions changed; ``user_ids`` empty means any user may be affected."""

    TYPE = "identity.access.changed"
    user_ids: list[UUID] = []
