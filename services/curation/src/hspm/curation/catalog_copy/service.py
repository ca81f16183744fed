"""The read copy of the catalog's products and builds: the only way in for other areas.

The catalog's events keep the copy current; curation reads it to authorize (who owns a
product, whether it is listed) and to request validation runs without calling the catalog.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from hspm.common.db import Conn
from hspm.common.events import catalog
from hspm.common.events.curation import ImageTarget
from hspm.curation.catalog_copy import store

Record = asyncpg.Record


# --- kept current by the catalog's events ---------------------------------------------------


async def set_owner(conn: Conn, product_id: UUID, owner_id: UUID) -> None:
    """Created or updated: the owner may have changed (a product manager can hand it over)."""
    await store.set_owner(conn, product_id, owner_id)


async def set_publication(
    conn: Conn, product_id: UUID, published_at: datetime | None, visible_at: datetime | None, at: datetime
) -> None:
    """A (re)publication; an older one arriving late does not overwrite a newer one."""
    await store.set_publication(conn, product_id, published_at, visible_at, at)


async def set_unpublished(conn: Conn, product_id: UUID, at: datetime) -> None:
    await store.set_unpublished(conn, product_id, at)


async def delete_product(conn: Conn, product_id: UUID) -> list[UUID]:
    """Tombstone the product and its builds (nothing is erased); the builds tombstoned now."""
    return await store.delete_product(conn, product_id)


async def set_withdrawn(conn: Conn, build_id: UUID, status: str, at: datetime) -> None:
    """The catalog took it off offer (following curation's decision): only the copy changes."""
    await store.set_withdrawn(conn, build_id, status, at)


async def delete_build(conn: Conn, build_id: UUID) -> bool:
    """Tombstone the build: hidden from its owner and customers, kept for staff and auditors."""
    return await store.delete_build(conn, build_id)


async def record_submission(conn: Conn, event: catalog.BuildSubmitted) -> Record:
    """The build as submitted (again), with its product's owner; returns the copy's build."""
    return await _record(conn, event, "submitted")


async def record_draft(conn: Conn, event: catalog.BuildDraftChanged) -> Record:
    """The packaging of a build still being edited: what the owner's dry run validates."""
    return await _record(conn, event, "draft")


async def _record(conn: Conn, event: catalog.BuildSubmitted, status: str) -> Record:
    image = ImageTarget(
        registry=event.registry, repository=event.repository, tag=event.tag, digest=event.digest
    )
    await store.set_owner(conn, event.product_id, event.owner_id)
    await store.save_submission(
        conn,
        event.build_id,
        event.product_id,
        event.version,
        image.model_dump(mode="json"),
        event.model_dump(mode="json"),
        status,
    )
    build = await store.get_build(conn, event.build_id)
    assert build is not None
    return build


async def set_published(conn: Conn, build_id: UUID, published_at: datetime) -> None:
    await store.set_published(conn, build_id, published_at)


# --- read by the other areas --------------------------------------------------------------


async def product_exists(conn: Conn, product_id: UUID) -> bool:
    return await store.product_exists(conn, product_id)


async def get_build(conn: Conn, build_id: UUID, lock: bool = False) -> Record | None:
    """The build with its product's owner and whether the product is listed (deleted ones too:
    ``deleted_at`` says so)."""
    return await store.get_build(conn, build_id, lock)
