"""The hub's shutdown: every socket is closed at once, and a silent peer cannot hold it."""

from __future__ import annotations

import asyncio
from typing import Any, cast
from uuid import UUID, uuid4

import pytest

from hspm.notifier.sockets import hub as hub_module
from hspm.notifier.sockets.hub import Hub

pytestmark = pytest.mark.unit


class Slow:
    """A session whose close finishes only once every session has begun closing."""

    def __init__(self, everyone: int, began: list[UUID], all_began: asyncio.Event) -> None:
        self.platform_id: UUID | None = uuid4()
        self.key_id: UUID | None = None
        self.everyone, self.began, self.all_began = everyone, began, all_began
        self.codes: list[int] = []

    def wake(self) -> None:
        pass

    async def close(self, code: int, reason: str) -> None:
        self.codes.append(code)
        self.began.append(self.platform_id or uuid4())
        if len(self.began) == self.everyone:
            self.all_began.set()
        await self.all_began.wait()


class Silent(Slow):
    """A peer that never answers the close frame."""

    async def close(self, code: int, reason: str) -> None:
        self.codes.append(code)
        await asyncio.Event().wait()


async def test_stop_closes_every_session_together() -> None:
    began: list[UUID] = []
    all_began = asyncio.Event()
    hub = Hub("postgresql://unused", cast(Any, None), 1.0, 1.0)
    sessions = [Slow(50, began, all_began) for _ in range(50)]
    for session in sessions:
        hub.join(session)
    # One by one, the first close would wait for the other 49 forever.
    await asyncio.wait_for(hub.stop(), 60)
    assert all(s.codes == [1001] for s in sessions)


async def test_a_silent_peer_does_not_hold_the_shutdown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "STOP_CLOSE_SECONDS", 0.05)
    hub = Hub("postgresql://unused", cast(Any, None), 1.0, 1.0)
    silent = Silent(1, [], asyncio.Event())
    hub.join(silent)
    await asyncio.wait_for(hub.stop(), 60)
    assert silent.codes == [1001]
