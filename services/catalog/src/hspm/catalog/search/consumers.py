"""Licensing's offers keep the copy the license filter, facet and product views read."""

from __future__ import annotations

from hspm.catalog.search import service
from hspm.common.db import Conn
from hspm.common.events import licensing


async def on_license_offered(conn: Conn, event: licensing.LicenseOffered) -> None:
    await service.offer_license(
        conn,
        event.product_license_id,
        event.product_id,
        event.license_id,
        event.license_name,
        event.occurred_at,
    )


async def on_license_withdrawn(conn: Conn, event: licensing.LicenseWithdrawn) -> None:
    await service.withdraw_license(conn, event.product_license_id, event.product_id, event.license_id)
