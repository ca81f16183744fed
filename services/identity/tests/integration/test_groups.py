"""Groups and their members: CRUD, uniqueness, cascades and the events access depends on."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

PUBLIC_URL = "http://marketplace.test"
CUSTOMER_ROLE = "00000000-0000-4000-8000-000000000004"


async def _appointments(identity, role_id: str) -> list[dict]:
    r = await identity.get(f"/roles/{role_id}/appointments", identity.admin, params={"per_page": "100"})
    assert r.status == 200, r
    return r.body["results"]


class TestCreateGroup:
    async def test_created_with_location(self, identity):
        r = await identity.post(
            "/groups", identity.admin, {"group": {"name": "Clinicians", "description": "MDs"}}
        )
        assert r.status == 201, r
        path = f"/groups/{r.body['id']}"
        assert (r.body["path"], r.body["url"], r.headers["Location"]) == (
            path,
            PUBLIC_URL + path,
            PUBLIC_URL + path,
        )
        assert (r.body["name"], r.body["description"]) == ("Clinicians", "MDs")

    async def test_bare_body_is_accepted(self, identity):
        r = await identity.post("/groups", identity.admin, {"name": "Bare"})
        assert r.status == 201, r

    async def test_default_role_is_appointed(self, identity):
        group = await identity.make_group()
        mine = [a for a in await _appointments(identity, CUSTOMER_ROLE) if a["entity_id"] == group["id"]]
        assert [a["entity_type"] for a in mine] == ["Group"]

    async def test_name_is_unique(self, identity):
        await identity.make_group("Taken")
        r = await identity.post("/groups", identity.admin, {"group": {"name": "Taken"}})
        assert r.status == 422, r
        assert "name" in r.errors

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "  "}, {"name": None}, {"name": "n" * 201}])
    async def test_invalid_name_is_422(self, identity, body):
        r = await identity.post("/groups", identity.admin, {"group": body})
        assert r.status == 422, r
        assert "name" in r.errors

    @pytest.mark.parametrize("persona", ["customer", "auditor", "operator"])
    async def test_needs_groups_create(self, identity, persona):
        r = await identity.post("/groups", identity.persona(persona), {"name": "Nope"})
        assert r.status == 403, r


class TestReadGroups:
    @pytest.mark.parametrize("persona", ["auditor", "operator"])
    async def test_groups_read_lists_and_shows(self, identity, persona):
        group = await identity.make_group("Visible")
        listed = await identity.get("/groups", identity.persona(persona))
        shown = await identity.get(group["path"], identity.persona(persona))
        assert [g["name"] for g in listed.body["results"]] == ["Visible"]
        assert shown.status == 200, shown
        assert shown.body == group

    async def test_customer_cannot_read(self, identity):
        group = await identity.make_group()
        assert (await identity.get("/groups", identity.customer)).status == 403
        assert (await identity.get(group["path"], identity.customer)).status == 403

    async def test_name_filter(self, identity):
        for name in ("Cardiology", "Radiology", "Billing"):
            await identity.make_group(name)
        r = await identity.get("/groups", identity.admin, params={"name": "OLOGY"})
        assert sorted(g["name"] for g in r.body["results"]) == ["Cardiology", "Radiology"]

    async def test_role_filter(self, identity):
        role = await identity.make_role({"groups": {"read": True}})
        chosen, _ = await identity.make_group("Chosen"), await identity.make_group("Other")
        await identity.appoint(role["id"], chosen["id"], "Group")
        r = await identity.get("/groups", identity.admin, params={"role": role["id"]})
        assert [g["name"] for g in r.body["results"]] == ["Chosen"]

    async def test_malformed_role_filter_is_422(self, identity):
        r = await identity.get("/groups", identity.admin, params={"role": "nope"})
        assert r.status == 422, r
        assert "role" in r.errors


class TestUpdateGroup:
    @pytest.mark.parametrize("method", ["PUT", "PATCH"])
    async def test_changes_given_fields(self, identity, method):
        group = await identity.make_group("Old", description="keep")
        r = await identity.request(method, group["path"], identity.admin, {"group": {"name": "New"}})
        assert r.status == 200, r
        assert (r.body["name"], r.body["description"]) == ("New", "keep")

    async def test_name_is_unique(self, identity):
        await identity.make_group("Taken")
        group = await identity.make_group("Free")
        r = await identity.patch(group["path"], identity.admin, {"name": "Taken"})
        assert r.status == 422, r
        assert "name" in r.errors

    async def test_null_name_is_422(self, identity):
        group = await identity.make_group()
        r = await identity.patch(group["path"], identity.admin, {"name": None})
        assert r.status == 422, r
        assert "name" in r.errors

    async def test_auditor_cannot_update(self, identity):
        group = await identity.make_group()
        r = await identity.patch(group["path"], identity.auditor, {"name": "Mine"})
        assert r.status == 403, r


class TestDeleteGroup:
    async def test_204_and_cascades(self, identity):
        group = await identity.make_group()
        role = await identity.make_role({"groups": {"read": True}})
        alice, bob = await identity.make_user(), await identity.make_user()
        member = await identity.add_member(group["id"], alice["id"])
        await identity.add_member(group["id"], bob["id"])
        await identity.appoint(role["id"], group["id"], "Group")

        mark = await identity.outbox_mark()
        r = await identity.delete(group["path"], identity.admin)

        assert r.status == 204, r
        assert r.body is None
        assert (await identity.get(group["path"], identity.admin)).status == 404
        assert (await identity.get(member["path"], identity.admin)).status == 404
        conn = await identity.db()
        for table in ("members", "appointments"):
            assert (
                await conn.fetchval(f"SELECT count(*) FROM {table} WHERE group_id = $1", UUID(group["id"]))
                == 0
            )
        assert await _appointments(identity, role["id"]) == []
        # The users themselves stay.
        assert (await identity.get(f"/users/{alice['id']}", identity.admin)).status == 200
        events = await identity.events_since(mark)
        assert ("identity.group.deleted", group["id"]) in [(t, b.get("group_id")) for t, b in events]
        [changed] = [b for t, b in events if t == "identity.access.changed"]
        assert sorted(changed["user_ids"]) == sorted([alice["id"], bob["id"]])

    async def test_unknown_is_404(self, identity):
        r = await identity.delete(f"/groups/{uuid4()}", identity.admin)
        assert r.status == 404, r


class TestMembers:
    async def test_add_is_201_and_announced_in_the_same_transaction(self, identity):
        group, user = await identity.make_group(), await identity.make_user()
        mark = await identity.outbox_mark()
        r = await identity.post(
            f"{group['path']}/members", identity.admin, {"member": {"user_id": user["id"]}}
        )
        assert r.status == 201, r
        path = f"{group['path']}/members/{r.body['id']}"
        assert (r.body["path"], r.headers["Location"]) == (path, PUBLIC_URL + path)
        assert (r.body["group_id"], r.body["user_id"]) == (group["id"], user["id"])
        events = await identity.events_since(mark)
        assert [t for t, _ in events] == ["identity.membership.changed", "identity.access.changed"]
        assert events[0][1] | {"event_id": None, "occurred_at": None} == {
            "event_id": None,
            "occurred_at": None,
            "producer": "identity",
            "correlation_id": None,
            "group_id": group["id"],
            "user_id": user["id"],
            "member": True,
        }
        assert events[1][1]["user_ids"] == [user["id"]]
        assert await identity.written_with("members", r.body["id"], mark)

    async def test_member_is_unique(self, identity):
        group, user = await identity.make_group(), await identity.make_user()
        await identity.add_member(group["id"], user["id"])
        mark = await identity.outbox_mark()
        r = await identity.post(f"{group['path']}/members", identity.admin, {"user_id": user["id"]})
        assert r.status == 422, r
        assert "user_id" in r.errors
        assert await identity.events_since(mark) == []

    async def test_unknown_user_is_422(self, identity):
        group = await identity.make_group()
        r = await identity.post(f"{group['path']}/members", identity.admin, {"user_id": str(uuid4())})
        assert r.status == 422, r
        assert "user_id" in r.errors

    async def test_other_group_id_in_body_is_422(self, identity):
        group, other, user = (
            await identity.make_group(),
            await identity.make_group(),
            await identity.make_user(),
        )
        r = await identity.post(
            f"{group['path']}/members", identity.admin, {"user_id": user["id"], "group_id": other["id"]}
        )
        assert r.status == 422, r
        assert "group_id" in r.errors

    async def test_unknown_group_is_404(self, identity):
        user = await identity.make_user()
        r = await identity.post(f"/groups/{uuid4()}/members", identity.admin, {"user_id": user["id"]})
        assert r.status == 404, r

    async def test_list_and_show(self, identity):
        group, other = await identity.make_group(), await identity.make_group()
        users = [await identity.make_user() for _ in range(2)]
        members = [await identity.add_member(group["id"], u["id"]) for u in users]
        await identity.add_member(other["id"], users[0]["id"])
        listed = await identity.get(f"{group['path']}/members", identity.auditor)
        assert listed.status == 200, listed
        assert sorted(m["id"] for m in listed.body["results"]) == sorted(m["id"] for m in members)
        shown = await identity.get(members[0]["path"], identity.auditor)
        assert (shown.status, shown.body["user_id"]) == (200, users[0]["id"])

    async def test_member_of_another_group_is_404(self, identity):
        group, other, user = (
            await identity.make_group(),
            await identity.make_group(),
            await identity.make_user(),
        )
        member = await identity.add_member(group["id"], user["id"])
        r = await identity.get(f"{other['path']}/members/{member['id']}", identity.admin)
        assert r.status == 404, r
        r = await identity.delete(f"{other['path']}/members/{member['id']}", identity.admin)
        assert r.status == 404, r

    async def test_remove_is_204_and_announced(self, identity):
        group, user = await identity.make_group(), await identity.make_user()
        member = await identity.add_member(group["id"], user["id"])
        mark = await identity.outbox_mark()
        r = await identity.delete(member["path"], identity.admin)
        assert r.status == 204, r
        assert (await identity.get(member["path"], identity.admin)).status == 404
        events = await identity.events_since(mark)
        assert [(t, b.get("user_id"), b.get("member")) for t, b in events][0] == (
            "identity.membership.changed",
            user["id"],
            False,
        )
        assert [b["user_ids"] for t, b in events if t == "identity.access.changed"] == [[user["id"]]]

    @pytest.mark.parametrize("persona", ["auditor", "operator", "customer"])
    async def test_changing_members_needs_groups_update(self, identity, persona):
        group, user = await identity.make_group(), await identity.make_user()
        member = await identity.add_member(group["id"], user["id"])
        who = identity.persona(persona)
        assert (await identity.post(f"{group['path']}/members", who, {"user_id": user["id"]})).status == 403
        assert (await identity.delete(member["path"], who)).status == 403


class TestUpdateMember:
    """The reference clients PUT/PATCH a membership ({member: {group_id, user_id}})."""

    @pytest.mark.parametrize("method", ["PUT", "PATCH"])
    async def test_moving_a_membership_to_another_user(self, identity, method):
        group, old, new = await identity.make_group(), await identity.make_user(), await identity.make_user()
        member = await identity.add_member(group["id"], old["id"])
        mark = await identity.outbox_mark()
        r = await identity.request(method, member["path"], identity.admin, {"member": {"user_id": new["id"]}})
        assert r.status == 200, r
        assert (r.body["id"], r.body["group_id"], r.body["user_id"]) == (member["id"], group["id"], new["id"])
        assert r.body["updated_at"] >= member["updated_at"]
        shown = await identity.get(member["path"], identity.admin)
        assert shown.body["user_id"] == new["id"]
        events = await identity.events_since(mark)
        changed = [(b["user_id"], b["member"]) for t, b in events if t == "identity.membership.changed"]
        assert changed == [(old["id"], False), (new["id"], True)]
        assert [sorted(b["user_ids"]) for t, b in events if t == "identity.access.changed"] == [
            sorted([old["id"], new["id"]])
        ]
        assert await identity.written_with("members", member["id"], mark)

    async def test_echoed_membership_changes_nothing(self, identity):
        group, user = await identity.make_group(), await identity.make_user()
        member = await identity.add_member(group["id"], user["id"])
        mark = await identity.outbox_mark()
        r = await identity.put(member["path"], identity.admin, {"member": member})
        assert r.status == 200, r
        assert r.body["user_id"] == user["id"]
        assert await identity.events_since(mark) == []

    async def test_user_already_a_member_is_422(self, identity):
        group, a, b = await identity.make_group(), await identity.make_user(), await identity.make_user()
        member = await identity.add_member(group["id"], a["id"])
        await identity.add_member(group["id"], b["id"])
        mark = await identity.outbox_mark()
        r = await identity.patch(member["path"], identity.admin, {"user_id": b["id"]})
        assert r.status == 422, r
        assert "user_id" in r.errors
        assert await identity.events_since(mark) == []

    @pytest.mark.parametrize(
        ("field", "value"), [("user_id", "UNKNOWN"), ("group_id", "OTHER"), ("user_id", None)]
    )
    async def test_invalid_fields_are_422(self, identity, field, value):
        group, other, user = (
            await identity.make_group(),
            await identity.make_group(),
            await identity.make_user(),
        )
        member = await identity.add_member(group["id"], user["id"])
        value = {"UNKNOWN": str(uuid4()), "OTHER": other["id"]}.get(value, value)
        r = await identity.patch(member["path"], identity.admin, {field: value})
        assert r.status == 422, r
        assert field in r.errors
        assert (await identity.get(member["path"], identity.admin)).body["user_id"] == user["id"]

    async def test_member_of_another_group_is_404(self, identity):
        group, other, user = (
            await identity.make_group(),
            await identity.make_group(),
            await identity.make_user(),
        )
        member = await identity.add_member(group["id"], user["id"])
        r = await identity.patch(
            f"{other['path']}/members/{member['id']}", identity.admin, {"user_id": user["id"]}
        )
        assert r.status == 404, r

    @pytest.mark.parametrize("persona", ["auditor", "operator", "customer"])
    async def test_needs_groups_update_like_adding(self, identity, persona):
        group, user, other = (
            await identity.make_group(),
            await identity.make_user(),
            await identity.make_user(),
        )
        member = await identity.add_member(group["id"], user["id"])
        for method in ("PUT", "PATCH"):
            r = await identity.request(
                method, member["path"], identity.persona(persona), {"user_id": other["id"]}
            )
            assert r.status == 403, r
        assert (await identity.get(member["path"], identity.admin)).body["user_id"] == user["id"]
