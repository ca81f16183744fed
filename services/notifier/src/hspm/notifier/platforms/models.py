"""Request bodies of platforms."""

from __future__ import annotations

from uuid import UUID

from hspm.common.models import Input, Name, Short

_RENDERED = frozenset({"path", "url", "created_at", "updated_at"})


class PlatformCreate(Input):
    READ_ONLY = _RENDERED
    id: UUID | None = None
    name: Name
    # Whose platform: the caller's unless staff with platforms.create name another user.
    user_id: UUID | None = None
    # The reference server's free-text field, kept as given; agents' credentials are the
    # platform's keys (/platforms/{id}/keys).
    public_key: Short | None = None


class PlatformUpdate(Input):
    READ_ONLY = _RENDERED | {"id", "user_id"}
    name: Name | None = None
    public_key: Short | None = None
