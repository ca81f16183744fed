"""One agent's socket: the protocol's state machine, its sender and its back-pressure.

States: ``new`` -> (hello with a key) ``challenged`` -> (signature) ``authenticated``, or
``new`` -> (hello on the owner's bearer token) ``authenticated``; then ``subscribed``.
Events go out only from the pump, read from the table after the last position sent,
at most ``ws_window`` unacknowledged at a time; frames wait in a bounded queue. An agent
that falls ``ws_max_lag`` events behind is told to resync and closed, so nothing grows.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiohttp import WSMsgType, web

from hspm.common.auth import Principal
from hspm.common.errors import DomainError
from hspm.notifier.config import Settings
from hspm.notifier.sockets import protocol, service, traced
from hspm.notifier.sockets.hub import Hub
from hspm.notifier.sockets.protocol import ProtocolError
from hspm.notifier.sockets.sender import Sender
from hspm.notifier.sockets.standing import Standing
from hspm.notifier.stream.resume import Head, decide

log = structlog.get_logger(__name__)
PAGE = 200
CLOSE_WAIT_SECONDS = 5.0
_ERROR_CODES: dict[int, protocol.ErrorCode] = {404: "not_found", 403: "forbidden", 401: "unauthenticated"}


class Session:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        pool: asyncpg.Pool,
        hub: Hub,
        settings: Settings,
        principal: Principal,
        principal_expires: float | None = None,
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws, self.pool, self.hub, self.settings, self.principal = ws, pool, hub, settings, principal
        # When the gateway's assertion of ``principal`` expires (epoch seconds): a socket
        # opened on the owner's token speaks for them no longer than that.
        self.principal_expires = principal_expires
        self.state = "new"
        self.platform_id: UUID | None = None
        self.key_id: UUID | None = None
        self._claimed: tuple[UUID, UUID] | None = None
        self._nonce = ""
        self.epoch = ""
        self.sent = 0
        self.acked = 0
        self.out = Sender(ws, transport, settings.ws_queue_frames)
        self._wake = asyncio.Event()
        self._resync_wanted = False
        self._closed = False
        self._close_done = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.standing = Standing(self)
        self._idle = False  # the pump waits to be woken, everything sent up to ``sent``
        loop = asyncio.get_running_loop()
        self._state_due = loop.time() + settings.ws_state_seconds

    # --- the hub's side ---------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self, code: int, reason: str, frame: dict[str, Any] | None = None) -> None:
        """Say why (one last frame, if any), then close; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            with contextlib.suppress(ConnectionError, RuntimeError):
                if frame is not None:
                    await self.ws.send_str(protocol.dumps(frame))
                await self.ws.close(code=code, message=reason.encode()[:120])
        finally:
            self._close_done.set()

    # --- the socket's life --------------------------------------------------------------------

    async def run(self) -> None:
        self.spawn(self.out.run())
        timer = asyncio.get_running_loop().call_later(
            self.settings.ws_auth_timeout_seconds, self._auth_expired
        )
        try:
            async for message in self.ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_frame(message.data)
                if self._closed:
                    break
        finally:
            timer.cancel()
            if self._closed:
                # Closed from another task (the hub, the pump): let its close frame out
                # before the handler returns and the connection is torn down.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._close_done.wait(), CLOSE_WAIT_SECONDS)
            self._closed = True
            self.hub.leave(self)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def spawn(self, coro: Any) -> None:
        self._tasks.append(asyncio.create_task(coro))

    def _auth_expired(self) -> None:
        if self.state in ("new", "challenged"):
            self.spawn(self.close(protocol.CLOSE_AUTH_TIMEOUT, "authentication timed out"))

    def _reply(self, frame: dict[str, Any]) -> None:
        """A control frame; an agent that fills the queue without reading is lagging."""
        if not self.out.offer(protocol.dumps(frame)):
            self.spawn(self._lagging("send queue full"))

    async def _lagging(self, why: str) -> None:
        frame = {"type": "resync_required", "reason": why}
        await self.close(protocol.CLOSE_LAGGING, "lagging: resync", frame)

    # --- frames in ----------------------------------------------------------------------------

    async def _on_frame(self, data: str | bytes) -> None:
        """A bad frame is answered with an error frame and changes nothing."""
        frame = None
        try:
            frame = protocol.parse(data, self.settings.ws_max_frame_bytes)
            with traced.continued(frame.traceparent, frame.type):
                await self._dispatch(frame)
        except ProtocolError as exc:
            self._reply(protocol.error(exc.code, exc.detail, None if frame is None else frame.ref))

    async def _dispatch(self, frame: Any) -> None:
        kind = frame.type
        if kind == "ping":
            self._reply({"type": "pong", "ref": frame.ref})
        elif kind == "hello":
            await self._hello(frame)
        elif kind == "authenticate":
            await self._authenticate(frame)
        elif self.state not in ("authenticated", "subscribed"):
            raise ProtocolError("out_of_order", "Authenticate first (hello, then authenticate).")
        elif kind == "subscribe":
            await self._subscribe(frame)
        elif kind == "ack":
            await self._ack(frame)
        elif kind == "resync":
            self._need_subscription()
            self._resync_wanted = True
            self._wake.set()
        elif kind == "report":
            await self._report(frame)
        elif kind == "recall_ack":
            await self._recall_ack(frame)

    def _need_subscription(self) -> None:
        if self.state != "subscribed":
            raise ProtocolError("out_of_order", "Subscribe first.")

    async def _hello(self, frame: protocol.Hello) -> None:
        if self.state != "new":
            raise ProtocolError("out_of_order", "hello comes once, first.")
        if frame.protocol != protocol.PROTOCOL_VERSION:
            raise ProtocolError(
                "unsupported_protocol", f"This server speaks protocol {protocol.PROTOCOL_VERSION}."
            )
        if frame.key_id is not None:
            self._claimed = (frame.platform_id, frame.key_id)
            self._nonce = service.new_nonce()
            self.state = "challenged"
            self._reply({"type": "challenge", "nonce": self._nonce, "ref": frame.ref})
            return
        async with self.pool.acquire() as conn:
            allowed = await service.owner_may_connect(conn, self.principal, frame.platform_id)
        if not allowed or self.standing.assertion_expired():
            await self._refuse("Neither a key nor the platform owner's token.")
            return
        self._authenticated(frame.platform_id, None, frame.ref)

    async def _authenticate(self, frame: protocol.Authenticate) -> None:
        if self.state != "challenged" or self._claimed is None:
            raise ProtocolError("out_of_order", "authenticate answers a challenge.")
        platform_id, key_id = self._claimed
        async with self.pool.acquire() as conn:
            key = await service.key_for(conn, platform_id, key_id)
        if key is None or not service.signature_valid(key, platform_id, self._nonce, frame.signature):
            await self._refuse("The signature does not prove an active key of this platform.")
            return
        self._authenticated(platform_id, key_id, frame.ref)

    async def _refuse(self, detail: str) -> None:
        frame = protocol.error("unauthenticated", detail)
        await self.close(protocol.CLOSE_UNAUTHENTICATED, "unauthenticated", frame)

    def _authenticated(self, platform_id: UUID, key_id: UUID | None, ref: str | None) -> None:
        self.platform_id, self.key_id, self.state = platform_id, key_id, "authenticated"
        self.hub.join(self)
        if key_id is None:
            # An agent's key is checked by the hub for all agents at once; an owner's socket
            # hangs on the token's user and the assertion's expiry, checked here.
            self.spawn(self.standing.watch())
        self._reply(
            {
                "type": "welcome",
                "protocol": protocol.PROTOCOL_VERSION,
                "platform_id": platform_id,
                "heartbeat_seconds": self.settings.ws_heartbeat_seconds,
                "max_frame_bytes": self.settings.ws_max_frame_bytes,
                "window": self.settings.ws_window,
                "ref": ref,
            }
        )

    async def _subscribe(self, frame: protocol.Subscribe) -> None:
        if self.state == "subscribed":
            raise ProtocolError("out_of_order", "Already subscribed.")
        if frame.platform_id != self.platform_id:
            raise ProtocolError("forbidden", "An agent subscribes to its own platform only.")
        async with self.pool.acquire() as conn:
            head = await service.head(conn, frame.platform_id)
        if head is None:
            await self.close(protocol.CLOSE_GONE, "platform deleted")
            return
        self.state = "subscribed"
        resume = decide(head, frame.epoch, frame.after, self.settings.ws_max_lag)
        if resume.decision == "replay":
            self.epoch, self.sent, self.acked = head.epoch, resume.after, resume.after
            self._reply({"type": "subscribed", "epoch": head.epoch, "after": resume.after, "head": head.head})
        else:
            await self._send_full_state("resync", resume.reason)
        self.spawn(self._pump())

    async def _ack(self, frame: protocol.Ack) -> None:
        self._need_subscription()
        if frame.seq > self.sent or frame.seq < self.acked:
            raise ProtocolError("out_of_order", f"Ack {frame.seq} is outside {self.acked}..{self.sent}.")
        if frame.seq == self.acked:
            return
        window_was_full = self.sent - self.acked >= self.settings.ws_window
        self.acked = frame.seq
        assert self.platform_id is not None
        self.hub.ack(self.platform_id, frame.seq)
        if window_was_full:  # the pump stopped at the window: let it go on
            self._wake.set()

    async def _report(self, frame: protocol.Report) -> None:
        assert self.platform_id is not None
        body = frame.status()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await service.report(conn, self.platform_id, frame.instance_id, body)
        except DomainError as exc:
            raise ProtocolError(_ERROR_CODES.get(exc.status, "invalid"), exc.detail) from exc
        self._reply({"type": "reported", "instance_id": frame.instance_id, "ref": frame.ref})

    async def _recall_ack(self, frame: protocol.RecallAck) -> None:
        assert self.platform_id is not None
        try:
            async with self.pool.acquire() as conn:
                row = await service.acknowledge_recall(conn, self.platform_id, frame.recall_id)
        except DomainError as exc:
            raise ProtocolError(_ERROR_CODES.get(exc.status, "invalid"), exc.detail) from exc
        acked = {"recall_id": frame.recall_id, "acknowledged_at": row["acknowledged_at"], "ref": frame.ref}
        self._reply({"type": "recall_acked"} | acked)

    # --- frames out ---------------------------------------------------------------------------

    async def _full_state(self) -> dict[str, Any] | None:
        assert self.platform_id is not None
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            return await service.full_state(conn, self.platform_id)

    async def _send_full_state(self, kind: str, reason: str) -> None:
        """``resync``: the agent replaces its state and continues from ``seq``."""
        state = await self._full_state()
        if state is None:
            await self.close(protocol.CLOSE_GONE, "platform deleted")
            return
        self.epoch, self.sent, self.acked = state["epoch"], state["seq"], state["seq"]
        await self.out.put(protocol.dumps({"type": kind, "reason": reason} | state))

    async def _pump(self) -> None:
        """Send what the table holds after ``sent``, as the window allows; else wait to be
        woken (a NOTIFY, an ack that opens the window, the hub's tick)."""
        assert self.platform_id is not None
        while not self._closed:
            self._wake.clear()
            if self._resync_wanted:
                self._resync_wanted = False
                await self._send_full_state("resync", "requested")
            room = self.settings.ws_window - (self.sent - self.acked)
            head, rows = await self.hub.read(self.platform_id, self.sent, min(room, PAGE) if room > 0 else 0)
            if head is None:
                await self.close(protocol.CLOSE_GONE, "platform deleted")
                return
            if head.epoch != self.epoch or self.sent < head.floor - 1:
                await self._send_full_state("resync", "history lost")
                continue
            if head.head - self.acked > self.settings.ws_max_lag:
                await self._lagging("too far behind")
                return
            for row in rows:
                # Blocking put: a slow socket holds the pump here, never more frames in memory.
                await self.out.put(row["frame"])
                self.sent = int(row["seq"])
            if rows and self.sent < head.head and self.sent - self.acked < self.settings.ws_window:
                continue  # more than a page waiting
            if self.sent == head.head and self._state_is_due():
                await self._send_state()
            if not self._wake.is_set():
                self._idle = True
                try:
                    await self._wake.wait()
                finally:
                    self._idle = False

    def _state_is_due(self) -> bool:
        return bool(self.settings.ws_state_seconds) and asyncio.get_running_loop().time() >= self._state_due

    def waiting_at(self) -> int | None:
        """The position the pump stands at, if it is idle there and the window has room:
        the hub may then hand new events straight to ``deliver``."""
        if self._idle and not self._closed and self.sent - self.acked < self.settings.ws_window:
            return self.sent
        return None

    async def deliver(self, after: int, head: Head | None, rows: list[Any]) -> None:
        """Events the hub read for this session from ``after``: sent here when nothing
        moved meanwhile and they fit; anything else wakes the pump, which reads again."""
        room = min(self.settings.ws_window - (self.sent - self.acked), self.out.room)
        if (
            head is None
            or len(rows) > room
            or not (self._idle and not self._closed and not self._resync_wanted and self.sent == after)
            or head.epoch != self.epoch
            or self.sent < head.floor - 1
            or head.head - self.acked > self.settings.ws_max_lag
        ):
            self._wake.set()  # anything unusual: the pump reads again and decides
            return
        for row in rows:
            try:
                await self.out.send(row["frame"])
            except (ConnectionError, RuntimeError):
                return  # the socket is closing; its reader ends the session
            self.sent = int(row["seq"])
        if self.sent != head.head or self._state_is_due():
            self._wake.set()

    async def take(self, seq: int, frame: str) -> None:
        """The event at ``seq``, carried by its wake-up: sent if it is the next one and the
        window has room; else the pump reads (the table stays the record)."""
        in_window = seq - self.acked <= self.settings.ws_window and self.out.room > 0
        if not (self._idle and self.sent == seq - 1 and in_window):
            self._wake.set()
            return
        self.sent = seq
        try:
            await self.out.send(frame)
        except (ConnectionError, RuntimeError):
            return  # the socket is closing; its reader ends the session
        if self._state_is_due():
            self._wake.set()

    def tick(self, head: Head | None) -> None:
        """The hub's periodic look at the stream: catch up, check the state, or say we live."""
        if self.state != "subscribed" or self._closed:
            return
        if head is None or head.epoch != self.epoch or head.head != self.sent or self._state_is_due():
            self._wake.set()
        idle = asyncio.get_running_loop().time() - self.out.last_out
        if head is not None and idle >= self.settings.ws_heartbeat_seconds:
            self._reply({"type": "heartbeat", "epoch": head.epoch, "seq": head.head})

    async def _send_state(self) -> None:
        """The periodic check: the desired state at exactly the position last sent."""
        self._state_due = asyncio.get_running_loop().time() + self.settings.ws_state_seconds
        state = await self._full_state()
        if state is not None and state["seq"] == self.sent and state["epoch"] == self.epoch:
            await self.out.put(protocol.dumps({"type": "state"} | state))

    def recheck(self) -> None:
        """The hub found this socket's key inactive: see why, and close."""
        self.standing.recheck()
