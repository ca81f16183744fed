"""structlog JSON logging to stdout, with request, event and trace ids."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson
import structlog
from opentelemetry import trace


def _add_otel_ids(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Copy the current span's ids so a log line can be found from its trace."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
    return event_dict


def _serialize(obj: Any, **_: Any) -> bytes:
    return orjson.dumps(obj, default=str)


def configure_logging(
    service: str, level: str = "info", json: bool | None = None, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to one JSON line per event on ``stream``.

    Services log to standard output; a command whose standard output is its result (an
    operator CLI read by scripts) passes ``sys.stderr``.
    """
    out = sys.stdout if stream is None else stream
    use_json = (not out.isatty()) if json is None else json
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_otel_ids,
        structlog.processors.StackInfoRenderer(),
        # show_locals=False: frame locals would leak tokens and DSNs into logs.
        structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        ),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_serialize)
        if use_json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=(
            structlog.BytesLoggerFactory(out.buffer) if use_json else structlog.PrintLoggerFactory(out)
        ),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(
                    serializer=lambda o, **_: orjson.dumps(o, default=str).decode()
                )
                if use_json
                else structlog.dev.ConsoleRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))
    # aiohttp's access log is replaced by one structured line per request.
    logging.getLogger("aiohttp.access").disabled = True
