"""Writing curation's events to its outbox."""

from __future__ import annotations

from hspm.common import outbox
from hspm.common.db import Conn
from hspm.common.events.base import Event

PRODUCER = "curation"


async def emit(conn: Conn, event: Event) -> None:
    """Queue ``event`` in the caller's transaction, stamped with this producer."""
    await outbox.add(conn, event.model_copy(update={"producer": PRODUCER}))
