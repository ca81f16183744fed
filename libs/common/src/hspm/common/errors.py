"""Status-coded domain errors, rendered as application/problem+json at the edge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class DomainError(Exception):
    """An error a client can act on; the status and title travel with it.

    A subclass names its status and title as class keywords and says in its docstring
    when it is raised: ``class Gone(DomainError, status=410, title="Gone")``.
    """

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init_subclass__(cls, status: int | None = None, title: str | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title

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


class Unauthorized(DomainError, status=401, title="Unauthorized"):
    """No caller where one is needed, or credentials that do not verify."""


class Forbidden(DomainError, status=403, title="Forbidden"):
    """The caller is known and lacks the permission or the ownership."""


class NotFound(DomainError, status=404, title="Not found"):
    """No such record, or one the caller may not see: the same answer, so ids cannot be probed."""


class NotAcceptable(DomainError, status=406, title="Not acceptable"):
    """The Accept header allows nothing the resource can be rendered as."""


class Conflict(DomainError, status=409, title="Conflict"):
    """The record's state does not allow the change (a name taken, an illegal transition)."""


class PayloadTooLarge(DomainError, status=413, title="Payload too large"):
    """The body, an upload or a declared size is over its limit."""


class UnsupportedMediaType(DomainError, status=415, title="Unsupported media type"):
    """The body's Content-Type is not one the route reads."""


class TooManyRequests(DomainError, status=429, title="Too many requests"):
    """The client's rate-limit bucket is empty; the RateLimit-* headers say when to retry."""


class BadGateway(DomainError, status=502, title="Bad gateway"):
    """A service this one depends on (an upstream, an identity provider) failed."""


class ServiceUnavailable(DomainError, status=503, title="Service unavailable"):
    """A dependency (database, broker, identity) is down or the service is shutting down."""


class GatewayTimeout(DomainError, status=504, title="Gateway timeout"):
    """The owning service did not answer within the upstream timeout."""


class ValidationFailed(DomainError, status=422, title="Validation failed"):
    """422 with the spec's per-field error object: ``{"errors": {"field": ["msg"]}}``."""

    def __init__(self, errors: Mapping[str, Sequence[str]], detail: str | None = None) -> None:
        fields = {k: list(v) for k, v in errors.items()}
        summary = detail or "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items())
        super().__init__(summary, errors=fields)
        self.errors = fields

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        """One field, one message."""
        return cls({name: [message]})
