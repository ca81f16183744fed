"""Identity's invalidation events, applied to this replica's caches."""

from __future__ import annotations

import structlog
from aiohttp import web

from hspm.common.events import Event
from hspm.common.events.identity import AccessChanged, SessionRevoked
from hspm.common.lifecycle import BroadcastHandler
from hspm.gateway import keys

log = structlog.get_logger(__name__)


async def on_session_revoked(app: web.Application, event: SessionRevoked) -> None:
    """Logout or token deletion: the session's token stops working here now."""
    app[keys.auth].revoke(str(event.session_id))
    log.info("gateway.session_revoked", session_id=str(event.session_id))


async def on_access_changed(app: web.Application, event: AccessChanged) -> None:
    """Roles or memberships changed: the next request asks identity again."""
    app[keys.auth].access_changed(str(u) for u in event.user_ids)
    log.info("gateway.access_changed", users=len(event.user_ids) or "all")


HANDLERS: dict[type[Event], BroadcastHandler] = {
    SessionRevoked: on_session_revoked,
    AccessChanged: on_access_changed,
}
