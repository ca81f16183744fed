"""Request bodies of agent keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from hspm.common.models import Input

KeyName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class KeyCreate(Input):
    READ_ONLY = frozenset({"id", "path", "url", "fingerprint", "created_at", "revoked_at", "platform_id"})
    name: KeyName = ""
    # Base64 of the raw 32 bytes, or a PEM SubjectPublicKeyInfo.
    public_key: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
