"""Who may mint an API token with which scopes, and what its scopes allow: ``tokens.service``
over an in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common import permissions
from hspm.common.auth import Principal
from hspm.common.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from hspm.common.testing import user
from hspm.identity.tokens import models, service

MAX_DAYS = 365


class FakeStore:
    """Known users and the token records inserted, in memory."""

    def __init__(self, *user_ids: UUID) -> None:
        self.user_ids = set(user_ids)
        self.sessions: list[dict[str, Any]] = []

    async def user_exists(self, _: Any, user_id: UUID) -> bool:
        return user_id in self.user_ids

    async def insert_session(
        self, _: Any, session_id: UUID, user_id: UUID, kind: str, expires_at: datetime, **fields: Any
    ) -> dict[str, Any]:
        row = {"id": session_id, "user_id": user_id, "kind": kind, "expires_at": expires_at, **fields}
        self.sessions.append(row)
        return row


@pytest.fixture
def owner() -> UUID:
    return uuid4()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, owner: UUID) -> FakeStore:
    fake = FakeStore(owner)
    monkeypatch.setattr(service, "store", fake)
    return fake


def body(**fields: Any) -> models.ApiTokenCreate:
    return models.ApiTokenCreate(name="ci", **fields)


class TestWhoMayMint:
    async def test_users_mint_their_own(self, store: FakeStore, owner: UUID) -> None:
        row = await service.create_api_token(None, user(user_id=owner), owner, body(), MAX_DAYS)
        assert (row["user_id"], row["kind"], row["scopes"]) == (owner, "api", ["*"])

    async def test_minting_for_someone_else_takes_everything_manage(
        self, store: FakeStore, owner: UUID
    ) -> None:
        # Even an operator who may read every user must not be able to act as one.
        with pytest.raises(Forbidden):
            await service.create_api_token(
                None, user(["users.read", "api_tokens.read"]), owner, body(), MAX_DAYS
            )
        assert await service.create_api_token(None, user([permissions.MANAGE]), owner, body(), MAX_DAYS)

    async def test_a_scoped_token_cannot_mint_a_wider_one(self, store: FakeStore, owner: UUID) -> None:
        p = Principal(kind="user", user_id=owner, session_id=uuid4(), scopes=frozenset({"products.read"}))
        with pytest.raises(Forbidden, match="scoped"):
            await service.create_api_token(None, p, owner, body(), MAX_DAYS)
        assert store.sessions == []

    async def test_strangers_and_unknown_users_look_alike(self, store: FakeStore, owner: UUID) -> None:
        with pytest.raises(NotFound):
            await service.create_api_token(None, user(), owner, body(), MAX_DAYS)
        with pytest.raises(NotFound):
            await service.create_api_token(None, user([permissions.MANAGE]), uuid4(), body(), MAX_DAYS)

    async def test_anonymous_callers_are_asked_to_sign_in(self, store: FakeStore, owner: UUID) -> None:
        with pytest.raises(Unauthorized):
            await service.create_api_token(None, Principal(), owner, body(), MAX_DAYS)


class TestWhatIsMinted:
    async def test_scopes_are_known_keys_deduplicated_and_sorted(self, store: FakeStore, owner: UUID) -> None:
        scopes = ["products.read", "groups.read", "products.read"]
        row = await service.create_api_token(None, user(user_id=owner), owner, body(scopes=scopes), MAX_DAYS)
        assert row["scopes"] == ["groups.read", "products.read"]

    async def test_unknown_scopes_are_refused(self, store: FakeStore, owner: UUID) -> None:
        with pytest.raises(ValidationFailed) as refused:
            await service.create_api_token(
                None, user(user_id=owner), owner, body(scopes=["products.fly"]), MAX_DAYS
            )
        assert refused.value.errors == {"scopes": ["unknown permission keys: products.fly"]}

    async def test_no_longer_than_the_setting_allows(self, store: FakeStore, owner: UUID) -> None:
        with pytest.raises(ValidationFailed) as refused:
            await service.create_api_token(None, user(user_id=owner), owner, body(expires_in_days=31), 30)
        assert refused.value.errors == {"expires_in_days": ["must be at most 30"]}
        row = await service.create_api_token(None, user(user_id=owner), owner, body(expires_in_days=30), 30)
        assert row["expires_at"] - datetime.now(UTC) > timedelta(days=29)


class TestWhoMayReadTokens:
    def test_owners_and_api_tokens_read(self, owner: UUID) -> None:
        service.may_manage(user(user_id=owner), owner)
        service.may_manage(user(["api_tokens.read"]), owner)
        with pytest.raises(Forbidden):
            service.may_manage(user(["users.read"]), owner)


class TestWhatScopesAllow:
    USER = {"users.read_self", "groups.read", "products.read"}

    def test_a_scope_the_user_lacks_adds_nothing(self) -> None:
        assert service.scoped(self.USER, ["groups.read", "users.delete"]) == {"groups.read"}

    def test_an_administrator_token_is_exactly_its_known_scopes(self) -> None:
        assert service.scoped({permissions.MANAGE}, ["users.delete", "*.*"]) == {"users.delete"}

    def test_star_keeps_an_administrator_an_administrator(self) -> None:
        assert service.scoped({permissions.MANAGE}, ["*"]) == {permissions.MANAGE}
