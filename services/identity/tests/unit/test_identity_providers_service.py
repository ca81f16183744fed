"""Who sees which identity providers: ``identity_providers.service`` over an in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal
from hspm.common.errors import NotFound
from hspm.common.testing import user
from hspm.identity.identity_providers import service


class FakeStore:
    def __init__(self, *rows: dict[str, Any]) -> None:
        self.rows = {r["id"]: r for r in rows}
        self.listed_enabled_only: list[bool] = []

    async def get_identity_provider(self, _: Any, idp_id: UUID) -> dict[str, Any] | None:
        return self.rows.get(idp_id)

    async def list_identity_providers(self, _: Any, page: Any, enabled_only: bool) -> tuple[list[Any], int]:
        self.listed_enabled_only.append(enabled_only)
        rows = [r for r in self.rows.values() if r["enabled_at"] or not enabled_only]
        return rows, len(rows)


ENABLED = {"id": uuid4(), "enabled_at": datetime.now(UTC)}
DISABLED = {"id": uuid4(), "enabled_at": None}
MANAGER = user(["identity_providers.update"])


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    fake = FakeStore(ENABLED, DISABLED)
    monkeypatch.setattr(service, "store", fake)
    return fake


@pytest.mark.parametrize("caller", [Principal(), user()], ids=["anonymous", "user"])
class TestEveryone:
    async def test_reads_enabled_providers_for_login(self, store: FakeStore, caller: Principal) -> None:
        assert await service.get_identity_provider(None, caller, ENABLED["id"]) is ENABLED

    async def test_does_not_see_disabled_ones(self, store: FakeStore, caller: Principal) -> None:
        with pytest.raises(NotFound):
            await service.get_identity_provider(None, caller, DISABLED["id"])
        assert (await service.list_identity_providers(None, caller, None))[0] == [ENABLED]  # type: ignore[arg-type]

    def test_sees_no_configuration(self, caller: Principal) -> None:
        assert not service.shows_configuration(caller)


class TestManagers:
    async def test_see_every_provider_and_its_configuration(self, store: FakeStore) -> None:
        assert await service.get_identity_provider(None, MANAGER, DISABLED["id"]) is DISABLED
        assert (await service.list_identity_providers(None, MANAGER, None))[1] == 2  # type: ignore[arg-type]
        assert store.listed_enabled_only == [False]
        assert service.shows_configuration(MANAGER)
