"""Every route against every persona, unknown and malformed ids, bad bodies, bad paging.

All of these expect a refusal (or a read), so they share one service and one set of
rows created once for the module: ``U`` a user with identity ``I`` at provider ``P``
and API token ``T``, group ``G`` with member ``M`` (``U``), role ``R`` with
appointment ``A`` (``U``). Personas other than the owner are other people.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import orjson
import pytest
import pytest_asyncio

PERSONAS = ("anonymous", "customer", "isv", "auditor", "operator")
OK, GONE, DENY = 200, 404, 403

# (method, path, wrapper, body, {persona: status}); "deny" means 401 anonymous, 403 others.
DENIED = {"anonymous": 401, "customer": DENY, "isv": DENY, "auditor": DENY, "operator": DENY}
READERS = {"anonymous": 401, "customer": DENY, "isv": DENY, "auditor": OK, "operator": OK}
USER_READERS = {"anonymous": 401, "customer": GONE, "isv": GONE, "auditor": OK, "operator": OK}
USER_WRITERS = {"anonymous": 401, "customer": GONE, "isv": GONE, "auditor": DENY, "operator": DENY}
EVERYONE = dict.fromkeys(PERSONAS, OK)

USER = {"name": "Nobody"}
IDENTITY = {"identity_provider_id": "{P}", "sub": "never-linked"}
IDENTITY_UPDATE = {"notify_via_sms": True}
TOKEN = {"name": "never minted"}
GROUP = {"name": "Never made"}
MEMBER = {"user_id": "{U}"}
ROLE = {"name": "Never made"}
APPOINTMENT = {"entity_id": "{U}", "entity_type": "User"}
IDP = {"name": "Never", "issuer": "https://never.example", "client_id": "c", "client_secret": "s"}
IDP_UPDATE = {"name": "Renamed"}

ROUTES: list[tuple[str, str, str | None, dict[str, Any] | None, dict[str, int]]] = [
    ("GET", "/status", None, None, EVERYONE),
    ("GET", "/.well-known/jwks.json", None, None, EVERYONE),
    ("GET", "/openapi.json", None, None, EVERYONE),
    ("GET", "/internal/sessions/{T}", None, None, dict.fromkeys(PERSONAS, GONE)),
    ("DELETE", "/sessions", None, None, EVERYONE | {"anonymous": 401}),
    ("DELETE", "/session", None, None, EVERYONE | {"anonymous": 401}),
    ("GET", "/users", None, None, READERS),
    ("POST", "/users", "user", USER, DENIED),
    ("GET", "/users/{U}", None, None, USER_READERS),
    ("PUT", "/users/{U}", "user", USER, USER_WRITERS),
    ("PATCH", "/users/{U}", "user", USER, USER_WRITERS),
    ("DELETE", "/users/{U}", None, None, DENIED),
    ("GET", "/users/{U}/identities", None, None, USER_READERS),
    ("POST", "/users/{U}/identities", "identity", IDENTITY, DENIED),
    ("GET", "/users/{U}/identities/{I}", None, None, USER_READERS),
    ("PUT", "/users/{U}/identities/{I}", "identity", IDENTITY_UPDATE, USER_WRITERS),
    ("PATCH", "/users/{U}/identities/{I}", "identity", IDENTITY_UPDATE, USER_WRITERS),
    ("DELETE", "/users/{U}/identities/{I}", None, None, USER_WRITERS),
    ("GET", "/users/{U}/api_tokens", None, None, USER_WRITERS),
    ("POST", "/users/{U}/api_tokens", "api_token", TOKEN, USER_WRITERS),
    ("GET", "/users/{U}/api_tokens/{T}", None, None, USER_WRITERS),
    ("DELETE", "/users/{U}/api_tokens/{T}", None, None, USER_WRITERS),
    ("GET", "/groups", None, None, READERS),
    ("POST", "/groups", "group", GROUP, DENIED),
    ("GET", "/groups/{G}", None, None, READERS),
    ("PUT", "/groups/{G}", "group", GROUP, DENIED),
    ("PATCH", "/groups/{G}", "group", GROUP, DENIED),
    ("DELETE", "/groups/{G}", None, None, DENIED),
    ("GET", "/groups/{G}/members", None, None, READERS),
    ("POST", "/groups/{G}/members", "member", MEMBER, DENIED),
    ("GET", "/groups/{G}/members/{M}", None, None, READERS),
    ("PUT", "/groups/{G}/members/{M}", "member", MEMBER, DENIED),
    ("PATCH", "/groups/{G}/members/{M}", "member", MEMBER, DENIED),
    ("DELETE", "/groups/{G}/members/{M}", None, None, DENIED),
    ("GET", "/roles", None, None, DENIED),
    ("POST", "/roles", "role", ROLE, DENIED),
    ("GET", "/roles/{R}", None, None, DENIED),
    ("PUT", "/roles/{R}", "role", ROLE, DENIED),
    ("PATCH", "/roles/{R}", "role", ROLE, DENIED),
    ("DELETE", "/roles/{R}", None, None, DENIED),
    ("GET", "/roles/{R}/appointments", None, None, DENIED),
    ("POST", "/roles/{R}/appointments", "appointment", APPOINTMENT, DENIED),
    ("GET", "/roles/{R}/appointments/{A}", None, None, DENIED),
    ("PUT", "/roles/{R}/appointments/{A}", "appointment", APPOINTMENT, DENIED),
    ("PATCH", "/roles/{R}/appointments/{A}", "appointment", APPOINTMENT, DENIED),
    ("DELETE", "/roles/{R}/appointments/{A}", None, None, DENIED),
    ("GET", "/identity_providers", None, None, EVERYONE),
    ("POST", "/identity_providers", "identity_provider", IDP, DENIED),
    # {P} is disabled: only those who manage providers may see it.
    ("GET", "/identity_providers/{P}", None, None, dict.fromkeys(PERSONAS, GONE) | {"admin": 200}),
    ("PUT", "/identity_providers/{P}", "identity_provider", IDP_UPDATE, DENIED),
    ("PATCH", "/identity_providers/{P}", "identity_provider", IDP_UPDATE, DENIED),
    ("DELETE", "/identity_providers/{P}", None, None, DENIED),
    # P is disabled, so nobody can start a login through it.
    ("GET", "/identity_providers/{P}/redirect", None, None, dict.fromkeys(PERSONAS, GONE)),
    ("POST", "/identity_providers/{P}/enable", None, None, DENIED),
    ("POST", "/identity_providers/{P}/disable", None, None, DENIED),
]
WITH_BODY = [r for r in ROUTES if r[3] is not None]
WITH_IDS = [r for r in ROUTES if "{" in r[1]]
INDEXES = [
    "/users",
    "/users/{U}/identities",
    "/users/{U}/api_tokens",
    "/groups",
    "/groups/{G}/members",
    "/roles",
    "/roles/{R}/appointments",
    "/identity_providers",
]
BAD_PAGING = [
    ({"page": "0"}, "page"),
    ({"page": "two"}, "page"),
    ({"page": "-1"}, "page"),
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "101"}, "per_page"),
    ({"per_page": "1.5"}, "per_page"),
    ({"sort": "password"}, "sort"),
    ({"sort": 'name"; DROP TABLE users; --'}, "sort"),
    ({"order": "sideways"}, "order"),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w)\}", lambda m: ids[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest_asyncio.fixture(scope="module")
async def world(shared_identity) -> dict[str, str]:
    api = shared_identity
    idp = await api.make_idp(enabled=False)
    user = await api.make_user("Owner")
    linked = await api.post(
        f"/users/{user['id']}/identities", api.admin, {"identity_provider_id": idp["id"], "sub": "owner"}
    )
    token = await api.make_token(user["id"])
    group = await api.make_group()
    member = await api.add_member(group["id"], user["id"])
    role = await api.make_role({"users": {"read": True}})
    appointment = await api.appoint(role["id"], user["id"])
    return {
        "U": user["id"],
        "I": linked.body["id"],
        "T": token["id"],
        "G": group["id"],
        "M": member["id"],
        "R": role["id"],
        "A": appointment["id"],
        "P": idp["id"],
    }


def _route_id(route: tuple[Any, ...]) -> str:
    return f"{route[0]} {route[1]}"


class TestPersonas:
    @pytest.mark.parametrize(
        ("route", "persona"),
        [(r, p) for r in ROUTES for p in PERSONAS],
        ids=[f"{_route_id(r)} as {p}" for r in ROUTES for p in PERSONAS],
    )
    async def test_status_for_persona(self, shared_identity, world, route, persona):
        method, path, wrapper, body, expected = route
        json = {wrapper: _fill(body, world)} if body is not None else None
        kw = {"json": json} if json is not None else {}
        r = await shared_identity.request(method, _fill(path, world), shared_identity.persona(persona), **kw)
        assert r.status == expected[persona], r
        if r.status >= 400:
            assert r.content_type == "application/problem+json"
            assert r.body["status"] == r.status


class TestUnknownIds:
    @pytest.mark.parametrize(
        ("route", "slot", "bad"),
        [
            (r, s, b)
            for r in WITH_IDS
            for s in re.findall(r"\{(\w)\}", r[1])
            for b in ("unknown", "malformed")
        ],
        ids=[
            f"{_route_id(r)} {s}={b}"
            for r in WITH_IDS
            for s in re.findall(r"\{(\w)\}", r[1])
            for b in ("unknown", "malformed")
        ],
    )
    async def test_is_404(self, shared_identity, world, route, slot, bad):
        method, path, wrapper, body, _ = route
        ids = world | {slot: str(uuid4()) if bad == "unknown" else "not-a-uuid"}
        who = shared_identity.gateway if path.startswith("/internal") else shared_identity.admin
        kw = {"json": {wrapper: _fill(body, world)}} if body is not None else {}
        r = await shared_identity.request(method, _fill(path, ids), who, **kw)
        assert r.status == 404, r
        assert r.content_type == "application/problem+json"


class TestRequestBodies:
    @pytest.mark.parametrize("route", WITH_BODY, ids=[_route_id(r) for r in WITH_BODY])
    async def test_malformed_json_is_400(self, shared_identity, world, route):
        method, path, *_ = route
        r = await shared_identity.request(
            method,
            _fill(path, world),
            shared_identity.admin,
            data=b'{"name": ',
            headers={"Content-Type": "application/json"},
        )
        assert r.status == 400, r
        assert r.body["title"] == "Malformed JSON"

    @pytest.mark.parametrize("route", WITH_BODY, ids=[_route_id(r) for r in WITH_BODY])
    async def test_empty_body_is_400(self, shared_identity, world, route):
        method, path, *_ = route
        r = await shared_identity.request(
            method,
            _fill(path, world),
            shared_identity.admin,
            data=b"",
            headers={"Content-Type": "application/json"},
        )
        assert r.status == 400, r

    @pytest.mark.parametrize("route", WITH_BODY, ids=[_route_id(r) for r in WITH_BODY])
    async def test_wrong_content_type_is_415(self, shared_identity, world, route):
        method, path, wrapper, body, _ = route
        r = await shared_identity.request(
            method,
            _fill(path, world),
            shared_identity.admin,
            data=orjson.dumps({wrapper: _fill(body, world)}),
            headers={"Content-Type": "text/plain"},
        )
        assert r.status == 415, r

    @pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "bare"])
    @pytest.mark.parametrize("route", WITH_BODY, ids=[_route_id(r) for r in WITH_BODY])
    async def test_unknown_field_is_422(self, shared_identity, world, route, wrapped):
        method, path, wrapper, body, _ = route
        fields = _fill(body, world) | {"bogus_field": 1}
        r = await shared_identity.request(
            method, _fill(path, world), shared_identity.admin, {wrapper: fields} if wrapped else fields
        )
        assert r.status == 422, r
        assert "bogus_field" in r.errors

    @pytest.mark.parametrize("route", WITH_BODY, ids=[_route_id(r) for r in WITH_BODY])
    async def test_non_object_is_422(self, shared_identity, world, route):
        method, path, wrapper, *_ = route
        r = await shared_identity.request(method, _fill(path, world), shared_identity.admin, [1, 2])
        assert r.status == 422, r
        assert wrapper in r.errors


class TestPagingParameters:
    @pytest.mark.parametrize(
        ("path", "query", "field"),
        [(p, q, f) for p in INDEXES for q, f in BAD_PAGING],
        ids=[f"{p} {q}" for p in INDEXES for q, _ in BAD_PAGING],
    )
    async def test_bad_values_are_422(self, shared_identity, world, path, query, field):
        r = await shared_identity.get(_fill(path, world), shared_identity.admin, params=query)
        assert r.status == 422, r
        assert list(r.errors) == [field]
