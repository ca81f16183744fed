"""The validator's events about runs (its reports are followed by the reviews area)."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import validator
from hspm.curation.validations import service


async def on_validation_started(conn: Conn, event: validator.ValidationStarted) -> None:
    """queued → running; a run already finished stays finished."""
    await service.started(conn, event)
