"""The read copies other areas ask, and the one rule built on them: may a user deploy a build.

Kept current by the catalog's, curation's and licensing's events (``consumers.py``); the
notifier never calls those services, so creating an instance is one database away.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from hspm.common.db import Conn
from hspm.common.errors import Forbidden, ValidationFailed
from hspm.notifier.directory import store
from hspm.notifier.directory.store import Record

__all__ = ["Record"]

# Build states the catalog announces as withdrawn keep their reason as the status.
PUBLISHED = "published"


# --- kept current by events ----------------------------------------------------------------


async def put_product(conn: Conn, product_id: UUID, owner_id: UUID) -> None:
    await store.put_product(conn, product_id, owner_id)


async def list_product(conn: Conn, product_id: UUID, visible_at: datetime | None) -> None:
    await store.set_product_listing(conn, product_id, True, visible_at)


async def unlist_product(conn: Conn, product_id: UUID) -> None:
    await store.set_product_listing(conn, product_id, False, None)


async def forget_product(conn: Conn, product_id: UUID) -> None:
    await store.delete_product(conn, product_id)


async def add_parent(conn: Conn, child_id: UUID, parent_id: UUID) -> None:
    await store.add_parent(conn, child_id, parent_id)


async def remove_parent(conn: Conn, child_id: UUID, parent_id: UUID) -> None:
    await store.remove_parent(conn, child_id, parent_id)


async def put_build_image(
    conn: Conn,
    build_id: UUID,
    product_id: UUID,
    version: str,
    registry: str | None,
    repository: str | None,
    tag: str | None,
) -> None:
    await store.put_build_image(conn, build_id, product_id, version, registry, repository, tag)


async def pin_build_digest(conn: Conn, build_id: UUID, product_id: UUID, digest: str) -> None:
    await store.put_build_digest(conn, build_id, product_id, digest)


async def set_build_published(conn: Conn, build_id: UUID, product_id: UUID, status: str) -> None:
    await store.set_build_published(conn, build_id, product_id, status == PUBLISHED, status)


async def forget_build(conn: Conn, build_id: UUID) -> None:
    await store.delete_build(conn, build_id)


async def put_offer(conn: Conn, product_license_id: UUID, product_id: UUID) -> None:
    await store.put_offer(conn, product_license_id, product_id)


async def forget_offer(conn: Conn, product_license_id: UUID) -> None:
    await store.delete_offer(conn, product_license_id)


async def put_entitlement(
    conn: Conn,
    entitlement_id: UUID,
    user_id: UUID,
    product_id: UUID,
    valid_from: datetime,
    valid_until: datetime | None,
) -> None:
    await store.put_entitlement(conn, entitlement_id, user_id, product_id, valid_from, valid_until)


async def end_entitlement(conn: Conn, entitlement_id: UUID, user_id: UUID, product_id: UUID) -> None:
    await store.end_entitlement(conn, entitlement_id, user_id, product_id)


# --- read by the other areas ---------------------------------------------------------------


def image_reference(build: Record) -> str | None:
    """``registry/repository@sha256:...``: the approved bytes, never a movable tag."""
    registry, repository = build["registry"], build["repository"]
    if not build["image_digest"] or not repository:
        return None
    # As the catalog renders it: a repository already naming its registry is not prefixed twice.
    name = (
        f"{registry}/{repository}" if registry and not repository.startswith(f"{registry}/") else repository
    )
    return f"{name}@{build['image_digest']}"


async def build(conn: Conn, build_id: UUID) -> Record | None:
    return await store.get_build(conn, build_id)


async def family(conn: Conn, product_id: UUID) -> list[UUID]:
    """The product and all its transitive parents (cycle-safe): a license to any covers it."""
    return await store.family(conn, product_id)


async def entitled(conn: Conn, user_id: UUID, product_id: UUID) -> bool:
    """May ``user_id`` run the product as far as licenses go: nothing in its family is
    offered under a license, or the user holds a valid entitlement to one of the family.

    The family decides both halves, as licensing's runtime check does: a sub-product
    sold only through its parent's license is as licensed as the parent, and a running
    build would be refused by that check anyway without one.
    """
    products = await store.family(conn, product_id)
    if not await store.offers_licenses(conn, products):
        return True
    return await store.holds_entitlement(conn, user_id, products)


async def deployable_build(conn: Conn, user_id: UUID, build_id: UUID) -> Record:
    """The build, if ``user_id`` may deploy it: published with an approved digest, its
    product listed, and (when the product or a parent is offered under licenses) an
    entitlement held to one of them (``entitled``)."""
    row = await store.get_build(conn, build_id)
    if row is None or not row["published"]:
        raise ValidationFailed.field("build_id", "is not a published build")
    if image_reference(row) is None:
        raise ValidationFailed.field("build_id", "has no approved image digest yet")
    if not await store.product_listed(conn, row["product_id"]):
        raise ValidationFailed.field("build_id", "belongs to a product that is not listed")
    if not await entitled(conn, user_id, row["product_id"]):
        raise Forbidden("The platform's owner holds no valid entitlement to this product or a parent.")
    return row
