"""Token records and API tokens: who may mint which scopes, what a token's scopes allow,
and the ``SessionRevoked`` event every ended token sends the gateways.

Every function runs inside the caller's transaction; events go to the outbox in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from hspm.common import permissions
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Forbidden, NotFound, ValidationFailed
from hspm.common.events import identity as ev
from hspm.common.paging import PageParams
from hspm.identity import access
from hspm.identity.events import emit
from hspm.identity.tokens import models, store

Record = asyncpg.Record

# --- rules ----------------------------------------------------------------------------------


def check_scopes(scopes: list[str]) -> list[str]:
    """An API token's scopes, deduplicated and sorted; each a known permission key or ``*``.

    An empty list is refused: it would be a token that can do nothing (what a stored one
    with ``[]`` is, see ``scoped``), never an unscoped one.
    """
    if not scopes:
        raise ValidationFailed.field("scopes", "must name at least one permission key, or * for all of yours")
    unknown = [s for s in scopes if s != "*" and s not in permissions.ALL_KEYS]
    if unknown:
        raise ValidationFailed.field("scopes", f"unknown permission keys: {', '.join(unknown[:10])}")
    return sorted(set(scopes))


def scoped(user_keys: set[str], scopes: list[str] | None) -> set[str]:
    """An API token can do what its user can, narrowed to its scopes (``*`` keeps all, ``[]``
    keeps nothing; ``None`` is a login session)."""
    if scopes is None or "*" in scopes:
        return user_keys
    if permissions.MANAGE in user_keys:
        return set(scopes) & permissions.ALL_KEYS
    return user_keys & set(scopes)


def may_mint(p: Principal, user_id: UUID) -> None:
    """Who may create an API token for ``user_id`` (who may see the user is checked first)."""
    # A scoped token must not mint itself a wider one.
    if p.is_scoped:
        raise Forbidden("A scoped API token cannot create API tokens; sign in or use an unscoped token.")
    # Minting tokens for someone else would let an operator act as them.
    if not p.owns(user_id):
        p.require("everything", "manage")


def may_manage(p: Principal, user_id: UUID) -> None:
    """Reading a user's API tokens: the user themself, or ``api_tokens.read``."""
    if not p.owns(user_id):
        p.require("api_tokens", "read")


def _expiry(days: int, max_days: int) -> datetime:
    if days > max_days:
        raise ValidationFailed.field("expires_in_days", f"must be at most {max_days}")
    return datetime.now(UTC) + timedelta(days=days)


# --- records, for the other areas -----------------------------------------------------------


async def start_session(conn: Conn, user_id: UUID, identity_id: UUID | None, ttl_seconds: int) -> Record:
    """The record of a browser login through ``identity_id``."""
    expires = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    return await store.insert_session(conn, uuid4(), user_id, "session", expires, identity_id=identity_id)


async def record_api_token(conn: Conn, user_id: UUID, name: str, days: int) -> Record:
    """An unscoped API token's record, made by an operator's command rather than a caller."""
    expires = datetime.now(UTC) + timedelta(days=days)
    return await store.insert_session(conn, uuid4(), user_id, "api", expires, name=name, scopes=["*"])


async def active_session(conn: Conn, session_id: UUID) -> Record | None:
    """The record if its token still works: neither revoked nor expired."""
    return await store.get_active_session(conn, session_id)


async def end_session(conn: Conn, session_id: UUID, user_id: UUID) -> Record | None:
    """Revoke a token; the gateways hear of it unless it had ended already."""
    revoked = await store.revoke_session(conn, session_id)
    if revoked is not None:
        await emit(conn, ev.SessionRevoked(session_id=session_id, user_id=user_id))
    return revoked


async def end_identity_sessions(conn: Conn, user_id: UUID, identity_id: UUID) -> None:
    """End every working token opened through one identity of the user."""
    for session_id in await store.live_session_ids(conn, user_id, identity_id):
        await end_session(conn, session_id, user_id)


async def live_session_ids(conn: Conn, user_id: UUID, identity_id: UUID | None = None) -> list[UUID]:
    return await store.live_session_ids(conn, user_id, identity_id)


async def live_sessions_of_identities(conn: Conn, identity_ids: Sequence[UUID]) -> list[tuple[UUID, UUID]]:
    """``(session id, user id)`` of the working tokens opened through these identities."""
    return [(r["id"], r["user_id"]) for r in await store.live_sessions_of_identities(conn, identity_ids)]


async def announce_ended(conn: Conn, sessions: Iterable[tuple[UUID, UUID]]) -> None:
    """Tell the gateways of ``(session id, user id)`` records a delete cascade just removed."""
    for session_id, user_id in sessions:
        await emit(conn, ev.SessionRevoked(session_id=session_id, user_id=user_id))


# --- API tokens -----------------------------------------------------------------------------


async def _token_owner(conn: Conn, p: Principal, user_id: UUID) -> None:
    """The user must be visible to the caller (as in ``users``: missing and hidden look alike)."""
    access.signed_in(p)
    if not access.may_read_user(p, user_id) or not await store.user_exists(conn, user_id):
        raise NotFound("User not found.")


async def create_api_token(
    conn: Conn, p: Principal, user_id: UUID, body: models.ApiTokenCreate, max_days: int
) -> Record:
    await _token_owner(conn, p, user_id)
    may_mint(p, user_id)
    expires = _expiry(body.expires_in_days, max_days)
    return await store.insert_session(
        conn, uuid4(), user_id, "api", expires, name=body.name, scopes=check_scopes(body.scopes)
    )


async def list_api_tokens(
    conn: Conn, p: Principal, user_id: UUID, page: PageParams
) -> tuple[list[Record], int]:
    await _token_owner(conn, p, user_id)
    may_manage(p, user_id)
    return await store.list_api_tokens(conn, user_id, page)


async def get_api_token(conn: Conn, p: Principal, user_id: UUID, token_id: UUID) -> Record:
    await _token_owner(conn, p, user_id)
    may_manage(p, user_id)
    row = await store.get_api_token(conn, user_id, token_id)
    if row is None:
        raise NotFound("API token not found.")
    return row


async def revoke_api_token(conn: Conn, p: Principal, user_id: UUID, token_id: UUID) -> Record:
    row = await get_api_token(conn, p, user_id, token_id)
    if not p.may_as_owner("api_tokens", "delete", user_id):
        p.require("api_tokens", "delete")
    return await end_session(conn, token_id, user_id) or row
