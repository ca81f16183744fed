"""Why a license document was refused: one class per reason, each with a machine ``code``.

Catch ``LicenseError`` to refuse any bad document; branch on the subclass (or ``code``)
to tell the user what to do: fetch a fresh document (``Expired``), wait (``NotYetValid``),
refresh the key set (``UnknownKey``) or treat it as forged (``BadSignature``, ``Malformed``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from hspm.client.offline.license import License


class LicenseError(Exception):
    """The document does not grant what it says: never act on it."""

    code: ClassVar[str] = "invalid"


class Malformed(LicenseError):
    """Not a document of this format: bad JSON, a missing or mistyped field, a bad encoding."""

    code = "malformed"


class TooLarge(Malformed):
    """Over the size or nesting bounds; refused before any parsing or cryptography."""

    code = "too_large"


class UnknownKey(LicenseError):
    """Signed by a key the key set does not hold: forged, or the key set is out of date."""

    code = "unknown_key"


class BadSignature(LicenseError):
    """The signature does not verify: the payload was changed, or another key signed it."""

    code = "bad_signature"


class _Window(LicenseError):
    """A genuine document outside its validity window; ``license`` is what it says."""

    def __init__(self, message: str, license: License, at: datetime) -> None:
        super().__init__(message)
        self.license = license
        self.at = at


class Expired(_Window):
    """``now`` is at or after ``expires_at`` (``at``): fetch a fresh document."""

    code = "expired"


class NotYetValid(_Window):
    """``now`` is before ``valid_from`` (``at``): the entitlement starts later."""

    code = "not_yet_valid"


class BadKeySet(ValueError):
    """A JWK set this library cannot use (an Ed25519 key with a bad ``x`` or ``kid``)."""
