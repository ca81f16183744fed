"""Helpers for tests of any service: principals, waiting, unique names."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar
from uuid import UUID, uuid4

from hspm.common.auth import PRINCIPAL_HEADER, Principal, sign_assertion

T = TypeVar("T")

TEST_INTERNAL_SECRET = "test-internal-secret-" + "x" * 24


def unique(prefix: str) -> str:
    """A lowercase name no other test run uses (databases, AMQP namespaces)."""
    return f"{prefix}_{secrets.token_hex(5)}"


def user(permissions: Iterable[str] = (), user_id: UUID | None = None, name: str = "Test User") -> Principal:
    return Principal(
        kind="user",
        user_id=user_id or uuid4(),
        session_id=uuid4(),
        name=name,
        permissions=frozenset(permissions),
    )


def as_headers(principal: Principal, secret: str = TEST_INTERNAL_SECRET) -> dict[str, str]:
    """Headers a service accepts as coming from the gateway on ``principal``'s behalf."""
    return {PRINCIPAL_HEADER: sign_assertion(principal, secret)}


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
