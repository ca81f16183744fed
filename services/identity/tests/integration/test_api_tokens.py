"""API tokens: shown once, scoped to a subset of the user's permissions, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hspm.common import permissions
from hspm.common.auth import Principal

PUBLIC_URL = "http://marketplace.test"
ADMINISTRATOR_ROLE = "00000000-0000-4000-8000-000000000001"
CUSTOMER_ROLE = "00000000-0000-4000-8000-000000000004"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TestCreateApiToken:
    async def test_token_is_a_verifiable_jwt(self, identity):
        user = await identity.make_user()
        r = await identity.post(
            f"/users/{user['id']}/api_tokens",
            identity.as_user(user["id"]),
            {"api_token": {"name": "ci", "expires_in_days": 7}},
        )
        assert r.status == 201, r
        path = f"/users/{user['id']}/api_tokens/{r.body['id']}"
        assert (r.body["path"], r.headers["Location"]) == (path, PUBLIC_URL + path)
        assert (r.body["name"], r.body["scopes"], r.body["revoked_at"]) == ("ci", ["*"], None)
        expires = _ts(r.body["expires_at"])
        assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)

        jwks = (await identity.get("/.well-known/jwks.json")).body
        header = jwt.get_unverified_header(r.body["token"])
        [jwk] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
        claims = jwt.decode(
            r.body["token"], jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="hspm", issuer=PUBLIC_URL
        )
        assert header["alg"] == "ES256"
        assert (claims["sid"], claims["sub"], claims["kind"]) == (r.body["id"], user["id"], "api")
        assert claims["exp"] == int(expires.timestamp())

    async def test_a_foreign_key_does_not_verify_it(self, identity):
        user = await identity.make_user()
        token = (await identity.make_token(user["id"]))["token"]
        jwks = (await identity.get("/.well-known/jwks.json")).body
        forged_claims = jwt.decode(token, options={"verify_signature": False}) | {"sub": str(uuid4())}
        forged = jwt.encode(
            forged_claims,
            ec.generate_private_key(ec.SECP256R1()),
            algorithm="ES256",
            headers={"kid": jwks["keys"][0]["kid"]},
        )
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(forged, jwt.PyJWK(jwks["keys"][0]).key, algorithms=["ES256"], audience="hspm")

    async def test_list_and_show_never_include_the_token(self, identity):
        user = await identity.make_user()
        made = await identity.make_token(user["id"])
        me = identity.as_user(user["id"])
        listed = await identity.get(f"/users/{user['id']}/api_tokens", me)
        shown = await identity.get(made["path"], me)
        assert listed.status == shown.status == 200
        [item] = listed.body["results"]
        assert "token" not in item
        assert "token" not in shown.body
        assert made["token"] not in str(listed.body) + str(shown.body)
        assert shown.body == {k: v for k, v in made.items() if k != "token"}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "t", "scopes": ["users.read", "spaceships.fly"]}, "scopes"),
            ({"name": "t", "scopes": "users.read"}, "scopes"),
            ({"name": "t", "expires_in_days": 366}, "expires_in_days"),
            ({"name": "t", "expires_in_days": 0}, "expires_in_days"),
            ({"name": ""}, "name"),
            ({}, "name"),
        ],
    )
    async def test_invalid_fields_are_422(self, identity, body, field):
        user = await identity.make_user()
        r = await identity.post(f"/users/{user['id']}/api_tokens", identity.as_user(user["id"]), body)
        assert r.status == 422, r
        assert field in r.errors
        if field == "scopes" and isinstance(body["scopes"], list):
            assert "spaceships.fly" in r.errors["scopes"][0]

    async def test_the_maximum_lifetime_is_allowed(self, identity):
        user = await identity.make_user()
        r = await identity.post(
            f"/users/{user['id']}/api_tokens",
            identity.as_user(user["id"]),
            {"name": "t", "expires_in_days": 365},
        )
        assert r.status == 201, r


class TestScopes:
    async def test_star_keeps_everything_the_user_has(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"], scopes=["*"])
        doc = await identity.session(token["id"])
        assert set(doc["permissions"]) == identity.role_keys[UUID(CUSTOMER_ROLE)]

    async def test_scopes_narrow_but_never_widen(self, identity):
        role = await identity.make_role({"groups": {"read": True}})
        user = await identity.make_user()
        await identity.appoint(role["id"], user["id"])
        token = await identity.make_token(user["id"], scopes=["groups.read", "roles.read", "users.read_self"])
        doc = await identity.session(token["id"])
        assert sorted(doc["permissions"]) == ["groups.read", "users.read_self"]
        assert token["scopes"] == ["groups.read", "roles.read", "users.read_self"]

    async def test_an_administrators_scoped_token_is_not_an_administrator(self, identity):
        user = await identity.make_user()
        await identity.appoint(ADMINISTRATOR_ROLE, user["id"])
        token = await identity.make_token(user["id"], scopes=["users.read", "groups.read"])
        doc = await identity.session(token["id"])
        assert sorted(doc["permissions"]) == ["groups.read", "users.read"]
        full = await identity.make_token(user["id"])
        assert permissions.MANAGE in (await identity.session(full["id"]))["permissions"]

    async def test_scopes_follow_later_role_changes(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"], scopes=["groups.read"])
        assert (await identity.session(token["id"]))["permissions"] == []
        role = await identity.make_role({"groups": {"read": True}})
        await identity.appoint(role["id"], user["id"])
        assert (await identity.session(token["id"]))["permissions"] == ["groups.read"]


class TestEmptyScopes:
    """``scopes: []`` was read as unscoped: full owner rights, and it could mint ``*``."""

    async def test_empty_scopes_are_refused_when_minting(self, identity):
        user = await identity.make_user()
        r = await identity.post(
            f"/users/{user['id']}/api_tokens", identity.as_user(user["id"]), {"name": "t", "scopes": []}
        )
        assert r.status == 422, r
        assert "scopes" in r.errors
        listed = await identity.get(f"/users/{user['id']}/api_tokens", identity.admin)
        assert listed.body["results"] == []

    async def test_a_stored_token_with_empty_scopes_can_do_nothing_and_cannot_mint(self, identity):
        # Tokens minted with [] before the fix are still in databases: they grant nothing.
        user = await identity.make_user()
        await identity.appoint(ADMINISTRATOR_ROLE, user["id"])
        token = await identity.make_token(user["id"])
        other = await identity.make_token(user["id"])
        await (await identity.db()).execute(
            "UPDATE sessions SET scopes = '{}' WHERE id = $1", UUID(token["id"])
        )
        doc = await identity.session(token["id"])
        assert (doc["permissions"], doc["scopes"]) == ([], [])
        # The caller exactly as the gateway asserts it from that document.
        me = Principal(
            kind="user",
            user_id=UUID(user["id"]),
            session_id=UUID(token["id"]),
            permissions=frozenset(doc["permissions"]),
            scopes=frozenset(doc["scopes"]),
        )
        mark = await identity.outbox_mark()
        minted = await identity.post(
            f"/users/{user['id']}/api_tokens", me, {"name": "wider", "scopes": ["*"]}
        )
        assert minted.status == 403, minted
        assert (await identity.patch(f"/users/{user['id']}", me, {"name": "Renamed"})).status == 403
        assert (await identity.delete(other["path"], me)).status == 403
        assert (await identity.post("/groups", me, {"name": "Not mine"})).status == 403
        assert (await identity.get("/users", me)).status == 403
        assert await identity.events_since(mark) == []
        listed = await identity.get(f"/users/{user['id']}/api_tokens", identity.admin)
        assert sorted(t["id"] for t in listed.body["results"]) == sorted([token["id"], other["id"]])


class TestRevokeApiToken:
    async def test_revoked_token_stops_resolving_and_is_announced(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        mark = await identity.outbox_mark()
        r = await identity.delete(token["path"], identity.as_user(user["id"]))
        assert r.status == 200, r
        assert r.body["revoked_at"] is not None
        assert "token" not in r.body
        assert await identity.session(token["id"]) is None
        assert [(t, b["session_id"], b["user_id"]) for t, b in await identity.events_since(mark)] == [
            ("identity.session.revoked", token["id"], user["id"])
        ]
        assert await identity.written_with("sessions", token["id"], mark, column="revoked_at")

    async def test_revoking_twice_announces_once(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        first = await identity.delete(token["path"], identity.as_user(user["id"]))
        mark = await identity.outbox_mark()
        second = await identity.delete(token["path"], identity.as_user(user["id"]))
        assert second.status == 200, second
        assert second.body["revoked_at"] == first.body["revoked_at"]
        assert await identity.events_since(mark) == []

    async def test_revoked_tokens_stay_listed(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        await identity.delete(token["path"], identity.as_user(user["id"]))
        listed = await identity.get(f"/users/{user['id']}/api_tokens", identity.as_user(user["id"]))
        assert [t["revoked_at"] is not None for t in listed.body["results"]] == [True]

    async def test_unknown_is_404(self, identity):
        user = await identity.make_user()
        r = await identity.delete(f"/users/{user['id']}/api_tokens/{uuid4()}", identity.as_user(user["id"]))
        assert r.status == 404, r

    async def test_a_login_session_is_not_an_api_token(self, identity, oidc):
        login = await oidc.login("not-a-token")
        claims = jwt.decode(login.body["jwt"], options={"verify_signature": False})
        path = f"/users/{claims['sub']}/api_tokens/{claims['sid']}"
        assert (await identity.get(path, identity.as_user(claims["sub"]))).status == 404
        assert (await identity.get(f"/users/{claims['sub']}/api_tokens", identity.admin)).body[
            "results"
        ] == []


class TestOtherUsersTokens:
    async def test_customer_cannot_see_or_mint_for_another_user(self, identity):
        me, other = await identity.make_user(), await identity.make_user()
        token = await identity.make_token(other["id"])
        them = identity.as_user(me["id"])
        assert (await identity.get(f"/users/{other['id']}/api_tokens", them)).status == 404
        assert (await identity.get(token["path"], them)).status == 404
        assert (await identity.post(f"/users/{other['id']}/api_tokens", them, {"name": "x"})).status == 404
        assert (await identity.delete(token["path"], them)).status == 404
        assert await identity.session(token["id"]) is not None

    async def test_a_token_under_another_users_path_is_404(self, identity):
        me, other = await identity.make_user(), await identity.make_user()
        token = await identity.make_token(other["id"])
        r = await identity.get(f"/users/{me['id']}/api_tokens/{token['id']}", identity.as_user(me["id"]))
        assert r.status == 404, r

    async def test_token_readers_list_but_cannot_mint_or_revoke(self, identity):
        other = await identity.make_user()
        token = await identity.make_token(other["id"])
        reader = identity.as_user(uuid4(), {"users.read", "api_tokens.read"})
        listed = await identity.get(f"/users/{other['id']}/api_tokens", reader)
        assert [t["id"] for t in listed.body["results"]] == [token["id"]]
        assert (await identity.post(f"/users/{other['id']}/api_tokens", reader, {"name": "x"})).status == 403
        assert (await identity.delete(token["path"], reader)).status == 403

    async def test_users_read_alone_is_not_enough_to_list(self, identity):
        other = await identity.make_user()
        r = await identity.get(f"/users/{other['id']}/api_tokens", identity.auditor)
        assert r.status == 403, r

    async def test_everything_manage_mints_for_another_user(self, identity):
        other = await identity.make_user()
        r = await identity.post(f"/users/{other['id']}/api_tokens", identity.admin, {"name": "support"})
        assert r.status == 201, r
        assert r.body["user_id"] == other["id"]
        assert (await identity.session(r.body["id"]))["user_id"] == other["id"]

    async def test_token_deleters_revoke(self, identity):
        other = await identity.make_user()
        token = await identity.make_token(other["id"])
        revoker = identity.as_user(uuid4(), {"users.read", "api_tokens.read", "api_tokens.delete"})
        assert (await identity.delete(token["path"], revoker)).status == 200
        assert await identity.session(token["id"]) is None
