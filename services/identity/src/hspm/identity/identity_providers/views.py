"""JSON shapes of identity providers."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.common.auth import Principal
from hspm.common.handlers import Render
from hspm.identity.identity_providers import service
from hspm.identity.identity_providers.models import MASKED_SECRET
from hspm.identity.links import linked

_PUBLIC = ("id", "name", "issuer")
_CONFIGURATION = (
    "client_id",
    "alternate_client_id",
    "scopes",
    "enabled_at",
    "configuration",
    "public_keys",
    "created_at",
    "updated_at",
)


def identity_provider(row: asyncpg.Record, base: str, full: bool) -> dict[str, Any]:
    """What login needs; with ``full``, the configuration too (the secret stays masked)."""
    path = f"/identity_providers/{row['id']}"
    extra: dict[str, Any] = {
        "enabled": row["enabled_at"] is not None,
        "redirect_url": f"{base}{path}/redirect",
    }
    if full:
        # The secret is write-only: shown to nobody, not even administrators.
        extra |= {k: row[k] for k in _CONFIGURATION} | {"client_secret": MASKED_SECRET}
    return linked(row, _PUBLIC, base, path, **extra)


def for_caller(p: Principal) -> Render:
    """The rendering ``p`` may see (``service.shows_configuration``)."""
    full = service.shows_configuration(p)
    return lambda row, base: identity_provider(row, base, full)
