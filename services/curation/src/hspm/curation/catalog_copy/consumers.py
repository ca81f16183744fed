"""Keeping the read copy of the catalog current: owners, publication, withdrawals (deletions: reviews)."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog
from hspm.curation.catalog_copy import service


async def on_product_owned(conn: Conn, event: catalog.ProductCreated | catalog.ProductUpdated) -> None:
    await service.set_owner(conn, event.product_id, event.owner_id)


async def on_product_published(conn: Conn, event: catalog.ProductPublished) -> None:
    await service.set_publication(
        conn, event.product_id, event.published_at, event.visible_at, event.occurred_at
    )


async def on_product_unpublished(conn: Conn, event: catalog.ProductUnpublished) -> None:
    await service.set_unpublished(conn, event.product_id, event.occurred_at)


async def on_build_withdrawn(conn: Conn, event: catalog.BuildWithdrawn) -> None:
    await service.set_withdrawn(conn, event.build_id, event.status, event.occurred_at)
