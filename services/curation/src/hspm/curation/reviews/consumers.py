"""The events that move review cases: the catalog's builds and the validator's reports."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog, validator
from hspm.curation.reviews import service


async def on_build_submitted(conn: Conn, event: catalog.BuildSubmitted) -> None:
    """Open (or reopen) the case, request the submission's run, move it to validating."""
    await service.submitted(conn, event)


async def on_build_published(conn: Conn, event: catalog.BuildPublished) -> None:
    """The catalog published the approved build."""
    await service.published(conn, event)


async def on_validation_completed(conn: Conn, event: validator.ValidationCompleted) -> None:
    """Store the report (once) and let it move the case when it is the submission's run."""
    await service.report_received(conn, event)
