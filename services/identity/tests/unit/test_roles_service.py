"""The Administrator role an operator's bootstrap appoints, and permission documents:
``roles.service`` over an in-memory store."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.testing import user
from hspm.identity.roles import models, service


class FakeStore:
    def __init__(self, *roles: dict[str, Any]) -> None:
        self.roles = {r["id"]: r for r in roles}
        self.appointments: list[tuple[UUID, UUID | None, UUID | None]] = []

    async def get_role(self, _: Any, role_id: UUID) -> dict[str, Any] | None:
        return self.roles.get(role_id)

    async def get_role_by_name(self, _: Any, name: str) -> dict[str, Any] | None:
        return next((r for r in self.roles.values() if r["name"] == name), None)

    async def insert_appointment(
        self, _: Any, appointment_id: UUID, role_id: UUID, user_id: UUID | None, group_id: UUID | None
    ) -> dict[str, Any]:
        self.appointments.append((role_id, user_id, group_id))
        return {"id": appointment_id, "role_id": role_id, "user_id": user_id, "group_id": group_id}

    async def insert_role(self, _: Any, role_id: UUID, fields: dict[str, Any]) -> dict[str, Any]:
        return {"id": role_id, **fields}


def install(monkeypatch: pytest.MonkeyPatch, *roles: dict[str, Any]) -> tuple[FakeStore, list[Any]]:
    fake, sent = FakeStore(*roles), []

    async def emit(_: Any, event: Any) -> None:
        sent.append(event)

    monkeypatch.setattr(service, "store", fake)
    monkeypatch.setattr(service, "emit", emit)
    return fake, sent


class TestAppointAdministrator:
    async def test_by_its_well_known_id(self, monkeypatch: pytest.MonkeyPatch) -> None:
        admin = {"id": service.ADMINISTRATOR_ID, "name": "Administrator"}
        store, events = install(monkeypatch, admin)
        user_id = uuid4()
        await service.appoint_administrator(None, user_id)
        assert store.appointments == [(service.ADMINISTRATOR_ID, user_id, None)]
        # The gateways drop whatever they cached for this user.
        assert [e.user_ids for e in events] == [[user_id]]

    async def test_by_its_name_where_the_id_differs(self, monkeypatch: pytest.MonkeyPatch) -> None:
        renumbered = {"id": uuid4(), "name": service.ADMINISTRATOR_NAME}
        store, _ = install(monkeypatch, {"id": uuid4(), "name": "Operator"}, renumbered)
        await service.appoint_administrator(None, uuid4())
        assert [role for role, _, _ in store.appointments] == [renumbered["id"]]

    async def test_refuses_when_there_is_none(self, monkeypatch: pytest.MonkeyPatch) -> None:
        store, _ = install(monkeypatch, {"id": uuid4(), "name": "Operator"})
        with pytest.raises(NotFound, match="Administrator"):
            await service.appoint_administrator(None, uuid4())
        assert store.appointments == []


class TestRolePermissions:
    async def test_a_new_role_keeps_only_what_it_grants(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install(monkeypatch)
        body = models.RoleCreate(name="Reader", permissions={"users": {"read": "true", "delete": False}})
        row = await service.create_role(None, user(["roles.create"]), body)
        assert row["permissions"]["users"]["read"] is True

    async def test_keys_outside_the_template_are_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install(monkeypatch)
        body = models.RoleCreate(name="Pilot", permissions={"planes": {"fly": True}})
        with pytest.raises(ValidationFailed) as refused:
            await service.create_role(None, user(["roles.create"]), body)
        assert "permissions" in refused.value.errors
