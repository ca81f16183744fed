"""OpenTelemetry: a tracer provider from OTEL_* env and context across HTTP and AMQP."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

TRACER_NAME = "hspm"


def configure_tracing(service: str, extra_processor: SpanProcessor | None = None) -> bool:
    """Install a tracer provider when an exporter or a test processor is configured.

    Without ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or a processor from tests) tracing stays
    the API's no-op: span creation then costs a few hundred nanoseconds.
    """
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true" or (
        not endpoint and extra_processor is None
    ):
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    trace.set_tracer_provider(provider)
    _instrument_asyncpg()
    return True


def _instrument_asyncpg() -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def tracer() -> trace.Tracer:
    """The project's tracer (resolved per call so a late provider is honoured)."""
    return trace.get_tracer(TRACER_NAME)


def inject(headers: MutableMapping[str, Any]) -> None:
    """Write ``traceparent``/``tracestate`` of the current context into headers."""
    propagate.inject(headers)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None when nothing is being traced.

    For what carries a trace beyond HTTP and AMQP: a stream event stored now and sent to
    an agent later continues the trace of the change that made it.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def extract(headers: Mapping[str, Any]) -> otel_context.Context:
    """Read the remote context from HTTP or AMQP headers."""
    return propagate.extract({k: str(v) for k, v in headers.items()})
