"""Defects found in review, each proven here: scoped tokens, events on cascades, echoes."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal


def scoped(user_id: str, scopes: set[str], permissions: set[str] | None = None) -> Principal:
    """A principal as the gateway asserts it for an API token with ``scopes``."""
    return Principal(
        kind="user",
        user_id=UUID(user_id),
        session_id=uuid4(),
        name="CI",
        permissions=frozenset(permissions if permissions is not None else scopes),
        scopes=frozenset(scopes),
    )


class TestScopedTokens:
    async def test_a_scoped_token_cannot_mint_a_wider_one(self, identity):
        me = await identity.make_user()
        r = await identity.post(
            f"/users/{me['id']}/api_tokens", scoped(me["id"], {"products.read"}), {"name": "x"}
        )
        assert r.status == 403, r
        assert "scoped" in r.body["detail"]

    async def test_owner_rights_need_the_scope(self, identity):
        me = await identity.make_user(name="Before")
        r = await identity.patch(f"/users/{me['id']}", scoped(me["id"], {"products.read"}), {"name": "After"})
        assert r.status == 403, r
        r = await identity.patch(
            f"/users/{me['id']}", scoped(me["id"], {"users.update_self"}), {"name": "After"}
        )
        assert r.status == 200, r

    async def test_revoking_another_token_needs_the_scope(self, identity):
        me = await identity.make_user()
        other = await identity.make_token(me["id"])
        path = f"/users/{me['id']}/api_tokens/{other['id']}"
        assert (await identity.delete(path, scoped(me["id"], {"products.read"}))).status == 403
        assert (await identity.delete(path, scoped(me["id"], {"api_tokens.delete"}))).status == 200

    async def test_the_gateway_learns_a_tokens_scopes(self, identity):
        me = await identity.make_user()
        narrow = await identity.make_token(me["id"], scopes=["users.read_self"])
        wide = await identity.make_token(me["id"], scopes=["*"])
        assert (await identity.session(narrow["id"]))["scopes"] == ["users.read_self"]
        assert (await identity.session(wide["id"]))["scopes"] is None


class TestEventsOnCascades:
    async def test_deleting_a_user_ends_their_memberships(self, identity):
        member = await identity.make_user()
        group = await identity.make_group()
        await identity.add_member(group["id"], member["id"])
        mark = await identity.outbox_mark()
        assert (await identity.delete(f"/users/{member['id']}", identity.admin)).status == 200
        ended = [b for t, b in await identity.events_since(mark) if t == "identity.membership.changed"]
        assert ended == [ended[0] | {"group_id": group["id"], "user_id": member["id"], "member": False}]

    async def test_moving_an_identity_ends_its_sessions(self, identity, oidc):
        login = await oidc.login("moving-sub", name="Mover")
        assert login.status == 200, login
        old_owner = (await identity.get("/users", identity.admin)).body["results"][0]["id"]
        [ident] = (await identity.get(f"/users/{old_owner}/identities", identity.admin)).body["results"]
        new_owner = await identity.make_user()
        sessions = await (await identity.db()).fetch(
            "SELECT id FROM sessions WHERE identity_id = $1", UUID(ident["id"])
        )
        assert sessions
        r = await identity.patch(
            f"/users/{old_owner}/identities/{ident['id']}", identity.admin, {"user_id": new_owner["id"]}
        )
        assert r.status == 200, r
        for row in sessions:
            assert await identity.session(row["id"]) is None

    async def test_a_returning_login_with_a_new_name_is_an_update(self, identity, oidc):
        await oidc.login("renamed-sub", name="Old Name")
        mark = await identity.outbox_mark()
        await oidc.login("renamed-sub", name="Old Name")
        assert "identity.user.updated" not in [t for t, _ in await identity.events_since(mark)]
        await oidc.login("renamed-sub", name="New Name")
        updates = [b for t, b in await identity.events_since(mark) if t == "identity.user.updated"]
        assert [u["name"] for u in updates] == ["New Name"]


class TestLoginsInFlight:
    async def test_stale_logins_are_swept(self, identity, oidc):
        conn = await identity.db()
        await conn.execute(
            """INSERT INTO oidc_logins (state, identity_provider_id, nonce, code_verifier, created_at)
               VALUES ('stale', $1, 'n', 'v', now() - interval '2 hours')""",
            UUID(oidc.idp["id"]),
        )
        await oidc.begin()
        assert await conn.fetchval("SELECT count(*) FROM oidc_logins WHERE state = 'stale'") == 0
        assert await conn.fetchval("SELECT count(*) FROM oidc_logins") == 1


class TestEchoedResources:
    async def test_a_rendered_user_can_be_sent_back(self, identity):
        me = await identity.make_user(name="Echo")
        r = await identity.put(f"/users/{me['id']}", identity.admin, {"user": me | {"name": "Echoed"}})
        assert r.status == 200, r
        assert r.body["name"] == "Echoed"

    async def test_a_rendered_role_can_be_sent_back(self, identity):
        role = await identity.make_role({"products": {"read": True}})
        r = await identity.put(f"/roles/{role['id']}", identity.admin, role | {"description": "changed"})
        assert r.status == 200, r

    async def test_the_masked_secret_never_overwrites_the_real_one(self, identity):
        idp = await identity.make_idp()
        shown = (await identity.get(f"/identity_providers/{idp['id']}", identity.admin)).body
        assert shown["client_secret"] == "********"
        r = await identity.put(
            f"/identity_providers/{idp['id']}", identity.admin, shown | {"name": "Renamed"}
        )
        assert r.status == 200, r
        secret = await (await identity.db()).fetchval(
            "SELECT client_secret FROM identity_providers WHERE id = $1", UUID(idp["id"])
        )
        assert secret != "********"


class TestWritesNeedACallerFirst:
    @pytest.mark.parametrize("path", ["/users", "/groups", "/roles", "/identity_providers"])
    async def test_anonymous_with_a_bad_body_is_401(self, identity, path):
        r = await identity.post(path, None, {"nonsense": [1, 2, 3]})
        assert r.status == 401, r
