"""Request bodies of product licenses."""

from __future__ import annotations

from uuid import UUID

from hspm.common.models import Input, Short

# The rendered offer's embedded license, echoed back by clients: dropped.
_RENDERED = frozenset({"license"})


class OfferCreate(Input):
    """``product_id`` is the path's; the reference UI sends it in the body as well."""

    READ_ONLY = _RENDERED
    id: UUID | None = None
    product_id: UUID | None = None
    license_id: UUID
    external_id: Short | None = None


class OfferUpdate(Input):
    """Only ``external_id`` changes; ``product_id``/``license_id`` may be echoed unchanged."""

    READ_ONLY = _RENDERED | {"id"}
    product_id: UUID | None = None
    license_id: UUID | None = None
    external_id: Short | None = None
