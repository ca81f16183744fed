"""The WebSocket upgrade at /websocket and /websockets: one ``Session`` per socket."""

from __future__ import annotations

from aiohttp import web

from hspm.common.auth import PRINCIPAL_HEADER, verify_assertion
from hspm.common.lifecycle import pool_key
from hspm.common.web import principal_of, state_key
from hspm.notifier.keys import settings_key
from hspm.notifier.sockets import protocol
from hspm.notifier.sockets.hub import hub_key
from hspm.notifier.sockets.session import Session

# Frames beyond this are cut by aiohttp (close 1009); between the protocol's limit and
# this they are read and answered with a ``too_large`` error frame instead.
HARD_LIMIT_FACTOR = 4


def _assertion_expiry(request: web.Request) -> float | None:
    """When the upgrade's principal assertion expires (epoch seconds); None without one.
    It was verified before the handler ran (a bad one is a 401): this only reads its ``exp``."""
    value = request.headers.get(PRINCIPAL_HEADER)
    if value is None:
        return None
    state = request.app[state_key]
    secret = state.settings.require_internal_secret()
    _, expires = verify_assertion(value, secret, audience=state.service, with_expiry=True)
    return expires


async def websocket(request: web.Request) -> web.StreamResponse:
    """Anyone may open the socket; nothing flows until it authenticates (hello/challenge),
    and a socket that does not within ``ws_auth_timeout_seconds`` is closed (4408). A
    forged principal assertion was already refused with 401 before the upgrade."""
    settings = request.app[settings_key]
    ws = web.WebSocketResponse(
        protocols=(protocol.SUBPROTOCOL,),
        heartbeat=settings.ws_heartbeat_seconds * 2,
        max_msg_size=settings.ws_max_frame_bytes * HARD_LIMIT_FACTOR,
        # How long a close waits for the peer's close frame (aiohttp's default is 10 s,
        # the whole of a stopping service's time).
        timeout=2.0,
    )
    expires = _assertion_expiry(request)
    await ws.prepare(request)
    app = request.app
    session = Session(
        ws, app[pool_key], app[hub_key], settings, principal_of(request), expires, request.transport
    )
    await session.run()
    return ws
