"""The RabbitMQ bus: one topic exchange, a durable queue and dead-letter queue per service.

Publishing waits for the broker's confirm and raises on an unroutable message. A
service queue is a quorum queue with a delivery limit, so a handler that keeps failing
moves its message to ``<namespace>.<service>.dlq`` instead of looping forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.exceptions import PublishError
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from hspm.common import metrics, tracing
from hspm.common.events import Event, UnknownEventType, parse

log = structlog.get_logger(__name__)

# Debian's RabbitMQ 3.10 sets no default delivery limit, 4.x sets 20: always say it.
DELIVERY_LIMIT = 5


class Unroutable(Exception):
    """The broker returned a mandatory message: no queue is bound for its routing key."""


@dataclass(frozen=True)
class Topology:
    """Names derived from one namespace, so tests can run side by side."""

    namespace: str

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dlx"

    def queue(self, service: str) -> str:
        return f"{self.namespace}.{service}"

    def dead_letter_queue(self, service: str) -> str:
        return f"{self.namespace}.{service}.dlq"


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for the exchange: the routing key is the event's type."""

    event_id: str
    type: str
    body: bytes
    headers: Mapping[str, Any] = field(default_factory=dict)


class Bus:
    """One robust connection per process, one confirming publisher channel."""

    def __init__(self, url: str, namespace: str, connection_name: str) -> None:
        self.url = url
        self.topology = Topology(namespace)
        self.connection_name = connection_name
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": self.connection_name}
        )
        self._publish_channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._publish_channel.declare_exchange(
            self.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )

    @property
    def connection(self) -> AbstractRobustConnection:
        assert self._connection is not None, "Bus.connect() first"
        return self._connection

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def publish(self, message: OutgoingMessage) -> None:
        """Publish and wait for the confirm; raise ``Unroutable`` when nothing is bound."""
        assert self._exchange is not None, "Bus.connect() first"
        headers = dict(message.headers)
        amqp_message = aio_pika.Message(
            body=message.body,
            content_type="application/json",
            message_id=message.event_id,
            type=message.type,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await self._exchange.publish(amqp_message, routing_key=message.type, mandatory=True)
        except PublishError as exc:
            raise Unroutable(message.type) from exc

    async def publish_event(self, event: Event) -> None:
        """Publish an event directly (no outbox): for facts with no database change."""
        headers: dict[str, Any] = {}
        tracing.inject(headers)
        await self.publish(
            OutgoingMessage(str(event.event_id), event.TYPE, event.model_dump_json().encode(), headers)
        )

    async def channel(self, prefetch: int) -> AbstractChannel:
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        return channel


Handler = Callable[[Event, AbstractIncomingMessage], Awaitable[None]]


class Consumer:
    """Runs one queue's messages through a handler, with DLQ, tracing and graceful drain."""

    def __init__(self, bus: Bus, service: str, handler: Handler, prefetch: int = 50) -> None:
        self.bus = bus
        self.service = service
        self.handler = handler
        self.prefetch = prefetch
        self.queue: AbstractQueue | None = None
        self._channel: AbstractChannel | None = None
        self._tag: str | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def start_service_queue(self, types: Iterable[str]) -> None:
        """The service's durable quorum queue, bound to exactly the types it handles."""
        topo = self.bus.topology
        channel = self._channel = await self.bus.channel(self.prefetch)
        exchange = await channel.declare_exchange(topo.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        dlx = await channel.declare_exchange(
            topo.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        dlq = await channel.declare_queue(topo.dead_letter_queue(self.service), durable=True)
        await dlq.bind(dlx, routing_key=self.service)
        self.queue = await channel.declare_queue(
            topo.queue(self.service),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": topo.dead_letter_exchange,
                "x-dead-letter-routing-key": self.service,
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        for event_type in types:
            await self.queue.bind(exchange, routing_key=event_type)
        self._tag = await self.queue.consume(self._on_message)

    async def start_broadcast_queue(self, types: Iterable[str]) -> None:
        """A private, auto-deleted queue per replica, for cache invalidation fan-out."""
        channel = self._channel = await self.bus.channel(self.prefetch)
        exchange = await channel.declare_exchange(
            self.bus.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for event_type in types:
            await self.queue.bind(exchange, routing_key=event_type)
        self._tag = await self.queue.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        self._idle.clear()
        try:
            await self._process(message)
        finally:
            self._inflight.discard(task)
            if not self._inflight:
                self._idle.set()

    async def _process(self, message: AbstractIncomingMessage) -> None:
        event_type = message.routing_key or message.type or ""
        structlog.contextvars.bind_contextvars(event_type=event_type, event_id=message.message_id)
        ctx = tracing.extract(message.headers or {})
        with tracing.tracer().start_as_current_span(
            f"{event_type} process",
            context=ctx,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": self.bus.topology.exchange,
                "messaging.rabbitmq.destination.routing_key": event_type,
                "messaging.message.id": message.message_id or "",
            },
        ):
            try:
                event = parse(event_type, message.body)
            except (UnknownEventType, ValidationError, ValueError) as exc:
                # Redelivering a message that cannot parse only delays the DLQ.
                log.error("bus.poison", error=str(exc)[:500])
                await message.reject(requeue=False)
                metrics.consumed(self.service, event_type, "dead_lettered")
                return
            try:
                await self.handler(event, message)
            except asyncio.CancelledError:
                # A run stopped at shutdown goes back to the queue now, for the next replica,
                # rather than whenever the broker notices the channel closing.
                await _give_back(message)
                metrics.consumed(self.service, event_type, "requeued")
                raise
            except Exception:
                attempt = delivery_count(message)
                log.exception("bus.handler_failed", attempt=attempt)
                # Back off a little so a transient failure is not retried in a hot loop.
                await asyncio.sleep(min(0.2 * attempt, 2.0))
                await message.nack(requeue=True)
                # The broker dead-letters a message returned once more than the limit.
                metrics.consumed(self.service, event_type, _returned_outcome(attempt))
                return
            await message.ack()
            metrics.consumed(self.service, event_type, "acked")
        structlog.contextvars.unbind_contextvars("event_type", "event_id")

    async def pause(self) -> None:
        """Stop taking new messages; in-flight ones go on (and are acked or requeued later)."""
        if self.queue is not None and self._tag is not None:
            with contextlib.suppress(Exception):
                await self.queue.cancel(self._tag)
            self._tag = None

    async def stop(self, timeout: float) -> None:
        """Stop taking messages, let in-flight ones finish, then close the channel."""
        await self.pause()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()


async def _give_back(message: AbstractIncomingMessage) -> None:
    """Requeue ``message`` if its channel is still open; closing it requeues it anyway."""
    with contextlib.suppress(Exception):
        await asyncio.shield(message.nack(requeue=True))


def _returned_outcome(attempt: int) -> str:
    return "dead_lettered" if attempt > DELIVERY_LIMIT else "requeued"


def delivery_count(message: AbstractIncomingMessage) -> int:
    count = (message.headers or {}).get("x-delivery-count", 0)
    return int(count) + 1 if isinstance(count, int | str) and str(count).isdigit() else 1
