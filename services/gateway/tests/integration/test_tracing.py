"""Trace context: the service's span is a child of the gateway's SERVER span."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hspm.common import tracing
from hspm.common.web.app import state_key

PARENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN = "b7ad6b7169203331"


async def test_service_span_is_a_child_of_the_gateways(start_gateway, monkeypatch):
    # A private SDK provider: setting the global one would leak into other services' tests.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer("hspm"))
    gw = await start_gateway()
    gw.app[state_key].tracing_enabled = True

    headers = {"traceparent": f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"}
    async with gw.http.get("/users/1", headers=headers) as resp:
        forwarded = (await resp.json())["headers"]["traceparent"]

    server = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER][-1]
    assert format(server.context.trace_id, "032x") == PARENT_TRACE
    assert format(server.parent.span_id, "016x") == PARENT_SPAN
    _, trace_id, parent_id, _ = forwarded.split("-")
    assert trace_id == PARENT_TRACE
    assert parent_id == format(server.context.span_id, "016x")
