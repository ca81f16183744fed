"""List or replay the messages in one service's dead-letter queue.

    python -m hspm.common.deadletters SERVICE            # list them (they stay in the queue)
    python -m hspm.common.deadletters SERVICE --replay   # publish them again, then remove them

Reads ``HSPM_AMQP_URL`` and ``HSPM_AMQP_NAMESPACE`` (default ``hspm``), as the services do,
so it runs inside any service's container. A replayed message goes back to the
``<namespace>.events`` exchange under its event type, with its id, type and trace headers,
and leaves ``<namespace>.<SERVICE>.dlq`` only once the broker has confirmed that publish.
Every service subscribed to that type receives it again; those that already applied it
skip it by its event id. The operator guide (docs/operations/operator-guide.md) says when
to replay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage


def event_type(message: AbstractIncomingMessage) -> str:
    """The type the message was published under; the dead-letter route replaced its key."""
    if message.type:
        return message.type
    deaths: Any = (message.headers or {}).get("x-death") or [{}]
    keys = deaths[0].get("routing-keys") or [""]
    return str(keys[0])


def describe(message: AbstractIncomingMessage) -> str:
    headers = message.headers or {}
    return json.dumps(
        {
            "event_id": message.message_id,
            "type": event_type(message),
            "reason": str(headers.get("x-first-death-reason", "")),
            "body": message.body.decode(errors="replace")[:500],
        }
    )


async def republish(exchange: AbstractExchange, message: AbstractIncomingMessage) -> None:
    # The broker's own x-* headers (deaths, delivery count) would count against the retry.
    headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
    copy = aio_pika.Message(
        body=message.body,
        content_type=message.content_type,
        message_id=message.message_id,
        type=event_type(message),
        headers=headers,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await exchange.publish(copy, routing_key=event_type(message), mandatory=True)


async def run(url: str, namespace: str, service: str, replay: bool, limit: int) -> int:
    """List (or replay) up to ``limit`` messages; returns how many."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(f"{namespace}.events")
        queue = await channel.get_queue(f"{namespace}.{service}.dlq")
        seen = 0
        while seen < limit and (message := await queue.get(no_ack=False, fail=False)) is not None:
            # The operator reads (or pipes to jq) one JSON line per message.
            sys.stdout.write(describe(message) + "\n")
            if replay:
                await republish(exchange, message)
                await message.ack()
            seen += 1
        # Listed messages are still unacknowledged: closing the channel returns them.
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "service", help="the service whose dead-letter queue to read (catalog, curation, ...)"
    )
    parser.add_argument("--replay", action="store_true", help="publish the messages again and remove them")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many messages (1000)")
    args = parser.parse_args(argv)
    url = os.environ.get("HSPM_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    namespace = os.environ.get("HSPM_AMQP_NAMESPACE", "hspm")
    count = asyncio.run(run(url, namespace, args.service, args.replay, args.limit))
    sys.stderr.write(f"{'replayed' if args.replay else 'listed'} {count} message(s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
