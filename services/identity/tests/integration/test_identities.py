"""Identities: a user's credentials at identity providers, owned by that user."""

from __future__ import annotations

from uuid import uuid4

import jwt
import pytest

PUBLIC_URL = "http://marketplace.test"


async def _link(identity, user_id: str, idp_id: str, sub: str | None = None, **fields) -> dict:
    body = {"identity_provider_id": idp_id, "sub": sub or f"sub-{uuid4().hex[:8]}", **fields}
    r = await identity.post(f"/users/{user_id}/identities", identity.admin, {"identity": body})
    assert r.status == 201, r
    return r.body


class TestLinkIdentity:
    async def test_created_with_location(self, identity):
        idp, user = await identity.make_idp(), await identity.make_user()
        r = await identity.post(
            f"/users/{user['id']}/identities",
            identity.admin,
            {"identity": {"identity_provider_id": idp["id"], "sub": "abc", "email": "a@example.org"}},
        )
        assert r.status == 201, r
        path = f"/users/{user['id']}/identities/{r.body['id']}"
        assert (r.body["path"], r.body["url"], r.headers["Location"]) == (
            path,
            PUBLIC_URL + path,
            PUBLIC_URL + path,
        )
        assert (r.body["user_id"], r.body["identity_provider_id"], r.body["sub"]) == (
            user["id"],
            idp["id"],
            "abc",
        )
        assert r.body["notify_via_email"] is False
        assert "jwt" not in r.body

    async def test_user_id_in_the_body_cannot_redirect_it(self, identity):
        idp, user, other = await identity.make_idp(), await identity.make_user(), await identity.make_user()
        r = await identity.post(
            f"/users/{user['id']}/identities",
            identity.admin,
            {"identity_provider_id": idp["id"], "sub": "s", "user_id": other["id"]},
        )
        assert r.status == 201, r
        assert r.body["user_id"] == user["id"]

    async def test_sub_is_unique_per_identity_provider(self, identity):
        idp, other_idp = await identity.make_idp(), await identity.make_idp()
        first, second = await identity.make_user(), await identity.make_user()
        await _link(identity, first["id"], idp["id"], "same-sub")
        r = await identity.post(
            f"/users/{second['id']}/identities",
            identity.admin,
            {"identity_provider_id": idp["id"], "sub": "same-sub"},
        )
        assert r.status == 422, r
        assert "sub" in r.errors
        # The same subject at another provider is another person.
        await _link(identity, second["id"], other_idp["id"], "same-sub")

    async def test_unknown_identity_provider_is_422(self, identity):
        user = await identity.make_user()
        r = await identity.post(
            f"/users/{user['id']}/identities",
            identity.admin,
            {"identity_provider_id": str(uuid4()), "sub": "x"},
        )
        assert r.status == 422, r
        assert "identity_provider_id" in r.errors

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"sub": "x"}, "identity_provider_id"),
            ({"identity_provider_id": "IDP"}, "sub"),
            ({"identity_provider_id": "IDP", "sub": ""}, "sub"),
            ({"identity_provider_id": "IDP", "sub": "x", "email": "nope"}, "email"),
            ({"identity_provider_id": "IDP", "sub": "x", "notify_via_sms": "often"}, "notify_via_sms"),
        ],
    )
    async def test_invalid_fields_are_422(self, identity, body, field):
        idp, user = await identity.make_idp(), await identity.make_user()
        body = {k: idp["id"] if v == "IDP" else v for k, v in body.items()}
        r = await identity.post(f"/users/{user['id']}/identities", identity.admin, body)
        assert r.status == 422, r
        assert field in r.errors

    async def test_owner_cannot_link_without_users_update(self, identity):
        idp, user = await identity.make_idp(), await identity.make_user()
        r = await identity.post(
            f"/users/{user['id']}/identities",
            identity.as_user(user["id"]),
            {"identity_provider_id": idp["id"], "sub": "mine"},
        )
        assert r.status == 403, r

    async def test_unknown_user_is_404(self, identity):
        idp = await identity.make_idp()
        r = await identity.post(
            f"/users/{uuid4()}/identities", identity.admin, {"identity_provider_id": idp["id"], "sub": "x"}
        )
        assert r.status == 404, r


class TestOwnIdentities:
    async def test_owner_reads_and_lists_own(self, identity):
        idp, user = await identity.make_idp(), await identity.make_user()
        linked = await _link(identity, user["id"], idp["id"])
        me = identity.as_user(user["id"])
        listed = await identity.get(f"/users/{user['id']}/identities", me)
        shown = await identity.get(linked["path"], me)
        assert listed.status == 200, listed
        assert [i["id"] for i in listed.body["results"]] == [linked["id"]]
        assert shown.status == 200, shown
        assert shown.body == linked | {"updated_at": shown.body["updated_at"]}

    async def test_owner_deletes_own(self, identity):
        idp, user = await identity.make_idp(), await identity.make_user()
        linked = await _link(identity, user["id"], idp["id"])
        r = await identity.delete(linked["path"], identity.as_user(user["id"]))
        assert r.status == 200, r
        assert r.body["id"] == linked["id"]
        assert (await identity.get(linked["path"], identity.admin)).status == 404

    async def test_owner_changes_notification_choices(self, identity):
        idp, user = await identity.make_idp(), await identity.make_user()
        linked = await _link(identity, user["id"], idp["id"])
        r = await identity.patch(
            linked["path"], identity.as_user(user["id"]), {"identity": {"notify_via_email": True}}
        )
        assert r.status == 200, r
        assert (r.body["notify_via_email"], r.body["notify_via_sms"]) == (True, False)

    async def test_others_identities_are_invisible(self, identity):
        idp, owner, stranger = (
            await identity.make_idp(),
            await identity.make_user(),
            await identity.make_user(),
        )
        linked = await _link(identity, owner["id"], idp["id"])
        them = identity.as_user(stranger["id"])
        for r in (
            await identity.get(linked["path"], them),
            await identity.get(f"/users/{owner['id']}/identities", them),
            await identity.patch(linked["path"], them, {"notify_via_sms": True}),
            await identity.delete(linked["path"], them),
        ):
            assert r.status == 404, r

    async def test_identity_under_another_user_path_is_404(self, identity):
        idp, owner, other = await identity.make_idp(), await identity.make_user(), await identity.make_user()
        linked = await _link(identity, owner["id"], idp["id"])
        r = await identity.get(f"/users/{other['id']}/identities/{linked['id']}", identity.admin)
        assert r.status == 404, r

    async def test_auditor_reads_but_cannot_delete(self, identity):
        idp, owner = await identity.make_idp(), await identity.make_user()
        linked = await _link(identity, owner["id"], idp["id"])
        assert (await identity.get(linked["path"], identity.auditor)).status == 200
        assert (await identity.delete(linked["path"], identity.auditor)).status == 403


class TestMoveIdentity:
    async def test_owner_cannot_move_it(self, identity):
        idp, owner, other = await identity.make_idp(), await identity.make_user(), await identity.make_user()
        linked = await _link(identity, owner["id"], idp["id"])
        r = await identity.patch(linked["path"], identity.as_user(owner["id"]), {"user_id": other["id"]})
        assert r.status == 403, r
        assert (await identity.get(linked["path"], identity.admin)).status == 200

    async def test_users_update_moves_it(self, identity):
        idp, owner, other = await identity.make_idp(), await identity.make_user(), await identity.make_user()
        linked = await _link(identity, owner["id"], idp["id"])
        r = await identity.put(linked["path"], identity.admin, {"user_id": other["id"]})
        assert r.status == 200, r
        assert r.body["path"] == f"/users/{other['id']}/identities/{linked['id']}"
        assert (await identity.get(r.body["path"], identity.admin)).status == 200
        assert (await identity.get(linked["path"], identity.admin)).status == 404

    async def test_to_unknown_user_is_422(self, identity):
        idp, owner = await identity.make_idp(), await identity.make_user()
        linked = await _link(identity, owner["id"], idp["id"])
        r = await identity.patch(linked["path"], identity.admin, {"user_id": str(uuid4())})
        assert r.status == 422, r
        assert "user_id" in r.errors


class TestIdentityDeletionRevokesSessions:
    async def test_login_session_is_revoked(self, identity, oidc):
        login = await oidc.login("session-sub", name="Sam Session")
        assert login.status == 200, login
        claims = jwt.decode(login.body["jwt"], options={"verify_signature": False})
        [linked] = (await identity.get(f"/users/{claims['sub']}/identities", identity.admin)).body["results"]
        other_session = await identity.make_token(claims["sub"])
        assert await identity.session(claims["sid"]) is not None

        mark = await identity.outbox_mark()
        r = await identity.delete(linked["path"], identity.as_user(claims["sub"]))

        assert r.status == 200, r
        assert await identity.session(claims["sid"]) is None
        # An API token is not tied to the identity, so it survives.
        assert await identity.session(other_session["id"]) is not None
        assert [(t, b["session_id"], b["user_id"]) for t, b in await identity.events_since(mark)] == [
            ("identity.session.revoked", claims["sid"], claims["sub"])
        ]
