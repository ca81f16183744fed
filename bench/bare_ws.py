"""The baseline: a bare aiohttp WebSocket server on uvloop that holds sockets and broadcasts.

The same ``WebSocketResponse`` the notifier makes (subprotocol, heartbeat, frame limit,
from the notifier's defaults), and nothing else: no authentication, no database, no
per-socket task beyond aiohttp's own handler. So the ratios to it measure what the
notifier adds to holding a socket and to pushing one frame to each of many.

- ``GET /ws``: a socket, kept until it closes; what it sends (acks) is read and dropped.
  A socket that connects after a broadcast is first sent the last frame broadcast: the
  least a server can do for an agent that was away.
- ``POST /broadcast``: the body (one text frame) to every socket, one after another.

Run as ``python -m bench.bare_ws PORT``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import uvloop
from aiohttp import web

from hspm.notifier.config import Settings
from hspm.notifier.sockets.handlers import HARD_LIMIT_FACTOR
from hspm.notifier.sockets.protocol import SUBPROTOCOL

_DEFAULTS = Settings.model_fields
HEARTBEAT_SECONDS = float(_DEFAULTS["ws_heartbeat_seconds"].default) * 2
MAX_MESSAGE_BYTES = int(_DEFAULTS["ws_max_frame_bytes"].default) * HARD_LIMIT_FACTOR


@dataclass
class Sockets:
    open: set[web.WebSocketResponse] = field(default_factory=set)
    last: str | None = None


sockets_key = web.AppKey("sockets", Sockets)


async def socket(request: web.Request) -> web.StreamResponse:
    held = request.app[sockets_key]
    ws = web.WebSocketResponse(
        protocols=(SUBPROTOCOL,), heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_MESSAGE_BYTES
    )
    await ws.prepare(request)
    if held.last is not None:
        await ws.send_str(held.last)
    held.open.add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        held.open.discard(ws)
    return ws


async def broadcast(request: web.Request) -> web.Response:
    held = request.app[sockets_key]
    text = await request.text()
    held.last = text
    sent = 0
    for ws in list(held.open):
        try:
            await ws.send_str(text)
            sent += 1
        except (ConnectionError, RuntimeError):
            pass  # closing under us: the bench counts what each agent received
    return web.json_response({"sent": sent})


def create_app() -> web.Application:
    app = web.Application()
    app[sockets_key] = Sockets()
    app.router.add_get("/ws", socket)
    app.router.add_post("/broadcast", broadcast)
    return app


if __name__ == "__main__":
    # The services' runner serves with aiohttp's defaults on uvloop; so does this.
    web.run_app(
        create_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )
