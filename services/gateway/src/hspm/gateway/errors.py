"""Errors the edge itself answers with, rendered as problem+json by the common middleware."""

from __future__ import annotations

from hspm.common.errors import DomainError


class NotAcceptable(DomainError):
    status = 406
    title = "Not acceptable"


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


class BadGateway(DomainError):
    status = 502
    title = "Bad gateway"


class GatewayTimeout(DomainError):
    status = 504
    title = "Gateway timeout"
