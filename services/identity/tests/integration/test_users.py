"""Users: create, read, update, list, delete, and what a deletion takes with it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal

PUBLIC_URL = "http://marketplace.test"
CUSTOMER_ROLE = "00000000-0000-4000-8000-000000000004"
OPERATOR_ROLE = "00000000-0000-4000-8000-000000000002"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _appointed(identity, role_id: str, entity_id: str) -> list[dict]:
    r = await identity.get(f"/roles/{role_id}/appointments", identity.admin, params={"per_page": "100"})
    assert r.status == 200, r
    return [a for a in r.body["results"] if a["entity_id"] == entity_id]


class TestCreateUser:
    async def test_wrapped_body_creates_with_location_path_and_url(self, identity):
        r = await identity.post(
            "/users",
            identity.admin,
            {"user": {"name": "Preston Garvey", "external_id": "ext-1", "email": "p@example.org"}},
        )
        assert r.status == 201, r
        uid = r.body["id"]
        assert UUID(uid).version == 4
        assert r.body["path"] == f"/users/{uid}"
        assert r.body["url"] == f"{PUBLIC_URL}/users/{uid}"
        assert r.headers["Location"] == r.body["url"]
        assert (r.body["name"], r.body["external_id"], r.body["email"]) == (
            "Preston Garvey",
            "ext-1",
            "p@example.org",
        )
        assert r.body["created_at"].endswith("Z")

    async def test_bare_body_is_accepted(self, identity):
        r = await identity.post("/users", identity.admin, {"name": "Bare Body", "first_name": "Bare"})
        assert r.status == 201, r
        assert (r.body["name"], r.body["first_name"]) == ("Bare Body", "Bare")

    async def test_client_supplied_id_is_kept(self, identity):
        wanted = str(uuid4())
        r = await identity.post("/users", identity.admin, {"user": {"id": wanted, "name": "Chosen"}})
        assert r.status == 201, r
        assert r.body["id"] == wanted

    async def test_taken_id_is_422(self, identity):
        taken = (await identity.make_user())["id"]
        r = await identity.post("/users", identity.admin, {"user": {"id": taken, "name": "Again"}})
        assert r.status == 422, r
        assert "id" in r.errors

    async def test_default_role_is_appointed(self, identity):
        user = await identity.make_user()
        [appointment] = await _appointed(identity, CUSTOMER_ROLE, user["id"])
        assert appointment["entity_type"] == "User"
        assert await _appointed(identity, OPERATOR_ROLE, user["id"]) == []

    async def test_server_fields_are_ignored(self, identity):
        r = await identity.post(
            "/users",
            identity.admin,
            {
                "user": {
                    "name": "Echo",
                    "created_at": "2001-01-01T00:00:00Z",
                    "updated_at": "2001-01-01T00:00:00Z",
                    "url": "https://evil.example/users/1",
                    "path": "/elsewhere",
                }
            },
        )
        assert r.status == 201, r
        assert _ts(r.body["created_at"]).year > 2001
        assert r.body["url"].startswith(PUBLIC_URL)
        assert r.body["path"] == f"/users/{r.body['id']}"

    async def test_writes_user_created_event(self, identity):
        mark = await identity.outbox_mark()
        user = await identity.make_user("Eventful")
        events = await identity.events_since(mark)
        assert [(t, b["user_id"], b["name"]) for t, b in events] == [
            ("identity.user.created", user["id"], "Eventful")
        ]
        assert await identity.written_with("users", user["id"], mark)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": 7}, "name"),
            ({"name": "Bad Mail", "email": "not-an-email"}, "email"),
            ({"name": "Bad Id", "id": "nope"}, "id"),
            ({"name": "Long", "external_id": "e" * 501}, "external_id"),
        ],
    )
    async def test_invalid_fields_are_422(self, shared_identity, body, field):
        r = await shared_identity.post("/users", shared_identity.admin, {"user": body})
        assert r.status == 422, r
        assert field in r.errors


class TestReadUser:
    async def test_self_without_users_read(self, identity):
        user = await identity.make_user("Myself")
        me = identity.as_user(user["id"])
        assert "users.read" not in me.permissions
        r = await identity.get(f"/users/{user['id']}", me)
        assert r.status == 200, r
        assert r.body["name"] == "Myself"

    async def test_other_user_is_invisible_to_a_customer(self, identity):
        me, other = await identity.make_user(), await identity.make_user()
        seen = await identity.get(f"/users/{other['id']}", identity.as_user(me["id"]))
        missing = await identity.get(f"/users/{uuid4()}", identity.as_user(me["id"]))
        assert seen.status == missing.status == 404
        assert seen.body["detail"] == missing.body["detail"]

    @pytest.mark.parametrize("persona", ["auditor", "operator", "admin"])
    async def test_users_read_sees_anyone(self, identity, persona):
        other = await identity.make_user("Someone")
        r = await identity.get(f"/users/{other['id']}", identity.persona(persona))
        assert r.status == 200, r
        assert r.body["id"] == other["id"]

    async def test_anonymous_is_401(self, identity):
        other = await identity.make_user()
        r = await identity.get(f"/users/{other['id']}")
        assert r.status == 401, r


class TestUpdateUser:
    async def test_self_update_without_users_update(self, identity):
        user = await identity.make_user("Before")
        mark = await identity.outbox_mark()
        r = await identity.patch(
            f"/users/{user['id']}", identity.as_user(user["id"]), {"user": {"name": "After"}}
        )
        assert r.status == 200, r
        assert r.body["name"] == "After"
        assert _ts(r.body["updated_at"]) >= _ts(user["updated_at"])
        assert [t for t, _ in await identity.events_since(mark)] == ["identity.user.updated"]
        assert await identity.written_with("users", user["id"], mark)

    async def test_put_by_admin_changes_only_given_fields(self, identity):
        user = await identity.make_user("Keep", last_name="Same")
        r = await identity.put(f"/users/{user['id']}", identity.admin, {"first_name": "New"})
        assert r.status == 200, r
        assert (r.body["name"], r.body["first_name"], r.body["last_name"]) == ("Keep", "New", "Same")

    @pytest.mark.parametrize("persona", ["operator", "auditor"])
    async def test_read_without_update_is_403(self, identity, persona):
        other = await identity.make_user("Untouched")
        r = await identity.patch(f"/users/{other['id']}", identity.persona(persona), {"name": "Changed"})
        assert r.status == 403, r
        after = await identity.get(f"/users/{other['id']}", identity.admin)
        assert after.body["name"] == "Untouched"

    async def test_customer_cannot_update_another_user(self, identity):
        me, other = await identity.make_user(), await identity.make_user("Untouched")
        r = await identity.patch(f"/users/{other['id']}", identity.as_user(me["id"]), {"name": "Changed"})
        assert r.status == 404, r

    async def test_null_name_is_422(self, identity):
        user = await identity.make_user()
        r = await identity.patch(f"/users/{user['id']}", identity.admin, {"name": None})
        assert r.status == 422, r
        assert "name" in r.errors

    async def test_echoed_server_fields_are_ignored(self, identity):
        user = await identity.make_user("Echoed")
        body = {k: user[k] for k in ("name", "created_at", "updated_at", "url", "path")}
        body["created_at"] = "1999-12-31T23:59:59Z"
        r = await identity.put(f"/users/{user['id']}", identity.admin, {"user": body})
        assert r.status == 200, r
        assert r.body["created_at"] == user["created_at"]


class TestListUsers:
    async def test_auditor_lists_customer_cannot(self, identity):
        await identity.make_user()
        listed = await identity.get("/users", identity.auditor)
        refused = await identity.get("/users", identity.customer)
        assert listed.status == 200, listed
        assert listed.body["total_entries"] == 1
        assert refused.status == 403, refused

    async def test_name_filter_is_fuzzy_and_case_insensitive(self, identity):
        for name in ("Preston Garvey", "Piper Wright", "Mr. PRESTON"):
            await identity.make_user(name)
        r = await identity.get("/users", identity.admin, params={"name": "resto"})
        assert r.status == 200, r
        assert sorted(u["name"] for u in r.body["results"]) == ["Mr. PRESTON", "Preston Garvey"]

    async def test_name_filter_treats_wildcards_literally(self, identity):
        await identity.make_user("Plain Name")
        await identity.make_user("100% Real")
        r = await identity.get("/users", identity.admin, params={"name": "%"})
        assert [u["name"] for u in r.body["results"]] == ["100% Real"]

    async def test_external_id_filter_is_exact(self, identity):
        await identity.make_user("A", external_id="abc")
        await identity.make_user("B", external_id="abcd")
        r = await identity.get("/users", identity.admin, params={"external_id": "abc"})
        assert [u["name"] for u in r.body["results"]] == ["A"]

    async def test_default_page_size_is_10(self, identity):
        for n in range(11):
            await identity.make_user(f"user {n:02}")
        r = await identity.get("/users", identity.admin)
        assert (len(r.body["results"]), r.body["total_pages"], r.body["next_page"]) == (10, 2, 2)

    async def test_sort_and_order(self, identity):
        for name in ("bravo", "alpha", "charlie"):
            await identity.make_user(name)
        r = await identity.get("/users", identity.admin, params={"sort": "name", "order": "desc"})
        assert [u["name"] for u in r.body["results"]] == ["charlie", "bravo", "alpha"]


class TestDeleteUser:
    async def test_admin_cannot_delete_self(self, identity):
        me = await identity.make_user("Admin Self")
        admin_me = identity.as_user(me["id"], {"everything.manage"})
        r = await identity.delete(f"/users/{me['id']}", admin_me)
        assert r.status == 403, r
        assert (await identity.get(f"/users/{me['id']}", identity.admin)).status == 200

    async def test_unknown_user_is_404(self, identity):
        r = await identity.delete(f"/users/{uuid4()}", identity.admin)
        assert r.status == 404, r

    async def test_cascades_and_revokes_sessions(self, identity):
        idp = await identity.make_idp()
        user = await identity.make_user("Doomed")
        uid = user["id"]
        ident = await identity.post(
            f"/users/{uid}/identities",
            identity.admin,
            {"identity": {"identity_provider_id": idp["id"], "sub": "doomed-sub"}},
        )
        assert ident.status == 201, ident
        group = await identity.make_group()
        await identity.add_member(group["id"], uid)
        await identity.appoint(OPERATOR_ROLE, uid)
        live = [await identity.make_token(uid), await identity.make_token(uid)]
        dead = await identity.make_token(uid)
        revoked = await identity.delete(f"/users/{uid}/api_tokens/{dead['id']}", identity.as_user(uid))
        assert revoked.status == 200, revoked
        bystander = await identity.make_user("Bystander")
        bystander_token = await identity.make_token(bystander["id"])

        mark = await identity.outbox_mark()
        r = await identity.delete(f"/users/{uid}", identity.admin)

        assert r.status == 200, r
        assert (r.body["id"], r.body["name"]) == (uid, "Doomed")
        assert (await identity.get(f"/users/{uid}", identity.admin)).status == 404
        conn = await identity.db()
        for table in ("identities", "members", "appointments", "sessions"):
            left = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", UUID(uid))
            assert left == 0, table
        members = await identity.get(f"/groups/{group['id']}/members", identity.admin)
        assert members.body["results"] == []
        assert await _appointed(identity, OPERATOR_ROLE, uid) == []
        for token in live:
            assert await identity.session(token["id"]) is None
        assert await identity.session(bystander_token["id"]) is not None
        events = await identity.events_since(mark)
        revoked_ids = sorted(b["session_id"] for t, b in events if t == "identity.session.revoked")
        assert revoked_ids == sorted(t["id"] for t in live)
        assert [b["user_id"] for t, b in events if t == "identity.user.deleted"] == [uid]
        assert all(b.get("user_id") == uid for t, b in events if t == "identity.session.revoked")

    async def test_customer_cannot_delete(self, identity):
        me, other = await identity.make_user(), await identity.make_user()
        r = await identity.delete(f"/users/{other['id']}", identity.as_user(me["id"]))
        assert r.status == 403, r


class TestSelfPrincipal:
    """A user principal for a real user, so status and owner checks see a real row."""

    async def test_owner_rights_need_no_permissions(self, identity):
        user = await identity.make_user()
        bare = Principal(kind="user", user_id=UUID(user["id"]), session_id=uuid4())
        assert (await identity.get(f"/users/{user['id']}", bare)).status == 200
        assert (await identity.patch(f"/users/{user['id']}", bare, {"salutation": "Dr"})).status == 200
