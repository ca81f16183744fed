"""Replacing the policy: the permission first, then the body, stored as the contract has it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal
from hspm.common.errors import Forbidden, ValidationFailed
from hspm.common.events.curation import ValidationPolicy
from hspm.curation.policy import rules, service

CONN: Any = None
OPERATOR = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"reviews.update"}))


@dataclass
class FakePolicyStore:
    stored: list[tuple[dict[str, Any], UUID | None]] = field(default_factory=list)

    async def put_policy(self, conn: Any, document: dict[str, Any], user_id: UUID | None) -> dict[str, Any]:
        self.stored.append((document, user_id))
        return {"document": document, "updated_by": user_id}


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakePolicyStore:
    fake = FakePolicyStore()
    monkeypatch.setattr(service, "store", fake)
    return fake


async def test_the_permission_is_checked_before_the_body(store: FakePolicyStore) -> None:
    isv = Principal(kind="user", user_id=uuid4(), permissions=frozenset({"products.create"}))
    with pytest.raises(Forbidden):
        await service.put_policy(CONN, isv, {"colour": "red"})
    assert store.stored == []


async def test_a_bad_body_stores_nothing(store: FakePolicyStore) -> None:
    with pytest.raises(ValidationFailed):
        await service.put_policy(CONN, OPERATOR, {"max_layers": 0})
    assert store.stored == []


async def test_the_document_is_the_contract_without_exceptions(store: FakePolicyStore) -> None:
    row = await service.put_policy(CONN, OPERATOR, {"max_layers": 3, "required_rules": ["env.names"]})
    [(document, user_id)] = store.stored
    expected = ValidationPolicy(max_layers=3, required_rules=["env.names"])
    assert document == rules.document(expected) and "exceptions" not in document
    assert user_id == OPERATOR.user_id and row["document"] == document
