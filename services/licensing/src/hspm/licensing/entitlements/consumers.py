"""Identity's deletions reach entitlements and claims."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import identity
from hspm.licensing.entitlements import service


async def on_user_deleted(conn: Conn, event: identity.UserDeleted) -> None:
    await service.forget_user(conn, event.user_id)


async def on_group_deleted(conn: Conn, event: identity.GroupDeleted) -> None:
    await service.forget_group(conn, event.group_id)
