"""Rules of products, publication, sub-products, badges and awards.

Who may see and change a product is decided here, for every catalog area: anonymous
callers and customers see a product once it is listed (published and visible, with
``published_at`` and ``visible_at`` set and not in the future); its owner and holders of
``products.read`` also see drafts and embargoed products. A product that may not be seen
answers 404, the same as a missing one, so ids cannot be probed; nor can a create body's
``id`` probe them (``_chosen_id``). Changing a product (or what hangs under it: builds,
media) takes its owner or the permission for that change; an embargo is staff's (``rules``).

Every function runs inside the caller's transaction; events go to the outbox in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog

from hspm.catalog.events import emit
from hspm.catalog.products import models, rules, store
from hspm.catalog.stamped import Clock, Stamp
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Forbidden, NotFound, ValidationFailed
from hspm.common.events import catalog as ev
from hspm.common.paging import PageParams

log = structlog.get_logger(__name__)
Record = asyncpg.Record
Page = tuple[list[Record], int]

# Which field a unique constraint violation is about, for the 422 body.
_UNIQUE_FIELDS = {
    "products_pkey": "id",
    "products_name_key": "name",
    "badges_pkey": "id",
    "badges_name_key": "name",
    "sub_products_pkey": "id",
    "sub_products_parent_id_child_id_key": "child_id",
    "badge_awards_badge_id_product_id_key": "badge_id",
}


def _taken(exc: asyncpg.UniqueViolationError) -> ValidationFailed:
    return ValidationFailed.field(
        _UNIQUE_FIELDS.get(exc.constraint_name or "", "id"), "has already been taken"
    )


def _chosen_id(p: Principal, chosen: UUID | None) -> UUID:
    """An id named in a create body is honoured only for those who see every product.

    Anyone else could read "id has already been taken" as "a product (or link) you may not
    see has this id"; so any id they name gets the same 422, free or taken.
    """
    if chosen is not None and not sees_drafts(p):
        raise ValidationFailed.field("id", "is assigned by the server")
    return chosen or uuid4()


def _not_blank(fields: dict[str, Any], *names: str) -> None:
    """An update may omit a required field but not null it."""
    blank = [n for n in names if n in fields and fields[n] is None]
    if blank:
        raise ValidationFailed(dict.fromkeys(blank, ["can't be blank"]))


# --- who may see and change a product -------------------------------------------------


def sees_drafts(p: Principal) -> bool:
    """Holders of ``products.read`` see every product, listed or not."""
    return p.can("products", "read")


def may_see(product: Record | Mapping[str, Any], p: Principal) -> bool:
    """A listed product is public; a draft or embargoed one only to its owner and product readers."""
    return bool(product["listed"]) or p.owns(product["user_id"]) or sees_drafts(p)


def _seen(row: Record | None, p: Principal) -> Record:
    """``row`` (with ``listed`` and ``user_id``) if this caller may see it; otherwise 404."""
    if row is None or not may_see(row, p):
        raise NotFound("Product not found.")
    return row


async def visible_product(conn: Conn, p: Principal, product_id: UUID, lock: bool = False) -> Record:
    """The product (id, owner, name, ``listed``) if this caller may see it; otherwise 404.

    ``lock`` takes its row lock, so changes under one product serialize.
    """
    return _seen(await store.product_access(conn, product_id, lock), p)


async def product_for_change(conn: Conn, p: Principal, product_id: UUID, resource: str, verb: str) -> Record:
    """The product, locked, if the caller may change ``resource`` under it (owner or permission).

    An unseen product is 404 before any 403: its existence is not given away.
    """
    row = await visible_product(conn, p, product_id, lock=True)
    p.require_or_owner(resource, verb, row["user_id"])
    return row


# --- products ------------------------------------------------------------------------


async def create_product(conn: Conn, p: Principal, body: models.ProductCreate) -> Record:
    """Owned by the caller, or by ``user_id`` when a product manager names one."""
    p.require("products", "create")
    owner = body.user_id or p.user_id
    if body.user_id is not None and not p.owns(body.user_id) and not p.can("products", "update"):
        raise Forbidden("Only product managers may create products for another user.")
    if owner is None:
        raise ValidationFailed.field("user_id", "can't be blank")
    fields = body.model_dump(exclude={"id", "user_id"}, exclude_none=True)
    fields.update(id=_chosen_id(p, body.id), user_id=owner)
    fields.setdefault("description", "")
    try:
        row = await store.insert_product(conn, fields)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    await emit(conn, ev.ProductCreated(product_id=row["id"], owner_id=owner, name=row["name"]))
    return row


async def stamped_product(conn: Conn, product_id: UUID) -> tuple[Record, Stamp]:
    """The product (whoever asks) with the stamp it was read under; 404 if there is none."""
    row = await store.get_product_stamped(conn, product_id)
    if row is None:
        raise NotFound("Product not found.")
    return row, Stamp(row["generation"], row["next_change"])


async def clock(conn: Conn) -> Clock:
    """The catalog's generation and the database's clock: what kept answers are checked against."""
    return await store.clock(conn)


async def update_product(conn: Conn, p: Principal, product_id: UUID, body: models.ProductUpdate) -> Record:
    """The owner edits; giving the product to someone else is a product manager's act."""
    before = await product_for_change(conn, p, product_id, "products", "update")
    fields = body.model_dump(exclude_unset=True)
    _not_blank(fields, "name", "user_id")
    if fields.get("description", "") is None:
        fields["description"] = ""
    if fields.get("user_id", before["user_id"]) != before["user_id"]:
        p.require("products", "update")
    if "visible_at" in fields:
        rules.check_visibility_change(p, before, fields["visible_at"])
    try:
        row = await store.update_product(conn, product_id, fields)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    assert row is not None
    await emit(conn, ev.ProductUpdated(product_id=product_id, owner_id=row["user_id"], name=row["name"]))
    return row


async def delete_product(conn: Conn, p: Principal, product_id: UUID) -> Record:
    await product_for_change(conn, p, product_id, "products", "delete")
    row = await store.delete_product(conn, product_id)
    assert row is not None
    await emit(conn, ev.ProductDeleted(product_id=product_id, owner_id=row["user_id"]))
    return row


async def delete_products_of(conn: Conn, user_id: UUID) -> int:
    """The spec's cascade from a deleted user to the products they own."""
    rows = await store.delete_products_of(conn, user_id)
    for row in rows:
        await emit(conn, ev.ProductDeleted(product_id=row["id"], owner_id=user_id))
    return len(rows)


async def publish_product(conn: Conn, p: Principal, product_id: UUID, body: models.Publication) -> Record:
    """Approve it; listed from ``visible_at`` on (a future one is an embargo)."""
    await visible_product(conn, p, product_id)
    p.require("products", "publish")
    replace = "visible_at" in body.model_fields_set
    row = await store.publish(conn, product_id, replace, body.visible_at)
    assert row is not None
    await emit(
        conn,
        ev.ProductPublished(
            product_id=product_id, published_at=row["published_at"], visible_at=row["visible_at"]
        ),
    )
    return row


async def unpublish_product(conn: Conn, p: Principal, product_id: UUID) -> Record:
    """Back to draft: only its owner and product readers see it."""
    await visible_product(conn, p, product_id)
    p.require("products", "publish")
    row = await store.unpublish(conn, product_id)
    assert row is not None
    await emit(conn, ev.ProductUnpublished(product_id=product_id))
    return row


async def related_products(
    conn: Conn, p: Principal, product_id: UUID, children: bool, transitive: bool, page: PageParams
) -> Page:
    """Children or parents the caller may see, of a product the caller may see."""
    await visible_product(conn, p, product_id)
    return await store.related_products(
        conn, product_id, children, transitive, p.user_id, sees_drafts(p), page
    )


# --- sub-products --------------------------------------------------------------------


async def _end(conn: Conn, p: Principal, product_id: UUID, field: str) -> Record:
    """A product named in a body: unknown and unreadable are both "does not exist"."""
    try:
        return await visible_product(conn, p, product_id)
    except NotFound as exc:
        raise ValidationFailed.field(field, "does not exist") from exc


def _require_link_right(p: Principal, verb: str, parent: Record, child: Record) -> None:
    """The permission, or owning both ends: linking into someone else's product is not an owner's right."""
    owner_of_both = p.may_as_owner("sub_products", verb, parent["user_id"]) and p.may_as_owner(
        "sub_products", verb, child["user_id"]
    )
    if not owner_of_both:
        p.require("sub_products", verb)


async def list_sub_products(
    conn: Conn, p: Principal, parent_id: UUID | None, child_id: UUID | None, page: PageParams
) -> Page:
    return await store.list_sub_products(conn, p.user_id, sees_drafts(p), parent_id, child_id, page)


async def _visible_link(conn: Conn, p: Principal, sub_id: UUID) -> tuple[Record, Record, Record]:
    row = await store.get_sub_product(conn, sub_id)
    if row is None:
        raise NotFound("Sub-product not found.")
    try:
        parent = await visible_product(conn, p, row["parent_id"])
        child = await visible_product(conn, p, row["child_id"])
    except NotFound as exc:
        raise NotFound("Sub-product not found.") from exc
    return row, parent, child


async def get_sub_product(conn: Conn, p: Principal, sub_id: UUID) -> Record:
    row, _, _ = await _visible_link(conn, p, sub_id)
    return row


async def create_sub_product(conn: Conn, p: Principal, body: models.SubProductCreate) -> Record:
    if body.parent_id == body.child_id:
        raise ValidationFailed.field("child_id", "can't be the same product as parent_id")
    parent = await _end(conn, p, body.parent_id, "parent_id")
    child = await _end(conn, p, body.child_id, "child_id")
    _require_link_right(p, "create", parent, child)
    fields = {"id": _chosen_id(p, body.id), "parent_id": body.parent_id, "child_id": body.child_id}
    try:
        row = await store.insert_sub_product(conn, fields)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    await emit(conn, ev.ProductRelationAdded(parent_id=body.parent_id, child_id=body.child_id))
    return row


async def update_sub_product(conn: Conn, p: Principal, sub_id: UUID, body: models.SubProductUpdate) -> Record:
    """Moving a link is removing it and making another: both rights, both events."""
    row, parent, child = await _visible_link(conn, p, sub_id)
    _require_link_right(p, "delete", parent, child)
    parent_id = body.parent_id or row["parent_id"]
    child_id = body.child_id or row["child_id"]
    if (parent_id, child_id) == (row["parent_id"], row["child_id"]):
        return row
    if parent_id == child_id:
        raise ValidationFailed.field("child_id", "can't be the same product as parent_id")
    new_parent = await _end(conn, p, parent_id, "parent_id")
    new_child = await _end(conn, p, child_id, "child_id")
    _require_link_right(p, "create", new_parent, new_child)
    try:
        moved = await store.update_sub_product(conn, sub_id, {"parent_id": parent_id, "child_id": child_id})
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    assert moved is not None
    await emit(conn, ev.ProductRelationRemoved(parent_id=row["parent_id"], child_id=row["child_id"]))
    await emit(conn, ev.ProductRelationAdded(parent_id=parent_id, child_id=child_id))
    return moved


async def delete_sub_product(conn: Conn, p: Principal, sub_id: UUID) -> Record:
    row, parent, child = await _visible_link(conn, p, sub_id)
    _require_link_right(p, "delete", parent, child)
    await store.delete_sub_product(conn, sub_id)
    await emit(conn, ev.ProductRelationRemoved(parent_id=row["parent_id"], child_id=row["child_id"]))
    return row


# --- badges --------------------------------------------------------------------------


async def list_badges(conn: Conn, page: PageParams) -> Page:
    """Badges are public: they tell everyone who endorses what."""
    return await store.list_badges(conn, page)


async def get_badge(conn: Conn, badge_id: UUID) -> Record:
    row = await store.get_badge(conn, badge_id)
    if row is None:
        raise NotFound("Badge not found.")
    return row


async def create_badge(conn: Conn, p: Principal, body: models.BadgeCreate) -> Record:
    p.require("badges", "create")
    fields = body.model_dump(exclude={"id"}) | {"id": body.id or uuid4()}
    try:
        return await store.insert_badge(conn, fields)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc


async def update_badge(conn: Conn, p: Principal, badge_id: UUID, body: models.BadgeUpdate) -> Record:
    p.require("badges", "update")
    fields = body.model_dump(exclude_unset=True)
    _not_blank(fields, "name", "description")
    try:
        row = await store.update_badge(conn, badge_id, fields)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    if row is None:
        raise NotFound("Badge not found.")
    return row


async def delete_badge(conn: Conn, p: Principal, badge_id: UUID) -> None:
    """Its awards go with it."""
    p.require("badges", "delete")
    if await store.delete_badge(conn, badge_id) is None:
        raise NotFound("Badge not found.")


async def list_awards(conn: Conn, p: Principal, product_id: UUID, page: PageParams) -> Page:
    await visible_product(conn, p, product_id)
    return await store.list_awards(conn, product_id, page)


async def award_badge(conn: Conn, p: Principal, product_id: UUID, body: models.BadgeAward) -> Record:
    await visible_product(conn, p, product_id)
    p.require("badges", "award")
    if await store.get_badge(conn, body.badge_id) is None:
        raise ValidationFailed.field("badge_id", "does not exist")
    fields = {
        "id": uuid4(),
        "badge_id": body.badge_id,
        "product_id": product_id,
        "awarded_by": p.user_id,
        "reason": body.reason,
    }
    try:
        await store.insert_award(conn, fields)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from exc
    except asyncpg.ForeignKeyViolationError as exc:  # the badge went away meanwhile
        raise ValidationFailed.field("badge_id", "does not exist") from exc
    row = await store.get_award(conn, product_id, body.badge_id)
    assert row is not None
    return row


async def revoke_badge(conn: Conn, p: Principal, product_id: UUID, badge_id: UUID) -> None:
    await visible_product(conn, p, product_id)
    p.require("badges", "award")
    if not await store.delete_award(conn, product_id, badge_id):
        raise NotFound("This badge was not awarded to this product.")


async def award_with_approval(
    conn: Conn, product_id: UUID, badge_ids: Sequence[UUID], reason: str | None
) -> None:
    """The badges curation awarded with a build's approval; an award already there is kept.

    Curation is trusted here (its decision arrives as an event, not a request), so no
    permission is checked; a badge deleted meanwhile is logged and skipped.
    """
    for badge_id in badge_ids:
        if await store.get_badge(conn, badge_id) is None:
            log.warning("build.badge_unknown", badge_id=str(badge_id), product_id=str(product_id))
            continue
        if await store.get_award(conn, product_id, badge_id) is not None:
            continue
        fields = {"id": uuid4(), "badge_id": badge_id, "product_id": product_id, "reason": reason}
        await store.insert_award(conn, fields)
