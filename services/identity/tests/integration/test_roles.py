"""Roles, appointments, and the effective permissions the gateway receives."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from hspm.common import permissions

PUBLIC_URL = "http://marketplace.test"
ADMINISTRATOR_ROLE = "00000000-0000-4000-8000-000000000001"
OPERATOR_ROLE = "00000000-0000-4000-8000-000000000002"
CUSTOMER_ROLE = "00000000-0000-4000-8000-000000000004"
BUILTIN = [
    ADMINISTRATOR_ROLE,
    OPERATOR_ROLE,
    "00000000-0000-4000-8000-000000000003",
    CUSTOMER_ROLE,
    "00000000-0000-4000-8000-000000000005",
    "00000000-0000-4000-8000-000000000006",  # Compliance Validator
]


class TestCreateRole:
    async def test_permissions_fill_the_whole_template(self, identity):
        r = await identity.post(
            "/roles",
            identity.admin,
            {"role": {"name": "Reader", "description": "reads", "permissions": {"users": {"read": True}}}},
        )
        assert r.status == 201, r
        path = f"/roles/{r.body['id']}"
        assert (r.body["path"], r.headers["Location"]) == (path, PUBLIC_URL + path)
        assert (r.body["default"], r.body["builtin"]) == (False, False)
        doc = r.body["permissions"]
        assert set(doc) == set(permissions.TEMPLATE)
        assert all(set(doc[res]) == set(verbs) for res, verbs in permissions.TEMPLATE.items())
        assert permissions.granted(doc) == {"users.read"}

    async def test_true_strings_are_coerced(self, identity):
        role = await identity.make_role({"groups": {"read": "true", "create": "1", "update": "false"}})
        assert permissions.granted(role["permissions"]) == {"groups.read", "groups.create"}

    async def test_no_permissions_means_none(self, identity):
        r = await identity.post("/roles", identity.admin, {"name": "Empty"})
        assert r.status == 201, r
        assert permissions.granted(r.body["permissions"]) == set()

    async def test_unknown_resources_and_verbs_are_listed(self, identity):
        r = await identity.post(
            "/roles",
            identity.admin,
            {"role": {"name": "Bad", "permissions": {"spaceships": {"fly": True}, "users": {"fly": True}}}},
        )
        assert r.status == 422, r
        messages = " ".join(r.errors["permissions"])
        assert "spaceships" in messages
        assert "users.fly" in messages

    @pytest.mark.parametrize(
        "perms",
        [
            {"users": {"read": "maybe"}},
            {"users": {"read": 5}},
            {"users": {"read": [True]}},
            {"users": True},
            [],
            "everything",
        ],
    )
    async def test_non_boolean_permissions_are_422(self, identity, perms):
        r = await identity.post("/roles", identity.admin, {"role": {"name": "Bad", "permissions": perms}})
        assert r.status == 422, r
        assert "permissions" in r.errors

    async def test_name_is_unique(self, identity):
        r = await identity.post("/roles", identity.admin, {"name": "Customer"})
        assert r.status == 422, r
        assert "name" in r.errors

    @pytest.mark.parametrize("persona", ["customer", "auditor", "operator"])
    async def test_needs_roles_create(self, identity, persona):
        r = await identity.post("/roles", identity.persona(persona), {"name": "Mine"})
        assert r.status == 403, r


class TestReadRoles:
    async def test_lists_the_builtin_roles(self, identity):
        r = await identity.get("/roles", identity.admin)
        assert r.status == 200, r
        assert sorted(x["id"] for x in r.body["results"]) == sorted(BUILTIN)
        assert all(x["builtin"] for x in r.body["results"])

    async def test_default_filter(self, identity):
        await identity.make_role({}, name="Also default", default=True)
        defaults = await identity.get("/roles", identity.admin, params={"default": "true"})
        others = await identity.get("/roles", identity.admin, params={"default": "false"})
        assert sorted(x["name"] for x in defaults.body["results"]) == ["Also default", "Customer"]
        assert others.body["total_entries"] == 5  # the built-in roles that are not the default

    async def test_bad_default_filter_is_422(self, identity):
        r = await identity.get("/roles", identity.admin, params={"default": "maybe"})
        assert r.status == 422, r
        assert "default" in r.errors

    async def test_show(self, identity):
        r = await identity.get(f"/roles/{OPERATOR_ROLE}", identity.admin)
        assert r.status == 200, r
        assert r.body["name"] == "Operator"
        assert permissions.granted(r.body["permissions"]) == identity.role_keys[UUID(OPERATOR_ROLE)]

    @pytest.mark.parametrize("persona", ["customer", "auditor", "operator"])
    async def test_needs_roles_read(self, identity, persona):
        assert (await identity.get("/roles", identity.persona(persona))).status == 403
        assert (await identity.get(f"/roles/{CUSTOMER_ROLE}", identity.persona(persona))).status == 403


class TestUpdateRole:
    async def test_permission_change_announces_access_change(self, identity):
        role = await identity.make_role({"users": {"read": True}})
        direct, via_group, _outsider = [await identity.make_user() for _ in range(3)]
        group = await identity.make_group()
        await identity.add_member(group["id"], via_group["id"])
        await identity.appoint(role["id"], direct["id"])
        await identity.appoint(role["id"], group["id"], "Group")

        mark = await identity.outbox_mark()
        r = await identity.patch(
            role["path"], identity.admin, {"role": {"permissions": {"groups": {"read": True}}}}
        )

        assert r.status == 200, r
        assert permissions.granted(r.body["permissions"]) == {"groups.read"}
        [(kind, body)] = await identity.events_since(mark)
        assert kind == "identity.access.changed"
        assert sorted(body["user_ids"]) == sorted([direct["id"], via_group["id"]])
        assert await identity.written_with("roles", role["id"], mark)

    async def test_renaming_is_not_an_access_change(self, identity):
        role = await identity.make_role({})
        mark = await identity.outbox_mark()
        r = await identity.put(role["path"], identity.admin, {"name": "Renamed", "description": "new"})
        assert (r.status, r.body["name"]) == (200, "Renamed")
        assert await identity.events_since(mark) == []

    @pytest.mark.parametrize("field", ["name", "default", "permissions"])
    async def test_null_is_422(self, identity, field):
        role = await identity.make_role({})
        r = await identity.patch(role["path"], identity.admin, {field: None})
        assert r.status == 422, r
        assert field in r.errors

    async def test_unknown_permission_is_422(self, identity):
        role = await identity.make_role({})
        r = await identity.patch(role["path"], identity.admin, {"permissions": {"users": {"fly": True}}})
        assert r.status == 422, r
        assert "permissions" in r.errors

    async def test_name_is_unique(self, identity):
        role = await identity.make_role({})
        r = await identity.patch(role["path"], identity.admin, {"name": "Operator"})
        assert r.status == 422, r
        assert "name" in r.errors


class TestDeleteRole:
    @pytest.mark.parametrize("role_id", BUILTIN)
    async def test_builtin_is_409(self, identity, role_id):
        r = await identity.delete(f"/roles/{role_id}", identity.admin)
        assert r.status == 409, r
        assert (await identity.get(f"/roles/{role_id}", identity.admin)).status == 200

    async def test_custom_role_is_deleted_with_its_appointments(self, identity):
        role = await identity.make_role({"groups": {"read": True}})
        user = await identity.make_user()
        await identity.appoint(role["id"], user["id"])
        assert "groups.read" in await identity.effective(user["id"])
        mark = await identity.outbox_mark()
        r = await identity.delete(role["path"], identity.admin)
        assert r.status == 200, r
        assert r.body["id"] == role["id"]
        assert (await identity.get(role["path"], identity.admin)).status == 404
        conn = await identity.db()
        assert (
            await conn.fetchval("SELECT count(*) FROM appointments WHERE role_id = $1", UUID(role["id"])) == 0
        )
        assert [(t, b["user_ids"]) for t, b in await identity.events_since(mark)] == [
            ("identity.access.changed", [user["id"]])
        ]
        assert "groups.read" not in await identity.effective(user["id"])


class TestAppointments:
    async def test_appoint_a_user(self, identity):
        role, user = await identity.make_role({}), await identity.make_user()
        mark = await identity.outbox_mark()
        r = await identity.post(
            f"{role['path']}/appointments",
            identity.admin,
            {"appointment": {"entity_id": user["id"], "entity_type": "User"}},
        )
        assert r.status == 201, r
        path = f"{role['path']}/appointments/{r.body['id']}"
        assert (r.body["path"], r.headers["Location"]) == (path, PUBLIC_URL + path)
        assert (r.body["role_id"], r.body["entity_id"], r.body["entity_type"]) == (
            role["id"],
            user["id"],
            "User",
        )
        assert [(t, b["user_ids"]) for t, b in await identity.events_since(mark)] == [
            ("identity.access.changed", [user["id"]])
        ]

    async def test_appoint_a_group(self, identity):
        role, group, user = (
            await identity.make_role({}),
            await identity.make_group(),
            await identity.make_user(),
        )
        await identity.add_member(group["id"], user["id"])
        mark = await identity.outbox_mark()
        r = await identity.post(
            f"{role['path']}/appointments", identity.admin, {"entity_id": group["id"], "entity_type": "Group"}
        )
        assert r.status == 201, r
        assert (r.body["entity_id"], r.body["entity_type"]) == (group["id"], "Group")
        assert [b["user_ids"] for _, b in await identity.events_since(mark)] == [[user["id"]]]

    @pytest.mark.parametrize("entity_type", ["User", "Group"])
    async def test_duplicate_is_422(self, identity, entity_type):
        role = await identity.make_role({})
        entity = await (identity.make_user() if entity_type == "User" else identity.make_group())
        await identity.appoint(role["id"], entity["id"], entity_type)
        r = await identity.post(
            f"{role['path']}/appointments",
            identity.admin,
            {"entity_id": entity["id"], "entity_type": entity_type},
        )
        assert r.status == 422, r
        assert "entity_id" in r.errors

    @pytest.mark.parametrize("entity_type", ["User", "Group"])
    async def test_unknown_entity_is_422(self, identity, entity_type):
        role = await identity.make_role({})
        r = await identity.post(
            f"{role['path']}/appointments",
            identity.admin,
            {"entity_id": str(uuid4()), "entity_type": entity_type},
        )
        assert r.status == 422, r
        assert "entity_id" in r.errors

    async def test_user_id_appointed_as_group_is_422(self, identity):
        role, user = await identity.make_role({}), await identity.make_user()
        r = await identity.post(
            f"{role['path']}/appointments", identity.admin, {"entity_id": user["id"], "entity_type": "Group"}
        )
        assert r.status == 422, r
        assert "entity_id" in r.errors

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"entity_type": "User"}, "entity_id"),
            ({"entity_id": "USER"}, "entity_type"),
            ({"entity_id": "USER", "entity_type": "Robot"}, "entity_type"),
            ({"entity_id": "USER", "entity_type": "User", "role_id": str(uuid4())}, "role_id"),
        ],
    )
    async def test_invalid_fields_are_422(self, identity, body, field):
        role, user = await identity.make_role({}), await identity.make_user()
        body = {k: user["id"] if v == "USER" else v for k, v in body.items()}
        r = await identity.post(f"{role['path']}/appointments", identity.admin, body)
        assert r.status == 422, r
        assert field in r.errors

    async def test_unknown_role_is_404(self, identity):
        user = await identity.make_user()
        r = await identity.post(
            f"/roles/{uuid4()}/appointments", identity.admin, {"entity_id": user["id"], "entity_type": "User"}
        )
        assert r.status == 404, r

    async def test_list_show_and_dismiss(self, identity):
        role, user = await identity.make_role({}), await identity.make_user()
        appointment = await identity.appoint(role["id"], user["id"])
        listed = await identity.get(f"{role['path']}/appointments", identity.admin)
        assert [a["id"] for a in listed.body["results"]] == [appointment["id"]]
        assert (await identity.get(appointment["path"], identity.admin)).body == appointment
        mark = await identity.outbox_mark()
        r = await identity.delete(appointment["path"], identity.admin)
        assert (r.status, r.body) == (204, None)
        assert (await identity.get(appointment["path"], identity.admin)).status == 404
        assert [b["user_ids"] for _, b in await identity.events_since(mark)] == [[user["id"]]]

    async def test_appointment_under_another_role_is_404(self, identity):
        role, other, user = (
            await identity.make_role({}),
            await identity.make_role({}),
            await identity.make_user(),
        )
        appointment = await identity.appoint(role["id"], user["id"])
        path = f"{other['path']}/appointments/{appointment['id']}"
        assert (await identity.get(path, identity.admin)).status == 404
        assert (await identity.delete(path, identity.admin)).status == 404

    @pytest.mark.parametrize("persona", ["customer", "auditor", "operator"])
    async def test_needs_roles_permissions(self, identity, persona):
        role, user = await identity.make_role({}), await identity.make_user()
        appointment = await identity.appoint(role["id"], user["id"])
        who = identity.persona(persona)
        body = {"entity_id": user["id"], "entity_type": "User"}
        assert (await identity.get(f"{role['path']}/appointments", who)).status == 403
        assert (await identity.get(appointment["path"], who)).status == 403
        assert (await identity.post(f"{role['path']}/appointments", who, body)).status == 403
        assert (await identity.delete(appointment["path"], who)).status == 403


class TestUpdateAppointment:
    """The reference clients PUT/PATCH an appointment ({appointment: {entity_id, entity_type}})."""

    @pytest.mark.parametrize("method", ["PUT", "PATCH"])
    async def test_moving_an_appointment_to_another_user(self, identity, method):
        role, old, new = (
            await identity.make_role({"groups": {"read": True}}),
            await identity.make_user(),
            await identity.make_user(),
        )
        appointment = await identity.appoint(role["id"], old["id"])
        mark = await identity.outbox_mark()
        body = {"appointment": {"entity_id": new["id"], "entity_type": "User"}}
        r = await identity.request(method, appointment["path"], identity.admin, body)
        assert r.status == 200, r
        assert (r.body["id"], r.body["role_id"], r.body["entity_id"], r.body["entity_type"]) == (
            appointment["id"],
            role["id"],
            new["id"],
            "User",
        )
        assert "groups.read" in await identity.effective(new["id"])
        assert "groups.read" not in await identity.effective(old["id"])
        changed = [
            sorted(b["user_ids"])
            for t, b in await identity.events_since(mark)
            if t == "identity.access.changed"
        ]
        assert changed[0] == sorted([old["id"], new["id"]])
        assert await identity.written_with("appointments", appointment["id"], mark)

    async def test_moving_it_to_a_group_reaches_the_members(self, identity):
        role, user, group, member = (
            await identity.make_role({}),
            await identity.make_user(),
            await identity.make_group(),
            await identity.make_user(),
        )
        await identity.add_member(group["id"], member["id"])
        appointment = await identity.appoint(role["id"], user["id"])
        mark = await identity.outbox_mark()
        r = await identity.patch(
            appointment["path"], identity.admin, {"entity_id": group["id"], "entity_type": "Group"}
        )
        assert r.status == 200, r
        assert (r.body["entity_id"], r.body["entity_type"]) == (group["id"], "Group")
        [event] = [b for t, b in await identity.events_since(mark) if t == "identity.access.changed"]
        assert sorted(event["user_ids"]) == sorted([user["id"], member["id"]])

    async def test_echoed_appointment_changes_nothing(self, identity):
        role, user = await identity.make_role({}), await identity.make_user()
        appointment = await identity.appoint(role["id"], user["id"])
        mark = await identity.outbox_mark()
        r = await identity.put(appointment["path"], identity.admin, {"appointment": appointment})
        assert r.status == 200, r
        assert r.body["entity_id"] == user["id"]
        assert await identity.events_since(mark) == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"entity_id": "UNKNOWN", "entity_type": "User"}, "entity_id"),
            ({"entity_id": "USER", "entity_type": "Group"}, "entity_id"),
            ({"entity_type": "Robot"}, "entity_type"),
            ({"role_id": "OTHER"}, "role_id"),
            ({"entity_id": None}, "entity_id"),
            ({"entity_id": "HOLDER", "entity_type": "User"}, "entity_id"),
        ],
    )
    async def test_invalid_fields_are_422(self, identity, body, field):
        role, other, user, holder = (
            await identity.make_role({}),
            await identity.make_role({}),
            await identity.make_user(),
            await identity.make_user(),
        )
        appointment = await identity.appoint(role["id"], user["id"])
        await identity.appoint(role["id"], holder["id"])
        names = {"UNKNOWN": str(uuid4()), "USER": user["id"], "OTHER": other["id"], "HOLDER": holder["id"]}
        body = {k: names.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        mark = await identity.outbox_mark()
        r = await identity.patch(appointment["path"], identity.admin, body)
        assert r.status == 422, r
        assert field in r.errors
        assert (await identity.get(appointment["path"], identity.admin)).body == appointment
        assert await identity.events_since(mark) == []

    async def test_appointment_under_another_role_is_404(self, identity):
        role, other, user = (
            await identity.make_role({}),
            await identity.make_role({}),
            await identity.make_user(),
        )
        appointment = await identity.appoint(role["id"], user["id"])
        path = f"{other['path']}/appointments/{appointment['id']}"
        assert (await identity.patch(path, identity.admin, {"entity_id": user["id"]})).status == 404

    @pytest.mark.parametrize("persona", ["customer", "auditor", "operator"])
    async def test_needs_roles_update_like_appointing(self, identity, persona):
        role, user, other = (
            await identity.make_role({}),
            await identity.make_user(),
            await identity.make_user(),
        )
        appointment = await identity.appoint(role["id"], user["id"])
        body = {"entity_id": other["id"], "entity_type": "User"}
        for method in ("PUT", "PATCH"):
            assert (
                await identity.request(method, appointment["path"], identity.persona(persona), body)
            ).status == 403
        assert (await identity.get(appointment["path"], identity.admin)).body == appointment


class TestEffectivePermissions:
    async def test_new_user_holds_the_default_role(self, identity):
        user = await identity.make_user()
        assert await identity.effective(user["id"]) == identity.role_keys[UUID(CUSTOMER_ROLE)]

    async def test_group_appointments_count(self, identity):
        role = await identity.make_role({"groups": {"read": True}, "roles": {"read": True}})
        group, user = await identity.make_group(), await identity.make_user()
        await identity.appoint(role["id"], group["id"], "Group")
        assert "groups.read" not in await identity.effective(user["id"])

        member = await identity.add_member(group["id"], user["id"])
        assert {"groups.read", "roles.read"} <= await identity.effective(user["id"])

        await identity.delete(member["path"], identity.admin)
        assert await identity.effective(user["id"]) == identity.role_keys[UUID(CUSTOMER_ROLE)]

    async def test_dismissing_a_group_appointment_takes_it_away(self, identity):
        role = await identity.make_role({"groups": {"read": True}})
        group, user = await identity.make_group(), await identity.make_user()
        await identity.add_member(group["id"], user["id"])
        appointment = await identity.appoint(role["id"], group["id"], "Group")
        assert "groups.read" in await identity.effective(user["id"])
        await identity.delete(appointment["path"], identity.admin)
        assert "groups.read" not in await identity.effective(user["id"])

    async def test_union_across_roles_and_false_never_revokes(self, identity):
        reader = await identity.make_role({"users": {"read": True}})
        grouper = await identity.make_role({"groups": {"read": True}, "users": {"read": False}})
        group, user = await identity.make_group(), await identity.make_user()
        await identity.appoint(reader["id"], user["id"])
        await identity.add_member(group["id"], user["id"])
        await identity.appoint(grouper["id"], group["id"], "Group")
        expected = identity.role_keys[UUID(CUSTOMER_ROLE)] | {"users.read", "groups.read"}
        assert await identity.effective(user["id"]) == expected

    async def test_everything_manage(self, identity):
        user = await identity.make_user()
        await identity.appoint(ADMINISTRATOR_ROLE, user["id"])
        assert permissions.MANAGE in await identity.effective(user["id"])

    async def test_role_update_applies_at_once(self, identity):
        role, user = await identity.make_role({"users": {"read": True}}), await identity.make_user()
        await identity.appoint(role["id"], user["id"])
        token = await identity.make_token(user["id"])
        assert "users.read" in (await identity.session(token["id"]))["permissions"]
        await identity.patch(role["path"], identity.admin, {"permissions": {"groups": {"read": True}}})
        keys = set((await identity.session(token["id"]))["permissions"])
        assert "users.read" not in keys
        assert "groups.read" in keys

    async def test_new_default_role_reaches_new_users_and_groups(self, identity):
        role = await identity.make_role({"attempts": {"read": True}}, default=True)
        user, group = await identity.make_user(), await identity.make_group()
        assert "attempts.read" in await identity.effective(user["id"])
        listed = await identity.get(f"{role['path']}/appointments", identity.admin)
        assert sorted((a["entity_type"], a["entity_id"]) for a in listed.body["results"]) == [
            ("Group", group["id"]),
            ("User", user["id"]),
        ]


class TestAccessChangedNamesWhoIsAffected:
    """An empty ``user_ids`` tells every gateway to drop every cached principal."""

    async def test_appointing_a_group_without_members_affects_nobody(self, identity):
        role, group = await identity.make_role({"groups": {"read": True}}), await identity.make_group()
        mark = await identity.outbox_mark()
        appointment = await identity.appoint(role["id"], group["id"], "Group")
        await identity.delete(appointment["path"], identity.admin)
        assert await identity.events_since(mark) == []

    async def test_changing_a_role_nobody_holds_affects_nobody(self, identity):
        role = await identity.make_role({})
        mark = await identity.outbox_mark()
        r = await identity.patch(role["path"], identity.admin, {"permissions": {"users": {"read": True}}})
        assert r.status == 200, r
        r = await identity.delete(role["path"], identity.admin)
        assert r.status == 200, r
        assert await identity.events_since(mark) == []

    async def test_deleting_a_group_without_members(self, identity):
        group = await identity.make_group()
        mark = await identity.outbox_mark()
        assert (await identity.delete(group["path"], identity.admin)).status == 204
        assert [t for t, _ in await identity.events_since(mark)] == ["identity.group.deleted"]
