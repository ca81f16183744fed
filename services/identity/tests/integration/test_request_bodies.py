"""Every create route takes its body wrapped or bare, and drops the server's own fields."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

PUBLIC_URL = "http://marketplace.test"
# What a client echoing a rendered resource back sends along; never taken from input.
SERVER_FIELDS = {
    "created_at": "2001-01-01T00:00:00Z",
    "updated_at": "2001-01-01T00:00:00Z",
    "url": "https://evil.example/x",
    "path": "/x",
}


async def _create_route(identity, kind: str) -> tuple[str, str, dict[str, Any], Any]:
    """(path, wrapper, a valid body, who may create) for one kind of resource."""
    n = uuid4().hex[:8]
    api, admin = identity, identity.admin
    if kind == "user":
        return "/users", "user", {"name": f"U {n}"}, admin
    if kind == "group":
        return "/groups", "group", {"name": f"G {n}"}, admin
    if kind == "role":
        return "/roles", "role", {"name": f"R {n}", "permissions": {"users": {"read": True}}}, admin
    if kind == "identity_provider":
        body = {"name": f"P {n}", "issuer": f"https://{n}.example", "client_id": "c", "client_secret": "s"}
        return "/identity_providers", "identity_provider", body, admin
    if kind == "identity":
        user, idp = await api.make_user(), await api.make_idp()
        return (
            f"/users/{user['id']}/identities",
            "identity",
            {"identity_provider_id": idp["id"], "sub": n},
            admin,
        )
    if kind == "api_token":
        user = await api.make_user()
        return f"/users/{user['id']}/api_tokens", "api_token", {"name": n}, api.as_user(user["id"])
    if kind == "member":
        group, user = await api.make_group(), await api.make_user()
        return f"/groups/{group['id']}/members", "member", {"user_id": user["id"]}, admin
    if kind == "appointment":
        role, user = await api.make_role({}), await api.make_user()
        body = {"entity_id": user["id"], "entity_type": "User"}
        return f"/roles/{role['id']}/appointments", "appointment", body, admin
    raise AssertionError(kind)


KINDS = ["user", "group", "role", "identity_provider", "identity", "api_token", "member", "appointment"]


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "bare"])
@pytest.mark.parametrize("kind", KINDS)
class TestCreateBodies:
    async def test_created_and_server_fields_ignored(self, identity, kind, wrapped):
        path, wrapper, body, who = await _create_route(identity, kind)
        fields = body | SERVER_FIELDS
        r = await identity.post(path, who, {wrapper: fields} if wrapped else fields)
        assert r.status == 201, r
        assert r.body["path"].startswith(path)
        assert r.body["url"] == PUBLIC_URL + r.body["path"]
        assert r.headers["Location"] == r.body["url"]
        assert not r.body["created_at"].startswith("2001")
