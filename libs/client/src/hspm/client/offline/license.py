"""The payload of a license document as a typed value, and its strict reading back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hspm.client.offline.errors import Expired, Malformed, NotYetValid

FORMAT = "hspm-license/1"
EXPIRIES = ("indefinite", "relative_date", "absolute_date")
MAX_TEXT = 1000
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


@dataclass(frozen=True)
class License:
    """What a verified document grants: who, which product (``covers``), under which terms, until when."""

    id: UUID
    issuer: str
    kid: str
    entitlement_id: UUID
    licensee_id: UUID
    licensee_name: str | None
    product_id: UUID
    product_name: str | None
    products: tuple[UUID, ...]
    license_id: UUID
    license_name: str
    expiry: str
    uses: int
    valid_from: datetime
    valid_until: datetime | None
    issued_at: datetime
    expires_at: datetime

    def covers(self, product_id: UUID | str) -> bool:
        """Does this document license ``product_id``? (Not a UUID: no.)"""
        try:
            wanted = product_id if isinstance(product_id, UUID) else UUID(product_id)
        except ValueError:
            return False
        return wanted in self.products

    def check_window(self, now: datetime) -> None:
        """NotYetValid before ``valid_from``; Expired from ``expires_at`` on (half-open window)."""
        if now < self.valid_from:
            raise NotYetValid(f"valid from {_text(self.valid_from)}", self, self.valid_from)
        if now >= self.expires_at:
            raise Expired(f"expired at {_text(self.expires_at)}", self, self.expires_at)

    def to_payload(self) -> dict[str, Any]:
        """The payload a signer signs (JSON values only)."""
        return {
            "format": FORMAT,
            "id": str(self.id),
            "issuer": self.issuer,
            "kid": self.kid,
            "entitlement_id": str(self.entitlement_id),
            "licensee": {"user_id": str(self.licensee_id), "name": self.licensee_name},
            "product": {"id": str(self.product_id), "name": self.product_name},
            "covers": [str(p) for p in self.products],
            "license": {
                "id": str(self.license_id),
                "name": self.license_name,
                "expiry": self.expiry,
                "uses": self.uses,
            },
            "valid_from": _text(self.valid_from),
            "valid_until": None if self.valid_until is None else _text(self.valid_until),
            "issued_at": _text(self.issued_at),
            "expires_at": _text(self.expires_at),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> License:
        """Read a payload back; Malformed names the first member that is missing or wrong.

        Members this version does not know are ignored: adding one is compatible; a change
        old verifiers must not miss changes ``format``.
        """
        if _get(payload, "format", str) != FORMAT:
            raise Malformed(f"payload.format must be {FORMAT!r}")
        licensee, product, terms = (_get(payload, k, dict) for k in ("licensee", "product", "license"))
        found = cls(
            id=_uuid(payload, "id"),
            issuer=_get(payload, "issuer", str),
            kid=_get(payload, "kid", str),
            entitlement_id=_uuid(payload, "entitlement_id"),
            licensee_id=_uuid(licensee, "user_id", "licensee."),
            licensee_name=_get(licensee, "name", str, "licensee.", optional=True),
            product_id=_uuid(product, "id", "product."),
            product_name=_get(product, "name", str, "product.", optional=True),
            products=_covers(payload),
            license_id=_uuid(terms, "id", "license."),
            license_name=_get(terms, "name", str, "license."),
            expiry=_expiry(terms),
            uses=_uses(terms),
            valid_from=_time(payload, "valid_from"),
            valid_until=_time(payload, "valid_until", optional=True),
            issued_at=_time(payload, "issued_at"),
            expires_at=_time(payload, "expires_at"),
        )
        _consistent(found)
        return found


def _consistent(found: License) -> None:
    if found.product_id not in found.products:
        raise Malformed("payload.covers must include product.id")
    if found.valid_until is not None and found.expires_at > found.valid_until:
        raise Malformed("payload.expires_at must not be after valid_until")


def _text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _get(obj: Mapping[str, Any], key: str, kind: type, where: str = "", optional: bool = False) -> Any:
    value = obj.get(key)
    if value is None and optional:
        return None
    # bool is an int in Python, never in JSON.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Malformed(f"payload.{where}{key} must be a {kind.__name__}")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise Malformed(f"payload.{where}{key} is longer than {MAX_TEXT} characters")
    return value


def _uuid(obj: Mapping[str, Any], key: str, where: str = "") -> UUID:
    text = _get(obj, key, str, where)
    try:
        return UUID(text)
    except ValueError as exc:
        raise Malformed(f"payload.{where}{key} must be a UUID") from exc


def _covers(payload: Mapping[str, Any]) -> tuple[UUID, ...]:
    ids = _get(payload, "covers", list)
    if not ids or not all(isinstance(i, str) for i in ids):
        raise Malformed("payload.covers must be a non-empty list of product ids")
    return tuple(_uuid({"id": i}, "id", "covers.") for i in ids)


def _expiry(terms: Mapping[str, Any]) -> str:
    expiry = _get(terms, "expiry", str, "license.")
    if expiry not in EXPIRIES:
        raise Malformed(f"payload.license.expiry must be one of {', '.join(EXPIRIES)}")
    return str(expiry)


def _uses(terms: Mapping[str, Any]) -> int:
    uses = _get(terms, "uses", int, "license.")
    if not 0 <= uses < 2**31:
        raise Malformed("payload.license.uses must be between 0 and 2**31 - 1")
    return int(uses)


def _time(payload: Mapping[str, Any], key: str, optional: bool = False) -> Any:
    text = _get(payload, key, str, optional=optional)
    if text is None:
        return None
    if not _TIMESTAMP.fullmatch(text):
        raise Malformed(f"payload.{key} must be an RFC 3339 UTC timestamp ending in Z")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise Malformed(f"payload.{key} is not a real date and time") from exc
