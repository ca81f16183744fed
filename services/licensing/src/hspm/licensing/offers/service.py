"""Rules of product licenses: which licenses a product is offered under, and by whom.

Anyone may read a product's offers, as a customer does before acquiring. Staff
(``product_licenses.*``) or the product's owner (owner rights, narrowed by a scoped
token) create, change and withdraw them. The catalog keeps its copy of the offers from
``LicenseOffered`` / ``LicenseWithdrawn``, emitted here in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound, ValidationFailed
from hspm.common.events.licensing import LicenseOffered, LicenseWithdrawn
from hspm.common.paging import PageParams
from hspm.licensing.directory import service as directory
from hspm.licensing.events import emit
from hspm.licensing.offers import models, store

Record = asyncpg.Record
SORTS = ("created_at", "updated_at", "license_name", "external_id")
TWICE = "Product cannot be associated with the same license twice."
HELD = "The product license has entitlements; ask the marketplace operator to withdraw it."


# --- for the other areas -------------------------------------------------------------------


async def get_offer(conn: Conn, product_license_id: UUID) -> Record | None:
    """The offer with its license's terms and its product's owner; no permission check.

    Columns: id, product_id, license_id, external_id, created_at, updated_at,
    license_name, license_url, expiry, expires_at, days_valid, uses, owner_id (NULL when
    the product is unknown to the read copy). Callers decide who may see it.
    """
    return await store.get_offer(conn, product_license_id)


async def count_offers_of_license(conn: Conn, license_id: UUID) -> int:
    return await store.count_offers_of_license(conn, license_id)


async def license_renamed(conn: Conn, license_id: UUID, name: str) -> None:
    """Announce every offer of the license again, under its new name."""
    for row in await store.offers_of_license(conn, license_id):
        await emit(conn, _offered(row, name))


async def product_deleted(conn: Conn, product_id: UUID) -> None:
    """The catalog deleted the product: its offers go (entitlements and vouchers cascade).

    The read copy goes first: its row lock waits for an offer being created under the
    product, whose commit the deletion of offers below then sees.
    """
    await directory.forget_product(conn, product_id)
    for row in await store.delete_offers_of_product(conn, product_id):
        await emit(conn, _withdrawn(row))


# --- the routes ------------------------------------------------------------------------------


async def list_offers(conn: Conn, product_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    """Public: what a product is offered under. An unknown product is 404."""
    if await directory.product(conn, product_id) is None:
        raise NotFound("Product not found.")
    return await store.list_offers(conn, product_id, page)


async def show_offer(conn: Conn, product_id: UUID, offer_id: UUID) -> Record:
    """Public; an offer of another product is as unknown as a missing one."""
    row = await store.get_offer(conn, offer_id)
    if row is None or row["product_id"] != product_id:
        raise NotFound("Product license not found.")
    return row


async def create_offer(conn: Conn, p: Principal, product_id: UUID, body: models.OfferCreate) -> Record:
    product = await store.owner_for_offer(conn, product_id)
    if product is None:
        raise NotFound("Product not found.")
    p.require_or_owner("product_licenses", "create", product["owner_id"])
    if body.product_id is not None and body.product_id != product_id:
        raise ValidationFailed.field("product_id", "must be the product in the path")
    offer_id = body.id or uuid4()
    fields = {
        "id": offer_id,
        "product_id": product_id,
        "license_id": body.license_id,
        "external_id": body.external_id,
    }
    with _integrity():
        await store.insert_offer(conn, fields)
    row = await store.get_offer(conn, offer_id)
    assert row is not None
    await emit(conn, _offered(row, row["license_name"]))
    return row


async def update_offer(
    conn: Conn, p: Principal, product_id: UUID, offer_id: UUID, body: models.OfferUpdate
) -> Record:
    """Only ``external_id`` changes: another license is another offer (withdraw, offer)."""
    row = await show_offer(conn, product_id, offer_id)
    p.require_or_owner("product_licenses", "update", row["owner_id"])
    for name in ("product_id", "license_id"):
        given = getattr(body, name)
        if given is not None and given != row[name]:
            raise ValidationFailed.field(name, "can't be changed; withdraw this offer and create another")
    if "external_id" not in body.model_fields_set:
        return row
    if await store.update_offer(conn, offer_id, {"external_id": body.external_id}) is None:
        raise NotFound("Product license not found.")
    updated = await store.get_offer(conn, offer_id)
    assert updated is not None
    return updated


async def delete_offer(conn: Conn, p: Principal, product_id: UUID, offer_id: UUID) -> Record:
    """Staff withdraw any offer, its entitlements and vouchers with it; the owner only an
    offer nobody holds (taking customers' entitlements is the operator's decision)."""
    row = await show_offer(conn, product_id, offer_id)
    if p.can("product_licenses", "delete"):
        deleted = await store.delete_offer(conn, offer_id)
    else:
        p.require_or_owner("product_licenses", "delete", row["owner_id"])
        found, deleted = await store.delete_offer_unless_used(conn, offer_id)
        if found and deleted is None:
            raise Conflict(HELD)
    if deleted is None:  # withdrawn concurrently
        raise NotFound("Product license not found.")
    await emit(conn, _withdrawn(deleted))
    return row


# --- helpers -----------------------------------------------------------------------------------


@contextmanager
def _integrity() -> Iterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "product_licenses_pkey":
            raise Conflict(
                "A product license with this id already exists.", errors={"id": ["has already been taken"]}
            ) from exc
        raise Conflict(
            TWICE, errors={"license_id": ["cannot be associated with the same license twice"]}
        ) from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise ValidationFailed.field("license_id", "does not exist") from exc


def _offered(row: Record, license_name: str) -> LicenseOffered:
    return LicenseOffered(
        product_license_id=row["id"],
        product_id=row["product_id"],
        license_id=row["license_id"],
        license_name=license_name,
    )


def _withdrawn(row: Record) -> LicenseWithdrawn:
    return LicenseWithdrawn(
        product_license_id=row["id"], product_id=row["product_id"], license_id=row["license_id"]
    )
