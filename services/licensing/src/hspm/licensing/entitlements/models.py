"""Request bodies of entitlements and claims."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import StringConstraints

from hspm.common.models import Input, UtcDatetime

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ClaimantType = Literal["User", "Group"]

# What an entitlement renders and a client may echo back: the server's to set.
_RENDERED = frozenset(
    {
        "id", "product_license_id", "product_id", "license_id", "valid_until", "state", "source",
        "uses_count", "uses", "claims_url", "granted_by",
    }
)  # fmt: skip


class EntitlementCreate(Input):
    """A grant: by staff, or by the ISV owning the product (after its own checkout)."""

    id: UUID | None = None
    user_id: UUID
    product_license_id: UUID
    valid_from: UtcDatetime | None = None
    external_id: ExternalId | None = None


class EntitlementUpdate(Input):
    """Staff change any of these; the holder only ``user_id`` (a handover), once.

    ``product_license_id`` cannot change: revoke and grant instead.
    """

    READ_ONLY = _RENDERED
    user_id: UUID | None = None
    valid_from: UtcDatetime | None = None
    external_id: ExternalId | None = None


class ClaimCreate(Input):
    """Who uses the entitlement: a User, or a Group (organisation-level counting)."""

    claimant_type: ClaimantType
    claimant_id: UUID
