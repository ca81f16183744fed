"""The base application: health, readiness, metrics and the middleware stack."""

from __future__ import annotations

import gc
import itertools
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from aiohttp import web
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from hspm.common import db, tracing
from hspm.common import metrics as shared_metrics
from hspm.common.config import ServiceSettings
from hspm.common.errors import DomainError
from hspm.common.logging import request_line
from hspm.common.web.principal import PrincipalReader, principal_key

log = structlog.get_logger(__name__)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
REQUEST_ID_HEADER = "X-Request-ID"
_RETRY_SOON = {"Retry-After": "1"}

ReadinessCheck = Callable[[], Awaitable[None]]


@dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    service: str = ""
    # Label lookups cost microseconds each; a route has few (method, status) pairs.
    _children: dict[tuple[str, str, int], tuple[Any, Any]] = field(default_factory=dict)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        pair = self._children.get(key)
        if pair is None:
            pair = (
                self.requests.labels(self.service, method, route, str(status)),
                self.latency.labels(self.service, method, route),
            )
            self._children[key] = pair
        pair[0].inc()
        pair[1].observe(seconds)

    @classmethod
    def create(cls, service: str) -> Metrics:
        registry = CollectorRegistry()
        # The outbox's and the bus's process-wide metrics, served with the app's own.
        for collector in shared_metrics.COLLECTORS:
            registry.register(collector)
        return cls(
            registry=registry,
            service=service,
            requests=Counter(
                "hspm_http_requests_total",
                "HTTP requests by route and status",
                ["service", "method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "hspm_http_request_duration_seconds",
                "HTTP request duration",
                ["service", "method", "route"],
                registry=registry,
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            ),
        )


class RequestIds:
    """Unique request ids without a syscall each: a random process prefix and a counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._next = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._next):016x}"


request_id_key = web.RequestKey("hspm_request_id", str)


@dataclass
class ServiceState:
    """Mutable per-app state: the app itself is frozen once started."""

    settings: ServiceSettings
    service: str
    metrics: Metrics
    readiness: list[tuple[str, ReadinessCheck]] = field(default_factory=list)
    tracing_enabled: bool = False
    shutting_down: bool = False
    request_ids: RequestIds = field(default_factory=lambda: RequestIds())
    # The database pool's gate (``lifecycle.database``): when its line is full, requests
    # are turned away before any work is spent on them (reading and parsing a body).
    admission: db.Gate | None = None
    # Reads the gateway's signed principal assertion; None where nothing is trusted.
    principals: PrincipalReader | None = None


state_key = web.AppKey("hspm_state", ServiceState)


def _default(value: Any) -> Any:
    # asyncpg returns a subclass of uuid.UUID, which orjson only knows exactly.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(data: Any) -> bytes:
    """orjson with datetimes as ISO 8601 in UTC ending in ``Z`` and asyncpg UUIDs as text."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """orjson-encoded JSON, with datetimes as ISO 8601 in UTC ending in ``Z``."""
    return web.Response(
        body=dumps(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def problem_response(
    error: DomainError, request_id: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = error.problem()
    if request_id:
        body["request_id"] = request_id
    return web.Response(
        body=orjson.dumps(body), status=error.status, content_type="application/problem+json", headers=headers
    )


def _route_name(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


_QUIET_ROUTES = frozenset({"/healthz", "/metrics", "/readyz"})


@web.middleware
async def context_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Request id, metrics, (when enabled) a SERVER span, and one log line per request.

    The line is at info for every request: operators and the shutdown tests count served
    requests by it. ``request_line`` renders it without structlog's processor chain, which
    cost about a tenth of a cheap read's CPU (measured in issue 10).
    """
    state = request.app[state_key]
    incoming = request.headers.get(REQUEST_ID_HEADER)
    if incoming is not None and _SAFE_REQUEST_ID.fullmatch(incoming):
        request_id = incoming
    else:
        request_id = state.request_ids.next()
    request[request_id_key] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    route = _route_name(request)
    started = time.perf_counter()
    status = 500
    span_cm = (
        tracing.tracer().start_as_current_span(
            f"{request.method} {route}",
            context=tracing.extract(request.headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "http.route": route},
        )
        if state.tracing_enabled
        else None
    )
    span = span_cm.__enter__() if span_cm is not None else None
    try:
        # The problem mapping runs here rather than in a coroutine of its own: every
        # layer of coroutines is paid again at each resumption of the request.
        try:
            if state.principals is not None:
                request[principal_key] = state.principals(request)
            if state.admission is not None and state.admission.full and route not in _QUIET_ROUTES:
                raise db.PoolBusy("The service is busy; retry shortly.")
            response = await handler(request)
        except Exception as exc:
            response = _problem(exc, request_id)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    except web.HTTPException as exc:
        # Redirects (the OIDC login) are raised, not returned; they are successes.
        status = exc.status
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        elapsed = time.perf_counter() - started
        if span is not None and span_cm is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span_cm.__exit__(None, None, None)
        state.metrics.observe(request.method, route, status, elapsed)
        if route not in _QUIET_ROUTES:
            request_line(request.method, route, status, round(elapsed * 1000, 2))
        structlog.contextvars.unbind_contextvars("request_id")


def _problem(exc: Exception, request_id: str) -> web.Response:
    """Map a failure to application/problem+json; nothing leaks a traceback.

    Called while ``exc`` is being handled; a raised redirect is raised again.
    """
    if isinstance(exc, DomainError):
        # A 503 is always transient here (a busy pool, a dependency down): say when to retry.
        return problem_response(exc, request_id, _RETRY_SOON if exc.status == 503 else None)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        # Same casing as the DomainError titles ("Not found"), whoever raised it.
        title = exc.reason.capitalize()
        body = DomainError(title).problem() | {"status": exc.status, "title": title, "request_id": request_id}
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        return web.Response(
            body=orjson.dumps(body),
            status=exc.status,
            content_type="application/problem+json",
            headers=headers,
        )
    log.exception("http.unhandled")
    trace.get_current_span().set_status(Status(StatusCode.ERROR))
    err = DomainError("An internal error occurred; it has been logged.")
    body = err.problem() | {"status": 500, "title": "Internal server error"}
    body["request_id"] = request_id
    return web.Response(body=orjson.dumps(body), status=500, content_type="application/problem+json")


async def healthz(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = request.app[state_key]
    if state.shutting_down:
        return json_response({"status": "stopping"}, status=503)
    failures: dict[str, str] = {}
    for name, check in state.readiness:
        try:
            await check()
        except Exception as exc:
            failures[name] = type(exc).__name__
    if failures:
        return json_response({"status": "unready", "failures": failures}, status=503)
    return json_response({"status": "ready", "checks": [n for n, _ in state.readiness]})


async def metrics(request: web.Request) -> web.Response:
    state = request.app[state_key]
    return web.Response(
        body=generate_latest(state.metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


async def _freeze_startup_heap(_: web.Application) -> None:
    """Keep what start-up built (modules, models, routes, the OpenAPI document) out of
    the garbage collector's reach: every full collection walked it, under load too."""
    gc.collect()
    gc.freeze()


async def _mark_shutting_down(app: web.Application) -> None:
    app[state_key].shutting_down = True


def create_base_app(
    settings: ServiceSettings,
    service: str,
    *,
    trust_principal: bool = True,
    tracing_enabled: bool | None = None,
    middlewares: list[Any] | None = None,
) -> web.Application:
    """An application with the house middleware, ``/healthz``, ``/readyz`` and ``/metrics``.

    ``trust_principal`` makes the context middleware read the gateway's
    signed assertion; the gateway itself turns it off and authenticates bearer tokens.
    """
    stack: list[Any] = [context_middleware, *(middlewares or [])]
    principals = None
    if trust_principal:
        # A service that trusts the gateway's assertions cannot run without the key, and
        # accepts only assertions signed for it (the audience is the name it is built with).
        settings.require_internal_secret()
        principals = PrincipalReader(settings, audience=service)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=stack)
    enabled = (
        tracing_enabled
        if tracing_enabled is not None
        else not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    )
    app[state_key] = ServiceState(
        settings=settings,
        service=service,
        metrics=Metrics.create(service),
        tracing_enabled=enabled,
        principals=principals,
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    # After the cleanup contexts: aiohttp runs them first among the startup hooks.
    app.on_startup.append(_freeze_startup_heap)
    app.on_shutdown.append(_mark_shutting_down)
    return app
