"""Notices to platforms, each appended in the transaction that takes in the event.

Build publication and withdrawal reach the platforms that run the product; entitlement
changes reach the owner's platforms; a recall reaches the platforms running an affected
build as a critical update they must acknowledge. Staff and auditors (``recalls.read``)
list which platforms have not acknowledged, and since when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import NotFound
from hspm.common.events import catalog, curation, licensing
from hspm.common.paging import PageParams
from hspm.notifier.directory import service as directory
from hspm.notifier.instances import service as instances
from hspm.notifier.notices import store
from hspm.notifier.platforms import service as platforms
from hspm.notifier.stream import service as stream

Record = asyncpg.Record
SORTS = ("notified_at", "acknowledged_at")


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


async def _tell(
    conn: Conn, platform_ids: list[UUID], resource: str, kind: str, message: str, model: dict[str, Any]
) -> None:
    if platform_ids:
        await stream.append_many(conn, platform_ids, resource, kind, message, model)


# Final in curation's machine: a publication arriving after one of these is an older fact
# delivered late (nacked while the database was away, then redelivered), not a new one.
RETIRED_FOR_GOOD = frozenset({"withdrawn", "recalled"})


async def build_published(conn: Conn, event: catalog.BuildPublished) -> None:
    known = await directory.build(conn, event.build_id)
    if known is not None and known["status"] in RETIRED_FOR_GOOD:
        return
    await directory.set_build_published(conn, event.build_id, event.product_id, directory.PUBLISHED)
    model = {
        "build": {"id": str(event.build_id), "product": {"id": str(event.product_id)}, "status": "published"}
    }
    targets = await instances.platforms_running_product(conn, event.product_id)
    await _tell(conn, targets, "build", "published", "A new build of a product you run is published.", model)


async def build_withdrawn(conn: Conn, event: catalog.BuildWithdrawn) -> None:
    await directory.set_build_published(conn, event.build_id, event.product_id, event.status)
    model = {
        "build": {
            "id": str(event.build_id),
            "product": {"id": str(event.product_id)},
            "status": event.status,
            "reason": event.reason,
        }
    }
    targets = await instances.platforms_running_product(conn, event.product_id)
    await _tell(conn, targets, "build", "withdrawn", "A build of a product you run is withdrawn.", model)


async def entitlement_granted(conn: Conn, event: licensing.EntitlementGranted) -> None:
    await directory.put_entitlement(
        conn, event.entitlement_id, event.user_id, event.product_id, event.valid_from, event.valid_until
    )
    extra = {"valid_from": _time(event.valid_from), "valid_until": _time(event.valid_until)}
    await _entitlement(conn, event.user_id, event.entitlement_id, event.product_id, "granted", extra)


async def entitlement_ended(
    conn: Conn, event: licensing.EntitlementRevoked | licensing.EntitlementExpired, kind: str
) -> None:
    await directory.end_entitlement(conn, event.entitlement_id, event.user_id, event.product_id)
    await _entitlement(conn, event.user_id, event.entitlement_id, event.product_id, kind, {})


async def _entitlement(
    conn: Conn, user_id: UUID, entitlement_id: UUID, product_id: UUID, kind: str, extra: dict[str, Any]
) -> None:
    body = {"id": str(entitlement_id), "product": {"id": str(product_id)}, "user": {"id": str(user_id)}}
    targets = await platforms.platform_ids_of(conn, user_id)
    message = f"An entitlement of the platform's owner was {kind}."
    await _tell(conn, targets, "entitlement", kind, message, {"entitlement": body | extra})


def recall_model(event: curation.RecallIssued) -> dict[str, Any]:
    return {
        "recall": {
            "id": str(event.recall_id),
            "product": {"id": str(event.product_id)},
            "severity": event.severity,
            "reason": event.reason,
            "versions": event.versions,
            "affected_builds": [str(b) for b in event.build_ids],
            "fixed_build": {"id": str(event.fixed_build_id)} if event.fixed_build_id else None,
            "deadline": _time(event.deadline),
            "acknowledgement_required": True,
        }
    }


async def recall_issued(conn: Conn, event: curation.RecallIssued) -> None:
    """A critical update for every platform running an affected build, each on record."""
    await store.put_recall(
        conn,
        event.recall_id,
        event.product_id,
        event.build_ids,
        event.versions,
        event.severity,
        event.reason,
        event.fixed_build_id,
        event.deadline,
        event.occurred_at,
    )
    targets = await instances.platforms_running_builds(conn, event.build_ids)
    for platform_id in targets:
        await store.add_notice(conn, event.recall_id, platform_id)
    message = f"Critical update ({event.severity}): a build you run is recalled."
    await _tell(conn, targets, "product", "security_notice", message, recall_model(event))


async def acknowledge_recall(conn: Conn, platform_id: UUID, recall_id: UUID) -> Record:
    """The platform has taken the recall in (an agent over the socket, or its owner)."""
    row = await store.acknowledge(conn, recall_id, platform_id)
    if row is None:
        raise NotFound("This platform was not notified of that recall.")
    return row


async def acknowledge_as(conn: Conn, p: Principal, platform_id: UUID, recall_id: UUID) -> Record:
    platform = await platforms.get_platform(conn, p, platform_id)
    p.require_or_owner("platforms", "update", platform["user_id"])
    return await acknowledge_recall(conn, platform_id, recall_id)


async def list_notices(
    conn: Conn, p: Principal, page: PageParams, recall_id: UUID | None, pending: bool | None
) -> tuple[list[Record], int]:
    """Staff and auditors: which platforms were told of which recall, and which have not
    acknowledged it yet (``pending=true``), oldest first by default."""
    p.require("recalls", "read")
    return await store.list_notices(conn, page, recall_id, pending)


async def pending_for(conn: Conn, platform_id: UUID) -> list[Record]:
    return await store.pending_for(conn, platform_id)
