"""Shared library of HSP Marketplace services: the one way every service is built."""

from hspm.common.config import ServiceSettings
from hspm.common.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "NotFound",
    "ServiceSettings",
    "Unauthorized",
    "ValidationFailed",
]
