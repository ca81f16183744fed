"""Rules of vouchers: who issues them, who sees their codes, and the one redemption.

Staff (``vouchers.*``) and the ISV owning the voucher's product issue, change and delete
vouchers; auditors read them (``vouchers.read``); a redeemer sees the voucher they
redeemed. An unredeemed code is a bearer secret: only staff and the product's ISV see
it, and it is never logged (the request log names the route, not the path).

Guessing is bounded by the code space and the gateway: 18 symbols of 31 are 2**89
codes, so even a million live vouchers leave one chance in about 10**21 per guess, and
the gateway's per-client rate limit caps the guesses (every miss is the same 404).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from hspm.common.events.licensing import VoucherRedeemed
from hspm.common.paging import PageParams
from hspm.licensing.directory import service as directory
from hspm.licensing.entitlements import service as entitlements
from hspm.licensing.events import emit
from hspm.licensing.offers import service as offers
from hspm.licensing.vouchers import codes, models, store

Record = asyncpg.Record
SORTS = ("created_at", "issued_at", "expires_at", "redeemed_at")
NOT_FOUND = "Voucher not found."
# Drawing a code already taken is a 2**-89 event; a few redraws make it a non-event.
_DRAWS = 5


class VoucherExpired(DomainError, status=410, title="Gone"):
    """A voucher past its ``expires_at``: it existed and can never be redeemed again.

    410 rather than 422: nothing in the request is wrong and no retry or other input will
    help; and it differs from 409 (someone redeemed it first) and 404 (no such code).
    """


async def create_vouchers(conn: Conn, p: Principal, body: models.VoucherCreate) -> list[Record]:
    """``count`` (default 1) fresh codes for one product license, staff or its product's ISV."""
    offer = await offers.get_offer(conn, body.product_license_id)
    if offer is None:
        # Offers are public (the catalog lists them): saying so reveals nothing.
        raise ValidationFailed.field("product_license_id", "does not exist")
    p.require_or_owner("vouchers", "create", offer["owner_id"])
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise ValidationFailed.field("expires_at", "must be in the future")
    wanted = body.count or 1
    made: list[UUID] = []
    for _ in range(_DRAWS):
        drawn = [codes.generate() for _ in range(wanted - len(made))]
        ids = [uuid4() for _ in drawn]
        made += await store.insert_vouchers(conn, ids, drawn, offer["id"], body.expires_at, p.user_id)
        if len(made) == wanted:
            return await store.get_vouchers(conn, made)
    raise Conflict("Could not draw unique voucher codes; try again.")


async def list_vouchers(
    conn: Conn, p: Principal, page: PageParams, filters: dict[str, Any]
) -> tuple[list[Record], int]:
    """All with ``vouchers.read``; else those of the caller's products and those they redeemed."""
    me = p.user_id if p.may_as_owner("vouchers", "read", p.user_id) else None
    scope = {"everything": p.can("vouchers", "read"), "owner": me, "redeemer": me}
    return await store.list_vouchers(conn, page, filters, scope)


async def get_voucher(conn: Conn, p: Principal, voucher_id: UUID) -> Record:
    row = await store.get_voucher(conn, voucher_id)
    if row is None or not _sees(p, row):
        raise NotFound(NOT_FOUND)
    return row


async def update_voucher(conn: Conn, p: Principal, voucher_id: UUID, body: models.VoucherUpdate) -> Record:
    """Staff or the product's ISV move an unredeemed voucher's expiry."""
    row = await get_voucher(conn, p, voucher_id)
    p.require_or_owner("vouchers", "update", row["owner_id"])
    if "expires_at" not in body.model_fields_set or body.expires_at == row["expires_at"]:
        return row
    if not await store.set_expiry(conn, voucher_id, body.expires_at):
        raise Conflict("The voucher has been redeemed.")
    return await _row(conn, voucher_id)


async def delete_voucher(conn: Conn, p: Principal, voucher_id: UUID) -> None:
    row = await get_voucher(conn, p, voucher_id)
    p.require_or_owner("vouchers", "delete", row["owner_id"])
    if not await store.delete_unredeemed(conn, voucher_id):
        raise Conflict("The voucher has been redeemed; it stays as the record of its entitlement.")


async def redeem(
    conn: Conn, p: Principal, typed: str, body: models.Redemption, now: datetime | None = None
) -> Record:
    """The entitlement the code grants, to the redeemer or the user they name.

    One conditional UPDATE decides among concurrent redemptions; the grant and the event
    share its transaction, so a failing redemption changes nothing. ``now`` (tests) is the
    instant expiry is judged at; the database's clock otherwise.
    """
    code = codes.normalize(typed)
    if code is None:
        raise NotFound(NOT_FOUND)
    if p.user_id is None:
        raise Forbidden("Only a signed-in user can redeem a voucher.")
    voucher = await store.redeem(conn, code, p.user_id, now)
    if voucher is None:
        raise await _why_not(conn, code)
    # Only after the code proved good (raising rolls the redemption back): otherwise any
    # caller could ask, with a made-up code, which user ids exist.
    holder = body.user_id or p.user_id
    if holder != p.user_id and not await directory.user_exists(conn, holder):
        raise ValidationFailed.field("user_id", "does not exist")
    entitlement = await entitlements.grant(
        conn, voucher["product_license_id"], holder, voucher["redeemed_at"], "voucher", p.user_id
    )
    await store.set_entitlement(conn, voucher["id"], entitlement["id"])
    await _emit_redeemed(conn, voucher, entitlement["id"])
    return entitlement


def reveals_code(p: Principal, row: Record) -> bool:
    """A redeemed code is spent; an unredeemed one only staff and the product's ISV see."""
    return (
        row["redeemed_at"] is not None
        or p.can("vouchers", "create")
        or p.may_as_owner("vouchers", "read", row["owner_id"])
    )


# --- helpers -----------------------------------------------------------------------------------


def _sees(p: Principal, row: Record) -> bool:
    return (
        p.can("vouchers", "read")
        or p.may_as_owner("vouchers", "read", row["owner_id"])
        or p.may_as_owner("vouchers", "read", row["redeemed_by"])
    )


async def _why_not(conn: Conn, code: str) -> DomainError:
    found = await store.find_by_code(conn, code)
    if found is None:
        return NotFound(NOT_FOUND)
    if found["redeemed_at"] is not None:
        return Conflict("Voucher already redeemed.")
    return VoucherExpired("Voucher expired.")


async def _emit_redeemed(conn: Conn, voucher: Record, entitlement_id: UUID) -> None:
    await emit(
        conn,
        VoucherRedeemed(
            voucher_id=voucher["id"],
            product_license_id=voucher["product_license_id"],
            entitlement_id=entitlement_id,
            redeemed_by=voucher["redeemed_by"],
        ),
    )


async def _row(conn: Conn, voucher_id: UUID) -> Record:
    row = await store.get_voucher(conn, voucher_id)
    assert row is not None
    return row
