"""Events the licensing service publishes.

The catalog keeps its ``product_license_offers`` read copy from ``LicenseOffered`` and
``LicenseWithdrawn`` (the product's license filter, facet and embedded
``product_licenses``); the notifier carries entitlement changes to platform agents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from hspm.common.events.base import Event

Expiry = Literal["indefinite", "relative_date", "absolute_date"]


class LicenseOffered(Event):
    """A product is offered under a license (a product license was created or renamed)."""

    TYPE = "licensing.license.offered"
    product_license_id: UUID
    product_id: UUID
    license_id: UUID
    license_name: str


class LicenseWithdrawn(Event):
    """A product is no longer offered under a license (its product license was deleted)."""

    TYPE = "licensing.license.withdrawn"
    product_license_id: UUID
    product_id: UUID
    license_id: UUID


class EntitlementGranted(Event):
    """A user holds a new entitlement: granted by staff, by the product's ISV, or a voucher."""

    TYPE = "licensing.entitlement.granted"
    entitlement_id: UUID
    user_id: UUID
    product_id: UUID
    product_license_id: UUID
    license_id: UUID
    valid_from: datetime
    # None: indefinite. Relative licenses end ``days_valid`` days after ``valid_from``.
    valid_until: datetime | None
    source: Literal["staff", "isv", "voucher"]


class EntitlementRevoked(Event):
    """An entitlement was taken back (deleted); offline documents for it stop verifying online."""

    TYPE = "licensing.entitlement.revoked"
    entitlement_id: UUID
    user_id: UUID
    product_id: UUID


class EntitlementExpired(Event):
    """An entitlement's validity window closed (found by the licensing service's sweep)."""

    TYPE = "licensing.entitlement.expired"
    entitlement_id: UUID
    user_id: UUID
    product_id: UUID
    expired_at: datetime


class VoucherRedeemed(Event):
    """A voucher code was redeemed: exactly one redemption of a code wins."""

    TYPE = "licensing.voucher.redeemed"
    voucher_id: UUID
    product_license_id: UUID
    entitlement_id: UUID
    redeemed_by: UUID
