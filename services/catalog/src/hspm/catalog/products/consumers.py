"""Events about products' owners."""

from __future__ import annotations

from hspm.catalog.products import service
from hspm.common.db import Conn
from hspm.common.events import identity


async def on_user_deleted(conn: Conn, event: identity.UserDeleted) -> None:
    """The spec cascades a user's deletion to the products they own."""
    await service.delete_products_of(conn, event.user_id)
