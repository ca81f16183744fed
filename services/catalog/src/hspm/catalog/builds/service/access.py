"""Finding a build for a caller: who sees unpublished builds, who may change one, and when.

A build is seen through its product (``products.service.visible_product``): published
builds by everyone who sees the product, drafts and unpublished ones only by the
product's owner and ``builds.read`` holders. Changing a build takes its owner or a
``builds.<verb>`` holder, and its packaging may change only while it is a draft or sent
back by curation (``rules.EDITABLE``; 409 otherwise).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from hspm.catalog.builds import rules, store
from hspm.catalog.products import service as products
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound

Record = asyncpg.Record


def sees_draft_builds(p: Principal, owner_id: UUID) -> bool:
    """Owners and ``builds.read`` holders see drafts and unpublished builds."""
    return p.owns(owner_id) or p.can("builds", "read")


async def readable_build(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """The build if its product is visible and it is published (or the caller sees drafts)."""
    product = await products.visible_product(conn, p, product_id)
    build = await store.get_build(conn, build_id)
    if build is None or build["product_id"] != product_id:
        raise NotFound("Build not found.")
    if build["published_at"] is None and not sees_draft_builds(p, product["user_id"]):
        raise NotFound("Build not found.")
    return build


async def changeable_build(
    conn: Conn, p: Principal, product_id: UUID, build_id: UUID, verb: str = "update", editable: bool = True
) -> Record:
    """The build locked for a change by its owner or a ``builds.<verb>`` holder.

    ``editable``: packaging may only change while the build is a draft or sent back (409).
    """
    await readable_build(conn, p, product_id, build_id)
    await products.product_for_change(conn, p, product_id, "builds", verb)
    build = await store.get_build(conn, build_id, lock=True)
    if build is None:
        raise NotFound("Build not found.")
    if editable and build["status"] not in rules.EDITABLE:
        editable_states = ", ".join(sorted(rules.EDITABLE))
        raise Conflict(f"The build is {build['status']}; only builds that are {editable_states} can change.")
    return build
