"""Traces: the agent's work on a stream event continues the trace of the change behind it.

The notifier puts the W3C ``traceparent`` of the change that made an event into the
event's frame; the agent applies the event in a span of that trace and sends its reports
and recall acknowledgements with the span's own ``traceparent``, so one trace runs from
the request at the gateway to the platform and back. Events without a ``traceparent``
start no span. Spans are exported (OTLP over HTTP) when ``OTEL_EXPORTER_OTLP_ENDPOINT``
is set and the ``tracing`` extra (the OpenTelemetry SDK) is installed.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

log = logging.getLogger(__name__)
SERVICE_NAME = "hspm-platform-agent"


def configure() -> Callable[[], None]:
    """Install an exporting tracer provider when asked to; what flushes it at shutdown."""
    if (
        not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true"
    ):
        return lambda: None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("tracing.unavailable", extra={"hint": "install hspm-client[tracing]"})
        return lambda: None
    name = os.environ.get("OTEL_SERVICE_NAME", SERVICE_NAME)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider.shutdown


@contextlib.contextmanager
def applying(frame: dict[str, Any]) -> Iterator[None]:
    """The agent's work on one stream item, in the trace the item names (if any)."""
    parent = frame.get("traceparent")
    if not isinstance(parent, str):
        yield
        return
    context = propagate.extract({"traceparent": parent})
    name = f"apply {frame.get('resource_type', frame.get('type'))} {frame.get('event_type', '')}".strip()
    attributes: dict[str, int | str] = {
        "hspm.stream.seq": int(frame.get("seq") or 0),
        "hspm.stream.epoch": str(frame.get("epoch")),
    }
    tracer = trace.get_tracer("hspm.platform_agent")
    with tracer.start_as_current_span(name, context=context, kind=SpanKind.CONSUMER, attributes=attributes):
        yield


def carrier() -> dict[str, str]:
    """``{"traceparent": ...}`` of the current span for a frame the agent sends; empty
    when nothing is traced."""
    found: dict[str, str] = {}
    propagate.inject(found)
    return {"traceparent": found["traceparent"]} if "traceparent" in found else {}
