"""HTTP handlers of the runtime check and of attempts: parse, call the service, render.

A check runs without a transaction of its own (``read_only``): its decision and its
attempt are one SQL statement, atomic by itself, so BEGIN and COMMIT would only add two
round trips to the hot path. The answer (200, 404 or 422) is made only after the
connection is given back, when the attempt is already committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from hspm.common import handlers
from hspm.common.db import Conn
from hspm.common.errors import ValidationFailed
from hspm.common.paging import PageParams, page_envelope
from hspm.common.web import json_response, path_id, query_bool, query_uuid
from hspm.licensing.authorizations import models, service, views

Decide = Callable[[Conn, models.Asker], Awaitable[service.Verdict]]


async def authorize_user(request: web.Request) -> web.Response:
    p = handlers.signed_in(request)
    uid, pid = path_id(request, "user_id"), path_id(request, "product_id")
    return await _answer(request, lambda c, a: service.authorize_user(c, p, uid, pid, a))


async def authorize_group(request: web.Request) -> web.Response:
    p = handlers.signed_in(request)
    gid, pid = path_id(request, "group_id"), path_id(request, "product_id")
    return await _answer(request, lambda c, a: service.authorize_group(c, p, gid, pid, a))


async def authorize_self(request: web.Request) -> web.Response:
    p, pid = handlers.signed_in(request), path_id(request, "product_id")
    return await _answer(request, lambda c, a: service.authorize_self(c, p, pid, a))


async def _answer(request: web.Request, decide: Decide) -> web.Response:
    body = await handlers.optional_body(request, models.AuthorizationRequest, "authorization")
    asker = models.Asker(client_address(request), body.platform_id)
    async with handlers.tx(request, read_only=True) as conn:
        verdict = await decide(conn, asker)
    return json_response(views.claim(service.granted(verdict), handlers.base_url(request)))


def client_address(request: web.Request) -> str | None:
    """The first hop of ``X-Forwarded-For`` (the gateway sets it and drops any a client
    sent from an untrusted address), else the peer; bounded, as it is stored."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return first_hop(forwarded) or first_hop(request.remote or "")


def first_hop(header: str) -> str | None:
    hop = header.split(",", 1)[0].strip()
    return hop[: models.MAX_ADDRESS] or None


# --- attempts --------------------------------------------------------------------------------


async def list_attempts(request: web.Request) -> web.Response:
    """Newest first; ``order=asc`` reverses."""
    p = handlers.signed_in(request)
    f = attempt_filter(request)
    page = PageParams.parse(request.query, service.ATTEMPT_SORTS, "created_at", "desc")
    async with handlers.tx(request) as conn:
        rows, total = await service.list_attempts(conn, p, page, f)
    base = handlers.base_url(request)
    return json_response(page_envelope([views.attempt(r, base) for r in rows], total, page))


async def get_attempt(request: web.Request) -> web.Response:
    p, aid = handlers.signed_in(request), path_id(request, "attempt_id")
    return await handlers.show(request, views.attempt, lambda c: service.get_attempt(c, p, aid))


def attempt_filter(request: web.Request) -> models.AttemptFilter:
    return models.AttemptFilter(
        product_id=query_uuid(request, "product_id"),
        claimant_id=query_uuid(request, "claimant_id"),
        claimant_type=_one_of(request, "claimant_type", models.CLAIMANT_TYPES),
        granted=query_bool(request, "granted"),
        outcome=_one_of(request, "outcome", models.OUTCOMES),
        since=query_time(request, "since"),
        until=query_time(request, "until"),
    )


def _one_of(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = request.query.get(name)
    if not raw:
        return None
    if raw not in allowed:
        raise ValidationFailed.field(name, f"must be one of: {', '.join(allowed)}")
    return raw


def query_time(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 instant; one without a zone is UTC (spec 1.0)."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw[:64])
        # In UTC here: an offset that pushes year 1 out of range fails now, not in the driver.
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed.field(name, "must be an ISO 8601 date-time") from exc
