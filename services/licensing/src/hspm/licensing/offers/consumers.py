"""The catalog's product deletions, applied to the product's offers."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog
from hspm.licensing.offers import service


async def on_product_deleted(conn: Conn, event: catalog.ProductDeleted) -> None:
    await service.product_deleted(conn, event.product_id)
