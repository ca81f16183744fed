"""The index envelope of every collection, at its first, last and past-the-end pages."""

from __future__ import annotations

import pytest

ENVELOPE = {"results", "total_entries", "total_pages", "current_page", "previous_page", "next_page"}
CUSTOMER_ROLE = "00000000-0000-4000-8000-000000000004"


async def _three(identity, kind: str) -> tuple[str, list[str]]:
    """Make three items of ``kind``; returns the index path and their ids."""
    api = identity
    if kind == "users":
        return "/users", [(await api.make_user())["id"] for _ in range(3)]
    if kind == "groups":
        return "/groups", [(await api.make_group())["id"] for _ in range(3)]
    if kind == "identity_providers":
        return "/identity_providers", [(await api.make_idp())["id"] for _ in range(3)]
    if kind == "roles":
        await (await api.db()).execute("DELETE FROM roles WHERE id <> $1", CUSTOMER_ROLE)
        return "/roles", [CUSTOMER_ROLE] + [(await api.make_role({}))["id"] for _ in range(2)]
    if kind == "identities":
        user, idp = await api.make_user(), await api.make_idp()
        ids = []
        for n in range(3):
            r = await api.post(
                f"/users/{user['id']}/identities",
                api.admin,
                {"identity_provider_id": idp["id"], "sub": f"s{n}"},
            )
            ids.append(r.body["id"])
        return f"/users/{user['id']}/identities", ids
    if kind == "api_tokens":
        user = await api.make_user()
        return f"/users/{user['id']}/api_tokens", [(await api.make_token(user["id"]))["id"] for _ in range(3)]
    if kind == "members":
        group = await api.make_group()
        return f"/groups/{group['id']}/members", [
            (await api.add_member(group["id"], (await api.make_user())["id"]))["id"] for _ in range(3)
        ]
    if kind == "appointments":
        role = await api.make_role({})
        return f"/roles/{role['id']}/appointments", [
            (await api.appoint(role["id"], (await api.make_user())["id"]))["id"] for _ in range(3)
        ]
    raise AssertionError(kind)


async def _empty(identity, kind: str) -> str:
    api = identity
    if kind in ("users", "groups", "identity_providers"):
        return f"/{kind}"
    if kind == "roles":
        await (await api.db()).execute("DELETE FROM roles")
        return "/roles"
    if kind in ("identities", "api_tokens"):
        return f"/users/{(await api.make_user())['id']}/{kind}"
    if kind == "members":
        return f"/groups/{(await api.make_group())['id']}/members"
    return f"/roles/{(await api.make_role({}))['id']}/appointments"


KINDS = [
    "users",
    "groups",
    "roles",
    "identity_providers",
    "identities",
    "api_tokens",
    "members",
    "appointments",
]


@pytest.mark.parametrize("kind", KINDS)
class TestEnvelope:
    async def test_first_page(self, identity, kind):
        path, _ = await _three(identity, kind)
        r = await identity.get(path, identity.admin, params={"per_page": "2"})
        assert r.status == 200, r
        assert set(r.body) >= ENVELOPE
        assert len(r.body["results"]) == 2
        assert (r.body["total_entries"], r.body["total_pages"]) == (3, 2)
        assert (r.body["current_page"], r.body["previous_page"], r.body["next_page"]) == (1, None, 2)

    async def test_last_page(self, identity, kind):
        path, _ = await _three(identity, kind)
        r = await identity.get(path, identity.admin, params={"per_page": "2", "page": "2"})
        assert len(r.body["results"]) == 1
        assert (r.body["current_page"], r.body["previous_page"], r.body["next_page"]) == (2, 1, None)

    async def test_past_the_end_is_empty(self, identity, kind):
        path, _ = await _three(identity, kind)
        r = await identity.get(path, identity.admin, params={"per_page": "2", "page": "5"})
        assert r.status == 200, r
        assert r.body["results"] == []
        assert (r.body["total_entries"], r.body["current_page"], r.body["next_page"]) == (3, 5, None)

    async def test_pages_cover_every_item_once(self, identity, kind):
        path, ids = await _three(identity, kind)
        seen = []
        for page in ("1", "2"):
            r = await identity.get(path, identity.admin, params={"per_page": "2", "page": page})
            seen += [item["id"] for item in r.body["results"]]
        assert sorted(seen) == sorted(ids)

    async def test_order_reverses(self, identity, kind):
        path, _ = await _three(identity, kind)
        up = await identity.get(path, identity.admin, params={"order": "asc"})
        down = await identity.get(path, identity.admin, params={"order": "descending"})
        assert [i["id"] for i in down.body["results"]] == [i["id"] for i in up.body["results"]][::-1]

    async def test_empty_collection(self, identity, kind):
        path = await _empty(identity, kind)
        r = await identity.get(path, identity.admin)
        assert r.status == 200, r
        assert (r.body["results"], r.body["total_entries"], r.body["total_pages"]) == ([], 0, 0)
        assert (r.body["current_page"], r.body["previous_page"], r.body["next_page"]) == (1, None, None)
