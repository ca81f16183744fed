"""Status-coded domain errors, rendered as application/problem+json at the edge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class DomainError(Exception):
    """An error a client can act on; the status and title travel with it."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The problem+json body (RFC 9457) with the spec's ``message`` field beside it."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "message": self.detail,
        }
        body.update(self.extra)
        return body


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


class NotAcceptable(DomainError):
    """406: the Accept header allows nothing the resource can be rendered as."""

    status = 406
    title = "Not acceptable"


class TooManyRequests(DomainError):
    """429: the client's rate-limit bucket is empty; the RateLimit-* headers say when to retry."""

    status = 429
    title = "Too many requests"


class BadGateway(DomainError):
    """502: a service this one depends on (an upstream, an identity provider) failed."""

    status = 502
    title = "Bad gateway"


class ServiceUnavailable(DomainError):
    status = 503
    title = "Service unavailable"


class GatewayTimeout(DomainError):
    """504: the owning service did not answer within the upstream timeout."""

    status = 504
    title = "Gateway timeout"


class ValidationFailed(DomainError):
    """422 with the spec's per-field error object: ``{"errors": {"field": ["msg"]}}``."""

    status = 422
    title = "Validation failed"

    def __init__(self, errors: Mapping[str, Sequence[str]], detail: str | None = None) -> None:
        fields = {k: list(v) for k, v in errors.items()}
        summary = detail or "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items())
        super().__init__(summary, errors=fields)
        self.errors = fields

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        """One field, one message."""
        return cls({name: [message]})
