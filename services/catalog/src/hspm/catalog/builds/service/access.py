"""Finding a build for a caller: who sees unpublished builds, who may change one, and when.

A build is seen through its product (``products.service.visible_product``): builds on
the market (published, and not withdrawn or recalled) by everyone who sees the product;
withdrawn and recalled ones also by auditors (``reviews.read`` or ``recalls.read``), with
their state; drafts and unpublished ones only by the product's owner and ``builds.read``
holders, who see everything. Changing a build takes its owner or a
``builds.<verb>`` holder, and its packaging may change only while it is a draft or sent
back by curation (``rules.EDITABLE``; 409 otherwise).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import asyncpg

from hspm.catalog.builds import rules, store
from hspm.catalog.products import service as products
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound

Record = asyncpg.Record
# Which builds of a visible product a caller sees: every one, every one ever published
# (off the market too), or only those on the market.
Visibility = Literal["all", "published", "offered"]


def sees_draft_builds(p: Principal, owner_id: UUID) -> bool:
    """Owners and ``builds.read`` holders see drafts and unpublished builds."""
    return p.owns(owner_id) or p.can("builds", "read")


def build_visibility(p: Principal, owner_id: UUID) -> Visibility:
    """What the caller sees of a product's builds (see the module's docstring)."""
    if sees_draft_builds(p, owner_id):
        return "all"
    if p.can("reviews", "read") or p.can("recalls", "read"):
        return "published"
    return "offered"


def visible_build(build: Record, visibility: Visibility) -> bool:
    """Is ``build`` among those ``visibility`` shows?"""
    if visibility == "all":
        return True
    if build["published_at"] is None:
        return False
    return visibility == "published" or build["status"] not in rules.OFF_MARKET


async def readable_build(conn: Conn, p: Principal, product_id: UUID, build_id: UUID) -> Record:
    """The build if its product is visible and the caller sees it: on the market, or
    retired (auditors), or any (the owner and ``builds.read``); else 404."""
    product = await products.visible_product(conn, p, product_id)
    build = await store.get_build(conn, build_id)
    if build is None or build["product_id"] != product_id:
        raise NotFound("Build not found.")
    if not visible_build(build, build_visibility(p, product["user_id"])):
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
