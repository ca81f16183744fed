"""Frames that name a trace are handled in a span of it (docs/notifier-protocol.md, section 4)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry.trace import SpanKind

from hspm.common import tracing


@contextlib.contextmanager
def continued(traceparent: str | None, kind: str) -> Iterator[None]:
    """A frame that names a trace is handled in a span of that trace (a report or a recall
    acknowledgement about an event the agent applied); others start none, so the stream's
    acknowledgements cost nothing."""
    if traceparent is None:
        yield
        return
    context = tracing.extract({"traceparent": traceparent})
    with tracing.tracer().start_as_current_span(f"agent {kind}", context=context, kind=SpanKind.SERVER):
        yield
