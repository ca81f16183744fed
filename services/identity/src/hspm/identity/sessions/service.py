"""Signing in and out, and what the gateway and ``/status`` learn about a session.

The login runs as short units of work with the identity provider's HTTP calls between
them, so no database connection, let alone a transaction, waits on a network call that
may take seconds. Its two functions therefore take ``uow``, which opens one of the
request's units of work, instead of a connection; the rest run in the caller's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
import structlog

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from hspm.identity.config import Settings
from hspm.identity.identity_providers import service as identity_providers
from hspm.identity.roles import service as roles
from hspm.identity.sessions import oidc, store
from hspm.identity.tokens import service as tokens
from hspm.identity.users import service as users

log = structlog.get_logger(__name__)

Record = asyncpg.Record
UnitOfWork = Callable[[], AbstractAsyncContextManager[Conn]]

# Well past any login's time to live, so a login in flight is never swept.
LOGIN_RETENTION_SECONDS = 3600


@dataclass(frozen=True)
class LoginStarted:
    """Where to send the browser, and the login cookie that binds the login to it."""

    url: str
    browser_key: str


@dataclass(frozen=True)
class LoginDone:
    """A finished login's session, and the one-time code that hands its token to the UI."""

    session: Record
    code: str | None


@dataclass(frozen=True)
class SessionPrincipal:
    """What the gateway needs to act for a session."""

    session: Record
    name: str
    permissions: set[str]


@dataclass(frozen=True)
class Whoami:
    """The signed-in caller: their principal, user, token record and login identity."""

    caller: Principal
    user: Record | None
    session: Record | None
    identity: Record | None
    provider: Record | None


@dataclass(frozen=True)
class Status:
    """The health document's clocks, and who is calling when a user is."""

    product_time: datetime
    database_time: datetime
    whoami: Whoami | None


# --- logging in -----------------------------------------------------------------------------


async def _discover(
    uow: UnitOfWork, http: aiohttp.ClientSession, idp: Record, refresh_seconds: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The IdP's configuration and keys, fetched again when older than ``refresh_seconds``."""
    if oidc.is_fresh(idp, refresh_seconds):
        return idp["configuration"], idp["public_keys"]
    config, keys = await oidc.discover(http, idp["issuer"])
    async with uow() as conn:
        await identity_providers.store_discovery(conn, idp["id"], config, keys)
    return config, keys


async def begin_login(
    uow: UnitOfWork, http: aiohttp.ClientSession, idp_id: UUID, settings: Settings
) -> LoginStarted:
    """Record a login in flight, bound to the browser by a new login cookie (only its hash is
    kept); returns the IdP's authorization URL and that cookie's value."""
    async with uow() as conn:
        idp = await identity_providers.find_provider(conn, idp_id)
        # Abandoned logins would otherwise pile up; each new one sweeps the stale.
        await store.purge_logins(conn, LOGIN_RETENTION_SECONDS)
    if idp is None or idp["enabled_at"] is None:
        raise NotFound("Identity provider not found or not enabled.")
    config, _ = await _discover(uow, http, idp, settings.oidc_refresh_seconds)
    state, nonce, verifier, challenge = oidc.new_login()
    browser_key = oidc.one_time_secret()
    async with uow() as conn:
        await store.insert_login(conn, state, idp_id, nonce, verifier, oidc.digest(browser_key))
    url = oidc.authorization_url(config, idp, settings.public_url, state, nonce, challenge)
    return LoginStarted(url, browser_key)


async def complete_login(
    uow: UnitOfWork,
    http: aiohttp.ClientSession,
    state: str,
    code: str,
    browser_key: str | None,
    settings: Settings,
) -> LoginDone:
    """Finish a login: the IdP's code becomes a user (found or created) and a session record.

    Only the browser that started the login (``browser_key``, its login cookie) may finish
    it: a callback opened anywhere else (login CSRF) is refused before the code is spent.
    With a UI, a one-time code for the token is recorded in the same transaction.
    """
    if not browser_key:
        raise oidc.LoginRejected("This login was not started in this browser; start again.")
    async with uow() as conn:
        login = await store.take_login(conn, state, oidc.digest(browser_key), settings.oidc_login_ttl_seconds)
        if login is None:
            raise oidc.LoginRejected(
                "This login is unknown, already used, expired or started in another browser; start again."
            )
        idp = await identity_providers.find_provider(conn, login["identity_provider_id"])
    if idp is None or idp["enabled_at"] is None:
        raise Unauthorized("The identity provider is no longer enabled.")
    config, keys = await _discover(uow, http, idp, settings.oidc_refresh_seconds)
    id_token = await oidc.exchange(http, config, idp, code, login["code_verifier"], settings.public_url)
    try:
        claims = oidc.verify_id_token(id_token, idp, keys, login["nonce"])
    except oidc.LoginRejected:
        # Keys may have rotated since discovery: refresh once and try again.
        _, keys = await _discover(uow, http, idp, 0)
        claims = oidc.verify_id_token(id_token, idp, keys, login["nonce"])
    async with uow() as conn, conn.transaction():
        user_id, identity_id = await users.sign_in(
            conn, idp["id"], str(claims["sub"]), oidc.user_fields(claims), oidc.identity_fields(claims)
        )
        session = await tokens.start_session(conn, user_id, identity_id, settings.session_ttl_seconds)
        hand_over = await _hand_over(conn, session["id"], settings) if settings.ui_url else None
    log.info("oidc.login", user_id=str(user_id), identity_provider_id=str(idp["id"]))
    return LoginDone(session, hand_over)


async def _hand_over(conn: Conn, session_id: UUID, settings: Settings) -> str:
    """A one-time code the UI trades for the session's token (single use, short-lived, hashed)."""
    code = oidc.one_time_secret()
    await store.purge_login_codes(conn)
    await store.insert_login_code(conn, oidc.digest(code), session_id, settings.login_code_ttl_seconds)
    return code


async def redeem_login_code(conn: Conn, code: str) -> Record:
    """The live session a one-time code stands for; each code works once."""
    session_id = await store.take_login_code(conn, oidc.digest(code))
    session = await tokens.active_session(conn, session_id) if session_id is not None else None
    if session is None:
        raise oidc.LoginRejected("This login code is unknown, already used or expired; sign in again.")
    return session


async def log_out(conn: Conn, p: Principal) -> None:
    """Revoke the caller's own token."""
    if p.is_anonymous:
        raise Unauthorized("You are not signed in.")
    if p.session_id is None or p.user_id is None:
        raise NotFound("There is no session to end.")
    await tokens.end_session(conn, p.session_id, p.user_id)


# --- device sign-in (the command line) ------------------------------------------------------

DEVICE_TTL_SECONDS = 600
DEVICE_INTERVAL_SECONDS = 5
# RFC 8628 §3.5: each poll that comes too soon lengthens the interval by five seconds.
DEVICE_SLOW_DOWN_SECONDS = 5
# Consonants only (RFC 8628 §6.1): no vowels, so no words; no look-alike letters.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
# Starting a sign-in is anonymous: bound the rows a flood of requests can leave for ten minutes.
MAX_PENDING_DEVICE_SIGN_INS = 10_000


@dataclass(frozen=True)
class DeviceStarted:
    """A new device sign-in: the secret the device polls with and the code a person types."""

    device_code: str
    user_code: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class DevicePoll:
    """One poll's answer: the RFC 8628 ``error`` while there is no session, else the session."""

    error: str | None
    session: Record | None = None
    user: Record | None = None


def _new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """``ABCDEFGH`` as people read it: ``ABCD-EFGH``."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(typed: str) -> str | None:
    """The code as stored, whatever case and dashes or spaces it was typed with; None when it
    cannot be one (wrong length or letters), so nothing is looked up for it."""
    code = "".join(ch for ch in typed.upper() if ch not in "- ")
    if len(code) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in code):
        return None
    return code


async def start_device_sign_in(conn: Conn, client_name: str) -> DeviceStarted:
    """Record a pending device sign-in; only the codes' hashes are kept."""
    await store.purge_device_authorizations(conn)
    if await store.count_device_authorizations(conn) >= MAX_PENDING_DEVICE_SIGN_INS:
        raise TooManyRequests("Too many device sign-ins are in progress; try again in a few minutes.")
    device_code = oidc.one_time_secret()
    # 20^8 codes: a clash with a live one is rare; draw again rather than fail.
    for _ in range(5):
        user_code = _new_user_code()
        if await store.insert_device_authorization(
            conn,
            oidc.digest(device_code),
            oidc.digest(user_code),
            client_name,
            DEVICE_TTL_SECONDS,
            DEVICE_INTERVAL_SECONDS,
        ):
            return DeviceStarted(device_code, user_code, DEVICE_TTL_SECONDS, DEVICE_INTERVAL_SECONDS)
    raise RuntimeError("no free user code after five draws")


async def poll_device_sign_in(conn: Conn, device_code: str, ttl_seconds: int) -> DevicePoll:
    """Answer a device's poll: pending, slow down, expired, denied, or (once) the session.

    Every answer but "pending" and "slow down" ends the sign-in: the row is deleted, so a
    device code is worth a session at most once.
    """
    device_hash = oidc.digest(device_code)
    row = await store.lock_device_authorization(conn, device_hash)
    if row is None:
        return DevicePoll("expired_token")
    if row["expired"] or row["approved"] is False:
        await store.delete_device_authorization(conn, device_hash)
        return DevicePoll("expired_token" if row["expired"] else "access_denied")
    if row["approved"] is None:
        too_soon = bool(row["too_soon"])
        await store.record_device_poll(conn, device_hash, DEVICE_SLOW_DOWN_SECONDS if too_soon else 0)
        return DevicePoll("slow_down" if too_soon else "authorization_pending")
    await store.delete_device_authorization(conn, device_hash)
    user = await users.find_user(conn, row["approver_id"])
    if user is None:
        return DevicePoll("access_denied")
    session = await tokens.start_session(conn, user["id"], row["approver_identity_id"], ttl_seconds)
    log.info("device.signed_in", user_id=str(user["id"]), session_id=str(session["id"]))
    return DevicePoll(None, session, user)


async def _browser_session(conn: Conn, p: Principal) -> Record:
    """The caller's login session; API tokens may not approve sign-ins (nor look them up)."""
    if p.is_anonymous or p.user_id is None:
        raise Unauthorized("Sign in to approve a device.")
    session = await tokens.active_session(conn, p.session_id) if p.session_id else None
    if session is None or session["kind"] != "session":
        raise Forbidden("Only a signed-in person can approve a device, not an API token.")
    return session


async def find_device_sign_in(conn: Conn, p: Principal, user_code: str) -> Record:
    """A pending device sign-in by its user code, for the page that asks to approve it."""
    await _browser_session(conn, p)
    code = normalize_user_code(user_code)
    row = await store.find_pending_device_authorization(conn, oidc.digest(code)) if code else None
    if code is None or row is None:
        raise NotFound("This code is unknown, already used or expired; start the sign-in again.")
    return row


async def decide_device_sign_in(conn: Conn, p: Principal, user_code: str, approve: bool) -> None:
    """Approve (the session will be the caller's) or deny a pending device sign-in, once."""
    session = await _browser_session(conn, p)
    code = normalize_user_code(user_code)
    decided = code is not None and await store.decide_device_authorization(
        conn, oidc.digest(code), approve, session["user_id"], session["identity_id"]
    )
    if not decided:
        raise NotFound("This code is unknown, already used or expired; start the sign-in again.")
    log.info("device.decided", user_id=str(session["user_id"]), approved=approve)


# --- what a session stands for ----------------------------------------------------------------


async def principal(conn: Conn, p: Principal, session_id: UUID) -> SessionPrincipal:
    """The gateway's principal lookup; to anyone but a service the route does not exist."""
    if p.kind != "service":
        raise NotFound("Not found.")
    session = await tokens.active_session(conn, session_id)
    user = await users.find_user(conn, session["user_id"]) if session is not None else None
    if session is None or user is None:
        raise NotFound("Session unknown, expired or revoked.")
    keys = tokens.scoped(await roles.effective_permissions(conn, session["user_id"]), session["scopes"])
    return SessionPrincipal(session, user["name"], keys)


async def status(conn: Conn, p: Principal) -> Status:
    """Health (the product's and the database's clocks), and the caller when a user calls."""
    product_time = datetime.now(UTC)
    database_time = await store.database_now(conn)
    whoami = await _whoami(conn, p) if p.kind == "user" and p.user_id is not None else None
    return Status(product_time, database_time, whoami)


async def _whoami(conn: Conn, p: Principal) -> Whoami:
    assert p.user_id is not None
    user = await users.find_user(conn, p.user_id)
    session = await tokens.active_session(conn, p.session_id) if p.session_id else None
    identity = provider = None
    if session is not None and session["identity_id"] is not None:
        identity = await users.find_identity(conn, session["identity_id"])
        if identity is not None:
            provider = await identity_providers.find_provider(conn, identity["identity_provider_id"])
    return Whoami(p, user, session, identity, provider)
