"""A consumer that dies mid-way: run by ``test_outbox_delivery``.

Usage: ``python crash_consumer.py DSN AMQP_URL NAMESPACE SERVICE TYPE PREFETCH N_ACK N_COMMIT``

In arrival order, the first ``N_ACK`` messages are handled and acknowledged; the next
``N_COMMIT`` commit their effect but hang before the ack; every later one hangs inside
its transaction, before the commit. When ``PREFETCH`` messages hang unacknowledged it
prints ``STALLED`` and waits for the test to SIGKILL it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import asyncpg
import structlog

from hspm.common import db, outbox
from hspm.common.bus import Bus, Consumer

EFFECT = "INSERT INTO effects (event_id) VALUES ($1)"


async def main(
    dsn: str,
    amqp_url: str,
    namespace: str,
    service: str,
    event_type: str,
    prefetch: int,
    n_ack: int,
    n_commit: int,
) -> None:
    pool = await db.create_pool(dsn, min_size=1, max_size=prefetch + 2)
    bus = Bus(amqp_url, namespace, "crash-consumer")
    await bus.connect()
    seen = 0
    committed_hung = 0
    uncommitted_hung = 0
    forever = asyncio.Event()

    def report() -> None:
        if committed_hung == n_commit and uncommitted_hung == prefetch - n_commit:
            print(f"STALLED {committed_hung} {uncommitted_hung}", flush=True)

    async def handler(event: Any, _message: Any) -> None:
        nonlocal seen, committed_hung, uncommitted_hung
        seen += 1
        position = seen

        async def apply(conn: asyncpg.Connection) -> bool:
            await conn.execute(EFFECT, event.event_id)
            return True

        async def apply_then_hang(conn: asyncpg.Connection) -> bool:
            nonlocal uncommitted_hung
            await apply(conn)
            uncommitted_hung += 1
            report()
            await forever.wait()  # inside the transaction: killed before the commit
            return True

        if position <= n_ack:
            await outbox.handle_once(pool, event, apply)
        elif position <= n_ack + n_commit:
            await outbox.handle_once(pool, event, apply)
            committed_hung += 1
            report()
            await forever.wait()  # committed, but killed before the ack
        else:
            await outbox.handle_once(pool, event, apply_then_hang)

    consumer = Consumer(bus, service, handler, prefetch=prefetch)
    await consumer.start_service_queue([event_type])
    print("READY", flush=True)
    await forever.wait()


if __name__ == "__main__":
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], a[2], a[3], a[4], int(a[5]), int(a[6]), int(a[7])))
