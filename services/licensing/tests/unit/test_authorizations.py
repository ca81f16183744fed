"""The check's rules without a database: who may ask (judged before any query), how a
verdict is answered, how a lost race is retried, and what a request's address is."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from aiohttp.test_utils import make_mocked_request

from hspm.common.auth import ANONYMOUS, Principal, service_principal
from hspm.common.errors import (
    DomainError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from hspm.licensing.authorizations import handlers, service, store
from hspm.licensing.authorizations.models import MAX_ADDRESS, Asker
from hspm.licensing.directory import service as directory

USER = uuid4()
PRODUCT = uuid4()


class NoDatabase:
    """A connection that fails the test if anything is asked of it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name}) before the permission was judged")


def user(keys: frozenset[str] | set[str] = frozenset(), scopes: set[str] | None = None) -> Principal:
    return Principal(
        kind="user",
        user_id=USER,
        permissions=frozenset(keys),
        scopes=None if scopes is None else frozenset(scopes),
    )


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, UUID]]:
    """The checks that reached the store, which answers "granted"."""
    calls: list[tuple[str, UUID]] = []

    async def check(conn: Any, kind: str, subject: UUID, *_: Any) -> dict[str, Any]:
        calls.append((kind, subject))
        return {"outcome": "granted"}

    monkeypatch.setattr(store, "check", check)
    return calls


@pytest.fixture
def owner(monkeypatch: pytest.MonkeyPatch) -> dict[str, UUID | None]:
    """The product's owner as the directory answers it."""
    found: dict[str, UUID | None] = {"id": None}

    async def owner_of(conn: Any, product_id: UUID) -> UUID | None:
        return found["id"]

    monkeypatch.setattr(directory, "owner_of", owner_of)
    return found


# --- who may ask -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (ANONYMOUS, Unauthorized),
        (service_principal("agent", {"authorizations.create"}), Forbidden),
        (user(scopes={"claims.read"}), Forbidden),
        (user(scopes=set()), Forbidden),
    ],
)
async def test_the_self_check_refuses_before_any_query(who: Principal, error: type[DomainError]) -> None:
    with pytest.raises(error):
        await service.authorize_self(NoDatabase(), who, PRODUCT, Asker())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "who",
    [
        user(),
        user(scopes={"authorizations.create"}),
        user(keys={"authorizations.create"}, scopes={"claims.read"}),
    ],
)
async def test_the_self_check_is_the_callers_owner_right(who: Principal, checked: list[Any]) -> None:
    verdict = await service.authorize_self(NoDatabase(), who, PRODUCT, Asker())  # type: ignore[arg-type]
    assert verdict.outcome == "granted" and checked == [("User", USER)]


async def test_staff_check_others_without_looking_up_the_owner(checked: list[Any]) -> None:
    staff = user(keys={"authorizations.create"})
    other = uuid4()
    await service.authorize_user(NoDatabase(), staff, other, PRODUCT, Asker())  # type: ignore[arg-type]
    await service.authorize_group(NoDatabase(), staff, other, PRODUCT, Asker())  # type: ignore[arg-type]
    assert checked == [("User", other), ("Group", other)]


async def test_an_owner_checks_others_unless_its_token_leaves_the_key_out(
    checked: list[Any], owner: dict[str, UUID | None]
) -> None:
    customer = uuid4()
    owner["id"] = USER
    await service.authorize_user(None, user(), customer, PRODUCT, Asker())  # type: ignore[arg-type]
    assert checked == [("User", customer)]
    with pytest.raises(Forbidden):
        await service.authorize_user(None, user(scopes={"claims.read"}), customer, PRODUCT, Asker())  # type: ignore[arg-type]
    owner["id"] = uuid4()
    with pytest.raises(Forbidden):
        await service.authorize_group(None, user(), customer, PRODUCT, Asker())  # type: ignore[arg-type]
    owner["id"] = None  # an unknown product is nobody's: refused the same way
    with pytest.raises(Forbidden):
        await service.authorize_user(None, user(), customer, PRODUCT, Asker())  # type: ignore[arg-type]
    assert len(checked) == 1


# --- the answer ------------------------------------------------------------------------------


def test_a_verdict_is_answered_with_the_claim_or_the_specs_errors() -> None:
    claim: Any = {"id": uuid4()}
    assert service.granted(service.Verdict("granted", claim)) is claim
    with pytest.raises(NotFound, match="User or product not found"):
        service.granted(service.Verdict("not_found", None))
    with pytest.raises(NotFound, match="Group or product not found"):
        service.granted(service.Verdict("not_found", None, service.GROUP_NOT_FOUND))
    with pytest.raises(service.NoValidEntitlement) as refused:
        service.granted(service.Verdict("no_entitlement", None))
    assert refused.value.status == 422
    assert refused.value.problem()["message"] == service.NO_ENTITLEMENT


async def test_a_lost_race_is_tried_again_until_decided() -> None:
    answers = iter([store.RETRY, store.RETRY, "no_entitlement"])

    async def once() -> Any:
        return {"outcome": next(answers)}

    verdict = await service._until_decided(once)
    assert verdict.outcome == "no_entitlement" and verdict.claim is None


async def test_endless_races_end_in_a_503() -> None:
    tries = 0

    async def once() -> Any:
        nonlocal tries
        tries += 1
        return {"outcome": store.RETRY}

    with pytest.raises(ServiceUnavailable):
        await service._until_decided(once)
    assert tries == service.MAX_RETRIES


# --- the request -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "address"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 , 10.0.0.1, 10.0.0.2", "203.0.113.7"),
        ("2001:db8::1, 10.0.0.1", "2001:db8::1"),
        ("x" * 1000, "x" * MAX_ADDRESS),
        ("", None),
        (" , 10.0.0.1", None),
    ],
)
def test_the_first_hop_is_the_client(header: str, address: str | None) -> None:
    assert handlers.first_hop(header) == address


def test_without_a_forwarded_header_the_peer_is_the_client() -> None:
    request = make_mocked_request("PUT", "/", headers={})
    assert handlers.client_address(request) == request.remote
    forwarded = make_mocked_request("PUT", "/", headers={"X-Forwarded-For": "198.51.100.1, 10.0.0.1"})
    assert handlers.client_address(forwarded) == "198.51.100.1"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2026-01-01", "2026-01-01T00:00:00+00:00"),
        ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00+00:00"),
        ("2026-01-01T12:00:00+02:00", "2026-01-01T10:00:00+00:00"),
    ],
)
def test_times_in_queries_are_utc(raw: str, iso: str) -> None:
    request = make_mocked_request("GET", f"/attempts?since={raw.replace('+', '%2B')}")
    value = handlers.query_time(request, "since")
    assert value is not None and value.isoformat() == iso


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "0001-01-01T00:00:00+05:00"])
def test_malformed_times_are_422(raw: str) -> None:
    request = make_mocked_request("GET", f"/attempts?since={raw.replace('+', '%2B')}")
    with pytest.raises(ValidationFailed):
        handlers.query_time(request, "since")
