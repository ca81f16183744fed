"""A relay that dies between publishing and marking: run by ``test_outbox_delivery``.

Usage: ``python crash_relay.py DSN AMQP_URL NAMESPACE LEASE_SECONDS``

It runs the real :meth:`Relay.publish_batch` (lease, publish with confirms), but its pool
stalls on the statement that marks rows published. It then prints ``PUBLISHED <n>`` and
waits for the test to SIGKILL it, so every row stays leased and unmarked.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import structlog

from hspm.common import db, outbox
from hspm.common.bus import Bus


class StallBeforeMark:
    """Delegates to the pool, except that marking rows published never happens."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def fetch(self, query: str, *args: Any) -> Any:
        return await self._pool.fetch(query, *args)

    async def execute(self, query: str, *args: Any) -> Any:
        if query == outbox._MARK:
            print(f"PUBLISHED {len(args[0])}", flush=True)
            await asyncio.Event().wait()  # SIGKILL lands here
        return await self._pool.execute(query, *args)


async def main(dsn: str, amqp_url: str, namespace: str, lease_seconds: float) -> None:
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    bus = Bus(amqp_url, namespace, "crash-relay")
    await bus.connect()
    relay = outbox.Relay(pool, bus, dsn, lease_seconds=lease_seconds)
    relay.pool = StallBeforeMark(pool)  # type: ignore[assignment]
    await relay.publish_batch()
    print("UNEXPECTED: publish_batch returned", flush=True)


if __name__ == "__main__":
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
