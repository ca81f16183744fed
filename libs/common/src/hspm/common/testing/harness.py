"""A service under test with its own database and its events: written once for every conftest.

``ServiceHarness`` adds to ``ServiceClient`` what tests of a service that consumes and
emits events need: a direct connection to its database, delivery of an event the way the
consumer delivers it (``outbox.handle_once`` on the service's pool, one transaction), and
the outbox rows written since a mark. ``serve_harness`` builds it on a database of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import asyncpg
import orjson
from aiohttp import web

from hspm.common import outbox
from hspm.common.events.base import Event
from hspm.common.lifecycle import EventHandler, pool_key
from hspm.common.testing import served_on_own_database
from hspm.common.testing.client import ServiceClient

H = TypeVar("H", bound="ServiceHarness")


@dataclass
class ServiceHarness(ServiceClient):
    """The running service, its database and its event table (``handlers``, set per service)."""

    dsn: str
    _conn: asyncpg.Connection | None = None
    handlers: ClassVar[Mapping[type[Event], EventHandler]] = {}

    @property
    def pool(self) -> asyncpg.Pool:
        return self.client.app[pool_key]

    async def db(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await asyncpg.connect(self.dsn)
            await self._conn.set_type_codec(
                "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
            )
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def deliver(self, event: Event) -> None:
        """As the consumer does: once per event id, in one transaction on the service's pool."""
        handler = self.handlers[type(event)]
        await outbox.handle_once(self.pool, event, lambda conn: handler(conn, event))

    async def outbox_mark(self) -> int:
        return int(await (await self.db()).fetchval("SELECT coalesce(max(id), 0) FROM outbox"))

    async def events(self, since: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """Outbox bodies written after id ``since`` (of one type, if given), each with its type."""
        rows = await (await self.db()).fetch("SELECT type, body FROM outbox WHERE id > $1 ORDER BY id", since)
        found = [orjson.loads(r["body"]) | {"type": r["type"]} for r in rows]
        return [e for e in found if kind is None or e["type"] == kind]


@asynccontextmanager
async def serve_harness(
    pg_dsn: str, prefix: str, make_app: Callable[[str], web.Application], make: Callable[..., H]
) -> AsyncIterator[H]:
    """``make(client=..., dsn=...)`` around an app on a database of its own; closed afterwards."""
    async with served_on_own_database(pg_dsn, prefix, make_app) as (client, dsn):
        harness = make(client=client, dsn=dsn)
        try:
            yield harness
        finally:
            await harness.close()
