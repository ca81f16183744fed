"""Request bodies of licenses.

Each model checks what it can on its own; the rules across fields (an absolute license
needs ``expires_at``, a relative one needs days) are checked by the service on the
license as it will be stored, so a PATCH of one field is judged with the others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field

from hspm.common.models import HttpUrl, Input, Name, Short, Text
from hspm.licensing.terms import Expiry

# The rendered license's own fields that clients echo back on update: dropped.
_RENDERED = frozenset({"path", "href"})

# A relative license's window is added to a datetime: a century keeps every sum inside
# Python's and PostgreSQL's calendars (an unbounded count would overflow into a 500).
MAX_DAYS_VALID = 36_500
MAX_USES = 2**31 - 1


def _aware(value: datetime) -> datetime:
    # An expiry moment is a contract term: a time without a zone is ambiguous by hours.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone (for example 2030-01-01T00:00:00Z)")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
DaysValid = Annotated[int, Field(ge=0, le=MAX_DAYS_VALID, strict=True)]
Uses = Annotated[int, Field(ge=0, le=MAX_USES, strict=True)]


class LicenseCreate(Input):
    READ_ONLY = _RENDERED
    id: UUID | None = None
    name: Name
    description: Text = ""
    url: HttpUrl
    expiry: Expiry = "indefinite"
    expires_at: AwareDatetime | None = None
    days_valid: DaysValid = 0
    uses: Uses = 0
    external_id: Short | None = None


class LicenseUpdate(Input):
    """PUT and PATCH alike: the fields given change; ``expires_at``/``external_id`` may be nulled."""

    READ_ONLY = _RENDERED | {"id"}
    name: Name | None = None
    description: Text | None = None
    url: HttpUrl | None = None
    expiry: Expiry | None = None
    expires_at: AwareDatetime | None = None
    days_valid: DaysValid | None = None
    uses: Uses | None = None
    external_id: Short | None = None
