"""Request bodies of the sessions area: beginning a login, trading a login code, device sign-in."""

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


class DeviceStart(Input):
    """``POST /device_authorizations``: a device (the command line) asks to be signed in."""

    client_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class DeviceToken(Input):
    """``POST /device_authorizations/token``: the device polls with its secret device code."""

    device_code: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class DeviceDecision(Input):
    """``POST /device_authorizations/approve``: a signed-in person approves or denies a code."""

    user_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    approve: bool


class DeviceLookup(Input):
    """``POST /device_authorizations/lookup``: the approval page asks what a code stands for."""

    user_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
