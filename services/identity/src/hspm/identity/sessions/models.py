"""Request bodies of the sessions area: beginning a login, trading a login code."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints

from hspm.common.models import Input


class LoginStart(Input):
    """``POST /session``: begin a login at this identity provider (the spec's ``provider_id``)."""

    provider_id: UUID


class LoginCode(Input):
    """``POST /sessions/token``: the one-time code the UI found in its URL's fragment."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=200)]
