"""A minimal platform agent's side of the notifier protocol (docs/notifier-protocol.md).

Connect (offering the subprotocol ``hspm.notifier.v1``; no token is needed, the key is
the credential), prove possession of the platform's Ed25519 key, subscribe from the last
position applied, yield what arrives, acknowledge, and reconnect with jittered backoff
(trying the next URL in turn) after any disconnect. Exactly-once application is the
caller's half: ``ack`` is called once an item is applied, and it moves the position the
next connection resumes from; anything at or before it is never yielded again.

    agent = Agent(["wss://marketplace.example/websocket"], platform_id, key_id, private_key)
    async for item in agent.items():
        apply(item)
        await agent.ack(item)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ed25519

PROTOCOL_VERSION = 1
log = logging.getLogger(__name__)
SUBPROTOCOL = "hspm.notifier.v1"
CHALLENGE_PREFIX = b"hspm-notifier-auth/1\n"
# Acks are coalesced (docs/notifier-protocol.md §3): the latest position goes out
# ACK_DELAY_SECONDS after the first event not yet acknowledged, or at once when ACK_EVERY
# are waiting (a quarter of the server's default window of 256). A burst then costs the
# server one ack, and a fan-out's acks do not compete with its deliveries.
ACK_DELAY_SECONDS = 0.05
ACK_EVERY = 64
# Close codes after which retrying with the same credentials is pointless.
FATAL_CLOSE_CODES = frozenset({4401, 4403, 4410})


class AgentRefused(Exception):
    """The server refused the credentials or the platform is gone: reconnecting won't help."""


def challenge_message(platform_id: str, nonce: str) -> bytes:
    return CHALLENGE_PREFIX + platform_id.encode("ascii") + b"\n" + nonce.encode("ascii")


def sign_challenge(key: ed25519.Ed25519PrivateKey, platform_id: str, nonce: str) -> str:
    return base64.b64encode(key.sign(challenge_message(platform_id, nonce))).decode("ascii")


def checksum(instances: Sequence[Mapping[str, str]]) -> str:
    """The server's checksum of a full state: SHA-256 over the desired states sorted by id."""
    ordered = sorted(instances, key=lambda i: i["id"])
    text = json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Item:
    """An ``event`` (one change, at ``seq``) or a ``resync``/``state`` (the full state at ``seq``)."""

    kind: str
    epoch: str
    seq: int
    frame: dict[str, Any]


@dataclass
class Backoff:
    """Full-jitter exponential backoff: 0..min(cap, base * 2**attempt) seconds."""

    base: float = 0.2
    cap: float = 16.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        delay = self.rng.uniform(0, min(self.cap, self.base * 2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


class Agent:
    def __init__(
        self,
        urls: Sequence[str],
        platform_id: UUID | str,
        key_id: UUID | str,
        key: ed25519.Ed25519PrivateKey,
        *,
        epoch: str | None = None,
        seq: int | None = None,
        backoff: Backoff | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not urls:
            raise ValueError("at least one URL")
        self.urls = list(urls)
        self.platform_id = str(platform_id)
        self.key_id = str(key_id)
        self.key = key
        self.epoch, self.seq = epoch, seq
        self.backoff = backoff or Backoff()
        self.headers = dict(headers or {})
        self.connections = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._turn = 0
        self._unacked = 0
        self._ack_timer: asyncio.TimerHandle | None = None
        self._acking: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def ack(self, item: Item) -> None:
        """Record ``item`` as applied (the resume position); the server hears of it soon
        (coalesced, see ``ACK_DELAY_SECONDS``), or at once for a full state."""
        self.epoch, self.seq = item.epoch, item.seq
        self._unacked += 1
        if item.kind != "event" or self._unacked >= ACK_EVERY:
            await self.flush_ack()
        elif self._ack_timer is None:
            self._ack_timer = asyncio.get_running_loop().call_later(ACK_DELAY_SECONDS, self._ack_due)

    def _ack_due(self) -> None:
        self._ack_timer = None
        # Held until done: a task nobody references may be collected mid-send.
        task = asyncio.ensure_future(self.flush_ack())
        self._acking.add(task)
        task.add_done_callback(self._acking.discard)

    async def flush_ack(self) -> None:
        """Tell the server the position applied now, if connected (nothing is lost if not:
        the next connection resumes from the position recorded by ``ack``)."""
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        pending, self._unacked = self._unacked, 0
        ws = self._ws
        if pending and self.seq is not None and ws is not None and not ws.closed:
            try:
                await ws.send_str(json.dumps({"type": "ack", "seq": self.seq}))
            except (ConnectionError, RuntimeError):
                pass

    async def send(self, frame: dict[str, Any]) -> None:
        """Any other frame (``report``, ``recall_ack``, ``resync``) on the live socket."""
        if self._ws is None or self._ws.closed:
            raise ConnectionError("not connected")
        await self._ws.send_str(json.dumps(frame, default=str))

    async def drop(self) -> None:
        """Close the live socket (the next ``items`` step reconnects): a test's cut cable."""
        if self._ws is not None:
            await self._ws.close()

    async def items(self, session: aiohttp.ClientSession | None = None) -> AsyncIterator[Item]:
        """Yield items forever, reconnecting as needed; ``AgentRefused`` ends it."""
        own = session is None
        http = session or aiohttp.ClientSession()
        try:
            while True:
                try:
                    async for item in self._connection(http):
                        yield item
                except (aiohttp.ClientError, ConnectionError, TimeoutError, OSError) as exc:
                    lost: BaseException | None = exc
                else:
                    lost = None
                self._ws = None
                delay = self.backoff.next_delay()
                # Said once per failure, with the URL and the error (never a key or token),
                # so an agent that cannot reach the marketplace does not retry in silence.
                log.warning(
                    "notifier.disconnected",
                    extra={"url": self.urls[self._turn], "error": repr(lost), "retry_in_s": round(delay, 2)},
                )
                self._turn = (self._turn + 1) % len(self.urls)
                await asyncio.sleep(delay)
        finally:
            if own:
                await http.close()

    async def _connection(self, http: aiohttp.ClientSession) -> AsyncIterator[Item]:
        url = self.urls[self._turn]
        async with http.ws_connect(url, protocols=(SUBPROTOCOL,), headers=self.headers, heartbeat=30) as ws:
            if ws.protocol != SUBPROTOCOL:
                # Not the notifier, or one that speaks another version: a browser would fail
                # this handshake too, and retrying changes nothing.
                raise AgentRefused(f"the server did not select the subprotocol {SUBPROTOCOL}")
            self._unacked = 0  # this connection starts from the position recorded
            await self._handshake(ws)
            # Connected once subscribed: a frame sent before authentication is refused,
            # and a sender that counts it as sent would lose it.
            self._ws = ws
            self.connections += 1
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                item = self._item(json.loads(message.data))
                if item is not None:
                    yield item
            if ws.close_code in FATAL_CLOSE_CODES:
                raise AgentRefused(f"closed {ws.close_code}")

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        hello = {"type": "hello", "protocol": PROTOCOL_VERSION, "platform_id": self.platform_id}
        await ws.send_str(json.dumps(hello | {"key_id": self.key_id}))
        challenge = await self._expect(ws, "challenge")
        signature = sign_challenge(self.key, self.platform_id, challenge["nonce"])
        await ws.send_str(json.dumps({"type": "authenticate", "signature": signature}))
        await self._expect(ws, "welcome")
        subscribe: dict[str, Any] = {"type": "subscribe", "platform_id": self.platform_id}
        if self.epoch is not None and self.seq is not None:
            subscribe |= {"epoch": self.epoch, "after": self.seq}
        await ws.send_str(json.dumps(subscribe))
        self.backoff.reset()

    async def _expect(self, ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
        message = await ws.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            if ws.close_code in FATAL_CLOSE_CODES:
                raise AgentRefused(f"closed {ws.close_code}")
            raise ConnectionError(f"closed while waiting for {kind}")
        frame: dict[str, Any] = json.loads(message.data)
        if frame.get("type") != kind:
            raise AgentRefused(f"expected {kind}, got {frame}")
        return frame

    def _item(self, frame: dict[str, Any]) -> Item | None:
        """What the caller must apply; duplicates and control frames are not yielded."""
        kind = frame.get("type")
        if kind == "event":
            seq = int(frame["seq"])
            if self.seq is not None and frame["epoch"] == self.epoch:
                if seq <= self.seq:
                    return None  # already applied before a reconnect
                if seq != self.seq + 1:
                    # A hole (never sent by a correct server): resume from the position instead.
                    raise ConnectionError(f"event {seq} after {self.seq}")
            return Item("event", frame["epoch"], seq, frame)
        if kind in ("resync", "state"):
            return Item(str(kind), frame["epoch"], int(frame["seq"]), frame)
        return None
