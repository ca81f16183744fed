"""Who may read, change and delete a user: ``users.service`` over an in-memory store."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal
from hspm.common.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from hspm.common.testing import user
from hspm.identity.users import models, service

ANONYMOUS = Principal()


class FakeStore:
    """The users store's rows in a dict; only what these rules reach for."""

    def __init__(self, *rows: dict[str, Any]) -> None:
        self.users = {r["id"]: dict(r) for r in rows}

    async def get_user(self, _: Any, user_id: UUID) -> dict[str, Any] | None:
        return self.users.get(user_id)

    async def update_user(self, _: Any, user_id: UUID, fields: dict[str, Any]) -> dict[str, Any] | None:
        if user_id not in self.users:
            return None
        self.users[user_id] |= fields
        return self.users[user_id]


@pytest.fixture
def alice() -> dict[str, Any]:
    return {"id": uuid4(), "name": "Alice"}


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, alice: dict[str, Any]) -> FakeStore:
    fake = FakeStore(alice)
    monkeypatch.setattr(service, "store", fake)
    return fake


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    sent: list[Any] = []

    async def emit(_: Any, event: Any) -> None:
        sent.append(event)

    monkeypatch.setattr(service, "emit", emit)
    return sent


def scoped(user_id: UUID, *scopes: str) -> Principal:
    """A principal acting through an API token narrowed to ``scopes``."""
    return Principal(kind="user", user_id=user_id, session_id=uuid4(), scopes=frozenset(scopes))


class TestWhoMayReadAUser:
    async def test_users_read_themselves(self, store: FakeStore, alice: dict[str, Any]) -> None:
        assert (await service.get_user(None, user(user_id=alice["id"]), alice["id"]))["name"] == "Alice"

    async def test_users_read_grants_everyone(self, store: FakeStore, alice: dict[str, Any]) -> None:
        assert await service.get_user(None, user(["users.read"]), alice["id"])

    async def test_a_stranger_is_told_the_user_does_not_exist(
        self, store: FakeStore, alice: dict[str, Any]
    ) -> None:
        # Hidden and missing look the same, so ids cannot be probed.
        with pytest.raises(NotFound) as hidden:
            await service.get_user(None, user(), alice["id"])
        with pytest.raises(NotFound) as missing:
            await service.get_user(None, user(["users.read"]), uuid4())
        assert str(hidden.value) == str(missing.value)

    async def test_anonymous_callers_are_asked_to_sign_in(
        self, store: FakeStore, alice: dict[str, Any]
    ) -> None:
        with pytest.raises(Unauthorized):
            await service.get_user(None, ANONYMOUS, alice["id"])


class TestWhoMayUpdateAUser:
    async def test_users_update_themselves(
        self, store: FakeStore, events: list[Any], alice: dict[str, Any]
    ) -> None:
        body = models.UserUpdate(name="Alice B.")
        row = await service.update_user(None, user(user_id=alice["id"]), alice["id"], body)
        assert row["name"] == "Alice B."
        assert [type(e).__name__ for e in events] == ["UserUpdated"]

    async def test_a_token_scoped_without_update_self_cannot(
        self, store: FakeStore, events: list[Any], alice: dict[str, Any]
    ) -> None:
        p = scoped(alice["id"], "users.read_self")
        with pytest.raises(Forbidden):
            await service.update_user(None, p, alice["id"], models.UserUpdate(name="Mallory"))
        assert store.users[alice["id"]]["name"] == "Alice"
        assert events == []

    async def test_a_token_scoped_with_update_self_can(
        self, store: FakeStore, events: list[Any], alice: dict[str, Any]
    ) -> None:
        p = scoped(alice["id"], "users.update_self")
        assert (await service.update_user(None, p, alice["id"], models.UserUpdate(name="Al")))["name"] == "Al"

    async def test_others_need_users_update(
        self, store: FakeStore, events: list[Any], alice: dict[str, Any]
    ) -> None:
        body = models.UserUpdate(email="a@example.com")
        with pytest.raises(Forbidden):
            await service.update_user(None, user(["users.read"]), alice["id"], body)
        row = await service.update_user(None, user(["users.read", "users.update"]), alice["id"], body)
        assert row["email"] == "a@example.com"

    async def test_the_name_cannot_be_blanked(
        self, store: FakeStore, events: list[Any], alice: dict[str, Any]
    ) -> None:
        with pytest.raises(ValidationFailed) as refused:
            await service.update_user(
                None, user(user_id=alice["id"]), alice["id"], models.UserUpdate(name=None)
            )
        assert refused.value.errors == {"name": ["can't be blank"]}


class TestWhoMayDeleteAUser:
    async def test_nobody_deletes_themselves(self, store: FakeStore, alice: dict[str, Any]) -> None:
        with pytest.raises(Forbidden, match="yourself"):
            await service.delete_user(None, user(["users.delete"], user_id=alice["id"]), alice["id"])

    async def test_it_takes_users_delete(self, store: FakeStore, alice: dict[str, Any]) -> None:
        with pytest.raises(Forbidden):
            await service.delete_user(None, user(["users.read", "users.update"]), alice["id"])
