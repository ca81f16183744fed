"""Request bodies of vouchers and their redemption."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from hspm.common.models import Input, UtcDatetime

MAX_BATCH = 500


class VoucherCreate(Input):
    """One voucher, or ``count`` of them (answered as a list), for one product license."""

    product_license_id: UUID
    expires_at: UtcDatetime | None = None
    count: Annotated[int, Field(ge=1, le=MAX_BATCH)] | None = None


class VoucherUpdate(Input):
    """Only an unredeemed voucher's expiry changes (null: never expires)."""

    READ_ONLY = frozenset(
        {
            "id", "product_license_id", "product_id", "entitlement_id", "code", "issued_at",
            "redeemed_at", "redeemed_by", "issued_by", "state",
        }
    )  # fmt: skip
    expires_at: UtcDatetime | None = None


class Redemption(Input):
    """Optionally, the user to hold the entitlement (the redeemer by default)."""

    user_id: UUID | None = None
