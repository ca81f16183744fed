"""License bodies and the rules across their fields, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hspm.common.errors import ValidationFailed
from hspm.licensing import terms
from hspm.licensing.licenses.models import MAX_DAYS_VALID, LicenseCreate, LicenseUpdate
from hspm.licensing.licenses.service import check_terms

BASE = {"name": "MIT", "url": "https://opensource.org/licenses/MIT"}


def stored(**kw: Any) -> dict[str, Any]:
    return {"expiry": "indefinite", "expires_at": None, "days_valid": 0} | kw


def test_the_defaults_are_an_indefinite_unlimited_license() -> None:
    body = LicenseCreate.model_validate(BASE)
    assert (body.expiry, body.days_valid, body.uses, body.expires_at, body.description) == (
        "indefinite",
        0,
        0,
        None,
        "",
    )


def test_an_expiry_moment_is_normalised_to_utc() -> None:
    body = LicenseCreate.model_validate(BASE | {"expires_at": "2031-01-01T02:00:00+02:00"})
    assert body.expires_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert body.expires_at.tzinfo is UTC


def test_an_expiry_moment_without_a_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        LicenseCreate.model_validate(BASE | {"expires_at": "2031-01-01T02:00:00"})


@pytest.mark.parametrize(
    "change",
    [
        {"expiry": "monthly"},
        {"days_valid": -1},
        {"days_valid": MAX_DAYS_VALID + 1},
        {"days_valid": 1.5},
        {"days_valid": True},
        {"uses": -1},
        {"uses": 2**31},
        {"name": "  "},
        {"url": "licenses/mit"},
        {"extra": 1},
    ],
)
def test_out_of_range_values_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LicenseCreate.model_validate(BASE | change)


def test_the_longest_relative_window_still_fits_the_calendar() -> None:
    start = datetime(9000, 1, 1, tzinfo=UTC)
    assert terms.valid_until("relative_date", start, MAX_DAYS_VALID, None) == start + timedelta(
        days=MAX_DAYS_VALID
    )


def test_an_update_knows_which_fields_were_given() -> None:
    body = LicenseUpdate.model_validate({"external_id": None, "path": "/licenses/x", "id": "ignored"})
    assert body.model_dump(exclude_unset=True) == {"external_id": None}


@pytest.mark.parametrize("expiry", terms.EXPIRIES)
def test_every_expiry_type_is_accepted(expiry: str) -> None:
    assert LicenseCreate.model_validate(BASE | {"expiry": expiry}).expiry == expiry


@pytest.mark.parametrize(
    ("license", "field"),
    [
        (stored(expiry="absolute_date"), "expires_at"),
        (stored(expiry="relative_date"), "days_valid"),
        (stored(expiry="relative_date", days_valid=0, expires_at=datetime.now(UTC)), "days_valid"),
    ],
)
def test_the_terms_need_what_their_expiry_uses(license: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_terms(license)
    assert list(caught.value.errors) == [field]


@pytest.mark.parametrize(
    "license",
    [
        stored(),
        stored(expiry="relative_date", days_valid=1),
        stored(expiry="absolute_date", expires_at=datetime(2031, 1, 1, tzinfo=UTC)),
        # Terms the expiry does not use are kept, not judged.
        stored(days_valid=5, expires_at=datetime(2031, 1, 1, tzinfo=UTC)),
    ],
)
def test_complete_terms_pass(license: dict[str, Any]) -> None:
    check_terms(license)
