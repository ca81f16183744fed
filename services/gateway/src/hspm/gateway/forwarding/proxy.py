"""Forwarding to the owning service: route, check, authenticate, relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

import aiohttp
import structlog
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from hspm.common import tracing
from hspm.common.errors import (
    BadGateway,
    DomainError,
    GatewayTimeout,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from hspm.common.web.app import problem_response, request_id_key, state_key
from hspm.gateway import keys
from hspm.gateway.edge.auth import InvalidToken, SessionPrincipal, bearer_token
from hspm.gateway.forwarding import websocket
from hspm.gateway.forwarding.headers import RESPONSE_DROP, downstream_headers, upstream_headers
from hspm.gateway.forwarding.replicas import Replicas
from hspm.gateway.forwarding.routing import Rule, is_traversal
from hspm.gateway.forwarding.upstream import NO_BODY_METHODS, Unreachable, UpstreamError, UpstreamPool

log = structlog.get_logger(__name__)

JSON_ONLY = (
    "This service only responds to JSON requests. Please set your 'Accept' header to 'application/json'."
)
# Bodies up to this size are read whole (one write upstream); larger ones stream.
SMALL_BODY = 64 * 1024
# Responses of unknown length or larger than this stream through instead of buffering.
BUFFERED_RESPONSE = 1024 * 1024
CHUNK = 64 * 1024


async def handle(request: web.Request) -> web.StreamResponse:
    """Every path a service owns arrives here."""
    rule = request.app[keys.routes].match(request.rel_url.raw_path)
    if rule is None or is_traversal(request.rel_url.raw_path):
        raise NotFound(f"No resource is served at {request.path}.")
    upstream = request.app[keys.upstreams][rule.service]
    if upstream is None:
        raise ServiceUnavailable(f"The {rule.service} service is not available.")
    if rule.json_only and not accepts_json(request):
        raise NotAcceptable(JSON_ONLY)
    try:
        session = await authenticate(request, rule)
    except InvalidToken as exc:
        return unauthorized(request, exc)
    if rule.websocket and websocket.is_upgrade(request):
        # A caller without a token goes through as anonymous: platform agents prove a key
        # inside the notifier's protocol, and the notifier refuses anyone who does not.
        assertion = request.app[keys.auth].assertion(session, rule.service) if session is not None else None
        return await websocket.proxy(request, upstream.first().base, assertion)
    return await forward(request, rule, upstream, session)


def accepts_json(request: web.Request) -> bool:
    """The spec's JSON-only rule: a present Accept must allow JSON, or ?format=json."""
    accept = request.headers.get("Accept")
    if not accept or "json" in accept or "*/*" in accept or "application/*" in accept:
        return True
    return request.query.get("format") == "json"


async def authenticate(request: web.Request, rule: Rule) -> SessionPrincipal | None:
    """The caller's session, ``None`` for anonymous callers, ``InvalidToken`` otherwise."""
    if rule.websocket and "jwt" in request.query:
        # URLs end up in logs, histories and caches: a token there is refused, not used.
        raise InvalidToken(
            "A token in the URL is refused; send it in Authorization "
            "or as the subprotocol hspm.bearer.<token>."
        )
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        token = bearer_token(authorization)
    elif rule.websocket and (offered := websocket.offered_token(request)) is not None:
        # Browsers cannot set headers on a WebSocket: the token rides as a subprotocol.
        token = offered
    else:
        return None
    auth = request.app[keys.auth]
    session = await auth.principal(await auth.verify(token))
    request[keys.principal] = session
    return session


def unauthorized(request: web.Request, exc: InvalidToken) -> web.Response:
    """401 problem+json with the RFC 6750 challenge."""
    return problem_response(
        exc, request[request_id_key], {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


async def forward(
    request: web.Request, rule: Rule, upstream: Replicas, session: SessionPrincipal | None
) -> web.StreamResponse:
    """Send the request to one of the service's replicas and relay its answer, with the
    caller asserted to that service. A replica that cannot be reached is passed over."""
    app = request.app
    assertion = app[keys.auth].assertion(session, rule.service) if session is not None else None
    headers = upstream_headers(request, assertion)
    if app[state_key].tracing_enabled:
        # Makes the service's span a child of the gateway's.
        tracing.inject(headers)
    data = await request_body(request, headers)
    try:
        return await _to_a_replica(request, upstream, headers, data)
    except TimeoutError as exc:
        log.warning("gateway.upstream_timeout", service=rule.service)
        raise GatewayTimeout(f"The {rule.service} service did not answer in time.") from exc
    except (aiohttp.ClientError, UpstreamError) as exc:
        log.warning("gateway.upstream_failed", service=rule.service, error=repr(exc))
        raise BadGateway(f"The {rule.service} service could not be reached.") from exc


async def _to_a_replica(
    request: web.Request,
    upstream: Replicas,
    headers: CIMultiDict[str],
    data: bytes | aiohttp.StreamReader | None,
) -> web.StreamResponse:
    """The replicas in turn until one takes the connection; the last one's failure raises."""
    pool = request.app[keys.upstream_pool]
    replicas = list(upstream.in_turn())
    for i, replica in enumerate(replicas):
        try:
            if (
                pool is not None
                and replica.address is not None
                and not isinstance(data, aiohttp.StreamReader)
            ):
                return await forward_lean(request, pool, replica.address, replica.base, headers, data)
            return await forward_client(request, replica.base, headers, data)
        except (Unreachable, aiohttp.ClientConnectorError):
            if i == len(replicas) - 1:
                raise
            log.warning("gateway.replica_unreachable", base=replica.base)
    raise AssertionError("unreachable: a deployed service has a replica")


async def forward_lean(
    request: web.Request,
    pool: UpstreamPool,
    address: tuple[str, int, str],
    base: str,
    headers: CIMultiDict[str],
    body: bytes | None,
) -> web.StreamResponse:
    """The hot path: prebuilt bytes over a kept-alive connection (``upstream.py``)."""
    host, port, host_header = address
    method = request.method
    head = request_head(method, request.rel_url.raw_path_qs, host_header, headers, body)
    # One deadline for the whole exchange, streamed bodies included, as the aiohttp client's.
    deadline = asyncio.get_running_loop().time() + request.app[keys.settings].upstream_timeout
    async with asyncio.timeout_at(deadline):
        upstream = await pool.request(host, port, method, head, body, RESPONSE_DROP)
        try:
            length = upstream.content_length
            if length is not None and length <= BUFFERED_RESPONSE and upstream.has_body:
                return respond(request, upstream, upstream.headers, base, await upstream.read())
        except BaseException:
            upstream.close()
            raise
    try:
        return await relay(request, upstream, upstream.headers, base, deadline)
    finally:
        upstream.close()


async def forward_client(
    request: web.Request, base: str, headers: CIMultiDict[str], data: bytes | aiohttp.StreamReader | None
) -> web.StreamResponse:
    """Through the aiohttp client: streamed request bodies, and everything when the lean path is off."""
    url = URL(base + request.rel_url.raw_path_qs, encoded=True)
    async with request.app[keys.client].request(
        request.method, url, headers=headers, data=data, allow_redirects=False
    ) as upstream:
        return await relay(request, ClientUpstream(upstream), downstream_headers(upstream.headers), base)


async def request_body(
    request: web.Request, headers: CIMultiDict[str]
) -> bytes | aiohttp.StreamReader | None:
    """Small bodies as bytes, large ones of known length as a stream; 413 past the limit."""
    if not request.body_exists:
        return None
    limit = request.client_max_size
    length = request.content_length
    if length is not None:
        if length > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
        if length > SMALL_BODY:
            headers["Content-Length"] = str(length)
            return request.content
    # Unknown length (chunked): buffer up to the limit so an oversized body is refused
    # before the service sees any of it.
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
    return bytes(body)


class Upstream(Protocol):
    """What the relay needs of an upstream response, from either client."""

    @property
    def status(self) -> int: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def content_length(self) -> int | None: ...

    async def read(self) -> bytes: ...

    def chunks(self) -> AsyncIterator[bytes]: ...


class ClientUpstream:
    """An aiohttp ``ClientResponse`` as an ``Upstream``."""

    __slots__ = ("_response", "content_length", "reason", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.reason = response.reason
        self.content_length = response.content_length

    async def read(self) -> bytes:
        return await self._response.read()

    def chunks(self) -> AsyncIterator[bytes]:
        return self._response.content.iter_chunked(CHUNK)


def respond(
    request: web.Request, upstream: Upstream, headers: CIMultiDict[str], base: str, body: bytes | None
) -> web.Response:
    """A buffered (or bodiless) answer with the upstream's status and headers."""
    rewrite_location(request, headers, base)
    length = upstream.content_length
    if body is None:
        if length is not None and request.method == "HEAD":
            headers["Content-Length"] = str(length)
        return web.Response(status=upstream.status, reason=upstream.reason, headers=headers)
    return web.Response(status=upstream.status, reason=upstream.reason, body=body, headers=headers)


def rewrite_location(request: web.Request, headers: CIMultiDict[str], base: str) -> None:
    """A ``Location`` under the service's base URL, as the public origin."""
    location = headers.get("Location")
    if location is not None and location.startswith(base):
        origin = request.app[keys.trusted_proxies].public_origin(request)
        headers["Location"] = origin + location[len(base) :]


async def relay(
    request: web.Request,
    upstream: Upstream,
    headers: CIMultiDict[str],
    base: str,
    deadline: float | None = None,
) -> web.StreamResponse:
    """The upstream's status, headers and body, buffered when small, streamed otherwise."""
    length = upstream.content_length
    if request.method == "HEAD" or upstream.status in (204, 304):
        return respond(request, upstream, headers, base, None)
    if length is not None and length <= BUFFERED_RESPONSE:
        return respond(request, upstream, headers, base, await upstream.read())
    rewrite_location(request, headers, base)
    return await stream(request, upstream, headers, deadline)


async def stream(
    request: web.Request, upstream: Upstream, headers: CIMultiDict[str], deadline: float | None
) -> web.StreamResponse:
    """Relay a large or unbounded body chunk by chunk (until ``deadline``, a loop time, if any)."""
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
    if upstream.content_length is not None:
        response.content_length = upstream.content_length
    await response.prepare(request)
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in upstream.chunks():
                await response.write(chunk)
    except (aiohttp.ClientError, UpstreamError, TimeoutError) as exc:
        # Headers are gone already; closing is the only honest way to say "truncated".
        log.warning("gateway.upstream_broke_mid_body", error=repr(exc))
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


def request_head(method: str, target: str, host: str, headers: CIMultiDict[str], body: bytes | None) -> bytes:
    """The request line and headers as the upstream will read them."""
    parts = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    parts += [f"{name}: {value}\r\n" for name, value in headers.items()]
    if body is not None:
        parts.append(f"Content-Length: {len(body)}\r\n")
    elif method not in NO_BODY_METHODS:
        parts.append("Content-Length: 0\r\n")
    parts.append("\r\n")
    text = "".join(parts)
    # One CR and one LF per line: a value carrying either would split the request.
    lines = len(parts) + 1  # the first part holds the request line and Host
    if text.count("\n") != lines or text.count("\r") != lines:
        raise DomainError("A header value contains a line break.")
    return text.encode("utf-8", "surrogateescape")
