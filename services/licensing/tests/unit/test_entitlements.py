"""Who sees an entitlement and what a holder may change, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from hspm.common.auth import Principal
from hspm.common.errors import ValidationFailed
from hspm.licensing.entitlements import models
from hspm.licensing.entitlements.service import _changes, _may_hand_over, sees

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _who(*keys: str, scopes: frozenset[str] | None = None) -> Principal:
    return Principal(kind="user", user_id=uuid4(), permissions=frozenset(keys), scopes=scopes)


def _row(holder: Principal, isv: Principal, revoked: bool = False) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "user_id": holder.user_id,
        "owner_id": isv.user_id,
        "revoked_at": T0 if revoked else None,
        "valid_from": T0,
        "external_id": None,
    }


def test_holder_isv_and_readers_see_it_others_do_not() -> None:
    holder, isv = _who(), _who()
    row = _row(holder, isv)
    for who in (holder, isv, _who("entitlements.read"), _who("everything.manage")):
        assert sees(who, row)
    assert not sees(_who(), row)
    assert not sees(_who("claims.read"), row)
    assert sees(_who("claims.read"), row, "claims")


def test_a_revoked_one_is_hidden_from_its_holder_only() -> None:
    holder, isv = _who(), _who()
    row = _row(holder, isv, revoked=True)
    assert not sees(holder, row)
    assert sees(isv, row) and sees(_who("entitlements.read"), row)


def test_a_scoped_token_without_the_key_sees_nothing_as_owner() -> None:
    holder, isv = _who(), _who()
    row = _row(holder, isv)
    narrowed = Principal(kind="user", user_id=holder.user_id, scopes=frozenset({"products.read"}))
    assert not sees(narrowed, row)
    wide = Principal(kind="user", user_id=holder.user_id, scopes=frozenset({"entitlements.read"}))
    assert sees(wide, row)


def test_only_changed_fields_count_so_echoed_records_are_fine() -> None:
    holder, isv = _who(), _who()
    row = _row(holder, isv)
    new = uuid4()
    body = models.EntitlementUpdate.model_validate(
        {"user_id": str(new), "valid_from": T0.isoformat(), "external_id": None, "state": "active"}
    )
    assert _changes(row, body) == {"user_id": new}
    assert _may_hand_over(holder, row, {"user_id": new})
    assert not _may_hand_over(holder, row, {"user_id": new, "external_id": "x"})
    assert not _may_hand_over(isv, row, {"user_id": new})


@pytest.mark.parametrize("field", ["user_id", "valid_from"])
def test_required_fields_cannot_be_blanked(field: str) -> None:
    row = _row(_who(), _who())
    with pytest.raises(ValidationFailed):
        _changes(row, models.EntitlementUpdate.model_validate({field: None}))
