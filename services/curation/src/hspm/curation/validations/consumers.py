"""The validator's events about runs."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import validator
from hspm.curation.validations import service


async def on_validation_started(conn: Conn, event: validator.ValidationStarted) -> None:
    """queued → running; a run already finished stays finished."""
    await service.started(conn, event)


async def on_validation_completed(conn: Conn, event: validator.ValidationCompleted) -> None:
    """Store the report (once) and let it move the case when it is the submission's run."""
    await service.completed(conn, event)
