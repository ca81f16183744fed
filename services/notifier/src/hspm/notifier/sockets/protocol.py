"""The frames of the notifier protocol (docs/notifier-protocol.md): parsing, without I/O.

Every client frame is one JSON object with a ``type``; anything else (not JSON, too
large, an unknown type or field, a wrong value) is a ``ProtocolError`` whose code the
server sends back in an ``error`` frame. Parsing changes nothing, so a bad frame never
changes anything either.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from hspm.notifier.instances.models import StatusReport

PROTOCOL_VERSION = 1
SUBPROTOCOL = "hspm.notifier.v1"

# Close codes (4000-4999 are the application's, RFC 6455 7.4.2).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_AUTH_TIMEOUT = 4408
CLOSE_GONE = 4410
# A socket opened on the owner's token outlived the gateway's assertion of it: reconnect,
# and the token is checked again.
CLOSE_EXPIRED = 4419
CLOSE_LAGGING = 4429

ErrorCode = Literal[
    "malformed", "too_large", "unknown_type", "invalid", "out_of_order", "unsupported_protocol",
    "unauthenticated", "forbidden", "not_found",
]  # fmt: skip


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code: ErrorCode = code
        self.detail = detail


# A W3C traceparent (version 00): the agent's work on an event continues the event's trace,
# and what it sends back about that work continues it again. Malformed ones are refused.
TraceParent = Annotated[str, Field(pattern=r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # An opaque client token echoed in the reply, so the agent can match answers.
    ref: Annotated[str, Field(max_length=100)] | None = None
    traceparent: TraceParent | None = None


class Hello(_Frame):
    type: Literal["hello"]
    protocol: int
    platform_id: UUID
    # Present: prove possession of this key (challenge). Absent: the upgrade's bearer
    # principal must own the platform.
    key_id: UUID | None = None


class Authenticate(_Frame):
    type: Literal["authenticate"]
    signature: Annotated[str, Field(min_length=1, max_length=200)]


class Subscribe(_Frame):
    type: Literal["subscribe"]
    platform_id: UUID
    # The last position the agent applied; both absent: start from the full state.
    epoch: Annotated[str, Field(max_length=64)] | None = None
    after: Annotated[int, Field(ge=0, strict=True)] | None = None


class Ack(_Frame):
    type: Literal["ack"]
    seq: Annotated[int, Field(ge=0, strict=True)]


class ResyncRequest(_Frame):
    type: Literal["resync"]


class Ping(_Frame):
    type: Literal["ping"]


class Report(StatusReport):
    """An instance's status, as PATCH /instances/{id} takes it (plus the frame's fields)."""

    type: Literal["report"]
    ref: Annotated[str, Field(max_length=100)] | None = None
    traceparent: TraceParent | None = None
    instance_id: UUID

    def status(self) -> StatusReport:
        """The report without the frame's own fields, as ``PATCH /instances/{id}`` takes it."""
        return StatusReport.model_validate(
            self.model_dump(exclude={"type", "ref", "traceparent", "instance_id"})
        )


class RecallAck(_Frame):
    type: Literal["recall_ack"]
    recall_id: UUID


ClientFrame = Annotated[
    Hello | Authenticate | Subscribe | Ack | ResyncRequest | Ping | Report | RecallAck,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
KNOWN_TYPES = frozenset(
    {"hello", "authenticate", "subscribe", "ack", "resync", "ping", "report", "recall_ack"}
)


def parse(text: str | bytes, max_bytes: int) -> Any:
    """One client frame, or ``ProtocolError``: too large, not a JSON object, unknown, invalid."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise ProtocolError("too_large", f"A frame may be at most {max_bytes} bytes.")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError("malformed", "A frame is one JSON object.") from exc
    if not isinstance(data, dict):
        raise ProtocolError("malformed", "A frame is one JSON object.")
    if data.get("type") not in KNOWN_TYPES:
        raise ProtocolError("unknown_type", f"Unknown frame type {str(data.get('type'))[:40]!r}.")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise ProtocolError("invalid", f"{where}: {first['msg']}") from exc


def carried_event(epoch: str, seq: int, body: str) -> str:
    """An event frame from the body a wake-up carried (the frame but its position, a JSON
    object rendered by the database): its position spliced in, nothing decoded."""
    return '{"epoch":' + orjson.dumps(epoch).decode() + ',"seq":' + str(seq) + "," + body[1:]


def dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame, default=str, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC).decode()


def error(code: ErrorCode, detail: str, ref: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if ref is not None:
        frame["ref"] = ref
    return frame


def event(epoch: str, row: Any) -> dict[str, Any]:
    """A stream event: the spec's envelope (resource_type, event_type, message, model) and
    its position."""
    return {
        "type": "event",
        "epoch": epoch,
        "seq": int(row["seq"]),
        "resource_type": row["resource_type"],
        "event_type": row["event_type"],
        "message": row["message"],
        "model": row["model"],
        "occurred_at": row["created_at"],
        "traceparent": row["traceparent"],
    }
