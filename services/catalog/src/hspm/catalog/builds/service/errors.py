"""Constraint violations of the builds store as the spec's 422 naming the field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import asyncpg

from hspm.common.errors import ValidationFailed

_INTEGRITY = (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError, asyncpg.CheckViolationError)


@contextmanager
def integrity(fields: Mapping[str, str]) -> Iterator[None]:
    """Constraint violations as 422 naming the field (``fields``: constraint fragment → field)."""
    try:
        yield
    except _INTEGRITY as exc:
        name = exc.constraint_name or ""
        field = next(
            (f for frag, f in fields.items() if frag in name), "id" if name.endswith("_pkey") else "base"
        )
        message = (
            "has already been taken" if isinstance(exc, asyncpg.UniqueViolationError) else "is not valid"
        )
        if isinstance(exc, asyncpg.ForeignKeyViolationError):
            message = "does not exist"
        raise ValidationFailed.field(field, message) from exc
