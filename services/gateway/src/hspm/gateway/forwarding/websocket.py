"""WebSocket sessions relayed to the notifier, frame by frame, in both directions."""

from __future__ import annotations

import asyncio
import contextlib
import weakref

import aiohttp
import structlog
from aiohttp import WSCloseCode, WSMsgType, web
from yarl import URL

from hspm.common.errors import BadGateway, DomainError, Forbidden, GatewayTimeout, NotFound, Unauthorized
from hspm.gateway import keys
from hspm.gateway.forwarding.headers import WEBSOCKET_DROP, upstream_headers

log = structlog.get_logger(__name__)

HEARTBEAT = 30.0
# The socket lives as long as both ends want it; only the close handshake is bounded.
WS_TIMEOUT = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10.0)
# Codes that must never appear in a close frame (RFC 6455 §7.4.1).
_RESERVED = frozenset({1004, 1005, 1006, 1015})

REFUSALS: dict[int, type[DomainError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound}

AnySocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


def is_upgrade(request: web.Request) -> bool:
    """True for a WebSocket opening handshake."""
    return request.headers.get("Upgrade", "").lower() == "websocket"


# A browser's WebSocket cannot carry headers; it offers its token as the subprotocol
# ``hspm.bearer.<token>`` beside the real one. Tokens never travel in URLs.
BEARER_PROTOCOL = "hspm.bearer."


def _upstream_url(request: web.Request, base: str) -> URL:
    return URL(base + request.rel_url.raw_path_qs, encoded=True)


def _offered(request: web.Request) -> list[str]:
    value = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in value.split(",") if p.strip()]


def offered_token(request: web.Request) -> str | None:
    """The bearer token a browser offered as a subprotocol, if any."""
    for protocol in _offered(request):
        if protocol.startswith(BEARER_PROTOCOL):
            return protocol[len(BEARER_PROTOCOL) :]
    return None


def _protocols(request: web.Request) -> list[str]:
    """The subprotocols the notifier may choose from: the token stays at the edge."""
    return [p for p in _offered(request) if not p.startswith(BEARER_PROTOCOL)]


def _close_code(code: int | None) -> int:
    if code is None or code in _RESERVED or not 1000 <= code <= 4999:
        return WSCloseCode.INTERNAL_ERROR
    return code


async def _connect(request: web.Request, base: str, assertion: str | None) -> aiohttp.ClientWebSocketResponse:
    headers = upstream_headers(request, assertion, drop=WEBSOCKET_DROP)
    try:
        return await request.app[keys.client].ws_connect(
            _upstream_url(request, base),
            headers=headers,
            protocols=_protocols(request),
            heartbeat=HEARTBEAT,
            timeout=WS_TIMEOUT,
            max_msg_size=request.client_max_size,
        )
    except aiohttp.WSServerHandshakeError as exc:
        # The notifier refused the socket (unknown platform, forbidden...): say so.
        refusal = REFUSALS.get(exc.status, BadGateway)
        raise refusal(f"The notifier refused the WebSocket ({exc.status}).") from exc
    except TimeoutError as exc:
        raise GatewayTimeout("The notifier service did not answer in time.") from exc
    except aiohttp.ClientError as exc:
        raise BadGateway("The notifier service could not be reached.") from exc


async def _pump(source: AnySocket, sink: AnySocket) -> None:
    """Copy data frames until ``source`` closes or ``sink`` stops taking them."""
    with contextlib.suppress(ConnectionError):
        async for message in source:
            if message.type is WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await sink.send_bytes(message.data)


async def proxy(request: web.Request, base: str, assertion: str | None) -> web.StreamResponse:
    """Open the notifier's socket, then the client's, and relay until either closes.

    ``assertion`` is None for an anonymous caller: the notifier then sees no principal.
    """
    upstream = await _connect(request, base, assertion)
    client = web.WebSocketResponse(
        heartbeat=HEARTBEAT,
        protocols=(upstream.protocol,) if upstream.protocol else (),
        # A frame may be as large as a request body, no larger.
        max_msg_size=request.client_max_size,
    )
    try:
        await client.prepare(request)
        request.app[keys.websockets].add(client)
        await _relay(client, upstream)
    finally:
        if not upstream.closed:
            await upstream.close(code=WSCloseCode.GOING_AWAY)
    return client


async def _relay(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    to_upstream = asyncio.create_task(_pump(client, upstream))
    to_client = asyncio.create_task(_pump(upstream, client))
    try:
        done, _ = await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
        # Whoever closed first decides the code the other end hears.
        if to_client in done:
            await client.close(code=_close_code(upstream.close_code))
        else:
            await upstream.close(code=_close_code(client.close_code))
        await asyncio.wait({to_upstream, to_client}, timeout=WS_TIMEOUT.ws_close)
    finally:
        for task in (to_upstream, to_client):
            task.cancel()
        await asyncio.gather(to_upstream, to_client, return_exceptions=True)


async def close_all(app: web.Application) -> None:
    """On shutdown, tell every client the gateway is going away."""
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[keys.websockets]
    for socket in list(sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutdown")
