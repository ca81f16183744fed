"""Events that change what platforms are told: each one service call."""

from __future__ import annotations

from hspm.common.db import Conn
from hspm.common.events import catalog, curation, licensing
from hspm.notifier.notices import service


async def on_build_published(conn: Conn, event: catalog.BuildPublished) -> None:
    await service.build_published(conn, event)


async def on_build_withdrawn(conn: Conn, event: catalog.BuildWithdrawn) -> None:
    await service.build_withdrawn(conn, event)


async def on_entitlement_granted(conn: Conn, event: licensing.EntitlementGranted) -> None:
    await service.entitlement_granted(conn, event)


async def on_entitlement_revoked(conn: Conn, event: licensing.EntitlementRevoked) -> None:
    await service.entitlement_ended(conn, event, "revoked")


async def on_entitlement_expired(conn: Conn, event: licensing.EntitlementExpired) -> None:
    await service.entitlement_ended(conn, event, "expired")


async def on_recall_issued(conn: Conn, event: curation.RecallIssued) -> None:
    await service.recall_issued(conn, event)
