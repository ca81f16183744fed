"""Keeping the read copies current from the catalog's, curation's and licensing's events.

Events that also tell platforms something (build publication, entitlements, recalls) are
the ``notices`` area's: the copy and the stream change in one transaction there.
"""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog, curation, licensing
from hspm.notifier.directory import service


async def on_product_owned(conn: Conn, event: catalog.ProductCreated | catalog.ProductUpdated) -> None:
    await service.put_product(conn, event.product_id, event.owner_id)


async def on_product_published(conn: Conn, event: catalog.ProductPublished) -> None:
    await service.list_product(conn, event.product_id, event.visible_at)


async def on_product_unpublished(conn: Conn, event: catalog.ProductUnpublished) -> None:
    await service.unlist_product(conn, event.product_id)


async def on_product_deleted(conn: Conn, event: catalog.ProductDeleted) -> None:
    await service.forget_product(conn, event.product_id)


async def on_relation_added(conn: Conn, event: catalog.ProductRelationAdded) -> None:
    await service.add_parent(conn, event.child_id, event.parent_id)


async def on_relation_removed(conn: Conn, event: catalog.ProductRelationRemoved) -> None:
    await service.remove_parent(conn, event.child_id, event.parent_id)


async def on_build_submitted(conn: Conn, event: catalog.BuildSubmitted) -> None:
    await service.put_build_image(
        conn, event.build_id, event.product_id, event.version, event.registry, event.repository, event.tag
    )


async def on_review_changed(conn: Conn, event: curation.BuildReviewChanged) -> None:
    # Approval pins the digest the validator judged; the catalog publishes exactly that.
    if event.image_digest:
        await service.pin_build_digest(conn, event.build_id, event.product_id, event.image_digest)


async def on_build_deleted(conn: Conn, event: catalog.BuildDeleted) -> None:
    await service.forget_build(conn, event.build_id)


async def on_license_offered(conn: Conn, event: licensing.LicenseOffered) -> None:
    await service.put_offer(conn, event.product_license_id, event.product_id)


async def on_license_withdrawn(conn: Conn, event: licensing.LicenseWithdrawn) -> None:
    await service.forget_offer(conn, event.product_license_id)
