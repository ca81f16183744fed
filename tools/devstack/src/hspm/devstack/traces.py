"""A trace collector for development and system tests: OTLP over HTTP in, spans kept in memory.

Every service (and the Platform Agent) exports to ``OTEL_EXPORTER_OTLP_ENDPOINT``; this
takes what they send (``POST /v1/traces``, protobuf) so a test can follow one trace from
the gateway to the agent. Services sample only traces whose caller asked for it
(``parentbased_always_off``): a test sends its own sampled ``traceparent`` and everything
else costs no export.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hspm.devstack.stack import free_port

# Spans kept at most: an unbounded buffer in a long test run would only grow.
MAX_SPANS = 200_000
MAX_BODY_BYTES = 16 * 1024 * 1024
_KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    service: str
    attributes: dict[str, Any]


def new_traceparent() -> tuple[str, str]:
    """A sampled W3C ``traceparent`` for a request, and its trace id."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


def environment(endpoint: str) -> dict[str, str]:
    """What a service's environment needs to export to this collector, sampled by caller only."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_TRACES_SAMPLER": "parentbased_always_off",
        # Quick export: a test waits for the agent's span, not for a five-second batch.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


class Collector:
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/v1/traces", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        room = MAX_SPANS - len(self.spans)
        self.spans.extend(list(_spans(message))[: max(room, 0)])
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")

    def trace(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans if s.trace_id == trace_id]

    async def wait_for(
        self, trace_id: str, service: str, name_prefix: str = "", timeout: float = 30.0
    ) -> list[Span]:
        """The trace's spans once one of ``service`` (named ``name_prefix``...) has arrived
        (TimeoutError otherwise). Each process exports on its own schedule: wait for the
        last span a test needs, not the first."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(s.service == service and s.name.startswith(name_prefix) for s in self.trace(trace_id)):
            if asyncio.get_running_loop().time() > deadline:
                seen = sorted({(s.service, s.name) for s in self.trace(trace_id)})
                raise TimeoutError(f"no span {service}/{name_prefix}... in trace {trace_id}; spans: {seen}")
            await asyncio.sleep(0.1)
        return self.trace(trace_id)


def _spans(message: ExportTraceServiceRequest) -> list[Span]:
    found: list[Span] = []
    for resource_spans in message.resource_spans:
        service = _service(resource_spans.resource.attributes)
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                found.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        kind=_KINDS.get(span.kind, "UNSPECIFIED"),
                        service=service,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                    )
                )
    return found


def _service(attributes: Any) -> str:
    for attribute in attributes:
        if attribute.key == "service.name":
            return str(attribute.value.string_value)
    return ""


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return (
        getattr(value, kind) if kind in ("string_value", "int_value", "bool_value", "double_value") else None
    )
