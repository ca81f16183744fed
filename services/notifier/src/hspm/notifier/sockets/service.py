"""What a socket session asks of the other areas, one function per protocol step.

Sessions are long-lived, so they borrow a connection per step rather than holding one;
each function here takes that connection, as every service function does.
"""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import DomainError
from hspm.notifier.credentials import service as credentials
from hspm.notifier.instances import envelope
from hspm.notifier.instances import service as instances
from hspm.notifier.instances.models import StatusReport
from hspm.notifier.notices import service as notices
from hspm.notifier.platforms import service as platforms
from hspm.notifier.sockets import protocol
from hspm.notifier.stream import service as stream
from hspm.notifier.stream.resume import Head

Record = asyncpg.Record


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


async def key_for(conn: Conn, platform_id: UUID, key_id: UUID) -> Record | None:
    """An active key of this platform, or None (unknown, another platform's, revoked)."""
    return await credentials.active_key(conn, platform_id, key_id)


def signature_valid(key: Record, platform_id: UUID, nonce: str, signature: str) -> bool:
    return credentials.signature_valid(key, platform_id, nonce, signature)


def _owns(p: Principal, platform: Record) -> bool:
    return p.user_id is not None and p.may_as_owner("platforms", "read", platform["user_id"])


async def owner_may_connect(conn: Conn, p: Principal, platform_id: UUID) -> bool:
    """A bearer token's user may speak for the platform only as its owner."""
    if p.is_anonymous:
        return False
    row = await platforms.owned_platform(conn, platform_id)
    return row is not None and _owns(p, row)


async def standing(
    conn: Conn, platform_id: UUID, key_id: UUID | None, p: Principal
) -> tuple[int, str] | None:
    """Why an authenticated socket must close now (its close code and reason), or None:
    the platform is gone, its key was revoked, or (no key: the owner's token) the token's
    user no longer owns it."""
    platform = await platforms.owned_platform(conn, platform_id)
    if platform is None:
        return protocol.CLOSE_GONE, "platform deleted"
    if key_id is not None:
        active = await credentials.active_key(conn, platform_id, key_id) is not None
        return None if active else (protocol.CLOSE_FORBIDDEN, "key revoked")
    return None if _owns(p, platform) else (protocol.CLOSE_FORBIDDEN, "no longer the platform's owner")


async def head(conn: Conn, platform_id: UUID) -> Head | None:
    return await stream.head(conn, platform_id)


async def read_many(
    conn: Conn, requests: list[tuple[UUID, int, int]]
) -> list[tuple[Head | None, list[Record]]]:
    return await stream.read_many(conn, requests)


async def heads(conn: Conn, platform_ids: list[UUID]) -> dict[UUID, Head]:
    return await stream.heads(conn, platform_ids)


async def acknowledge_many(conn: Conn, acks: list[tuple[UUID, int]]) -> None:
    await stream.acknowledge_many(conn, acks)


async def active_keys(conn: Conn, key_ids: list[UUID]) -> set[tuple[UUID, UUID]]:
    return await credentials.active_pairs(conn, key_ids)


async def full_state(conn: Conn, platform_id: UUID) -> dict[str, Any] | None:
    """The platform's desired state at one stream position, with its checksum and the
    recalls still awaiting acknowledgement. Run it in a REPEATABLE READ transaction so the
    instances and the position are one snapshot."""
    position = await stream.head(conn, platform_id)
    if position is None:
        return None
    desired = await instances.desired_state(conn, platform_id)
    pending = [
        {"recall_id": r["recall_id"], "severity": r["severity"], "deadline": r["deadline"]}
        for r in await notices.pending_for(conn, platform_id)
    ]
    return {
        "epoch": position.epoch,
        "seq": position.head,
        "instances": desired,
        "checksum": envelope.checksum(desired),
        "pending_recalls": pending,
    }


async def report(conn: Conn, platform_id: UUID, instance_id: UUID, body: StatusReport) -> Record:
    return await instances.report_status(conn, platform_id, instance_id, body)


async def acknowledge_recall(conn: Conn, platform_id: UUID, recall_id: UUID) -> Record:
    return await notices.acknowledge_recall(conn, platform_id, recall_id)


__all__ = ["DomainError", "Head", "Record", "StatusReport"]
