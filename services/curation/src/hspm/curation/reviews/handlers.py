"""HTTP handlers of review cases: parse, call the service in one transaction, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.auth import Principal
from hspm.common.errors import ValidationFailed
from hspm.common.web import json_response, path_id, principal_of, query_bool, query_uuid
from hspm.curation import machine
from hspm.curation.reviews import models, service, views

PROVENANCE_SORTS = ("at",)


def _filters(request: web.Request) -> service.Filters:
    state = request.query.get("state") or None
    if state is not None and state not in machine.STATES:
        raise ValidationFailed.field("state", f"must be one of: {', '.join(machine.STATES)}")
    return service.Filters(
        state=state,
        product_id=query_uuid(request, "product_id"),
        build_id=query_uuid(request, "build_id"),
        attention=query_bool(request, "attention"),
    )


async def list_reviews(request: web.Request) -> web.Response:
    """The queue, oldest submission first unless asked otherwise."""
    p = handlers.signed_in(request)
    filters = _filters(request)
    return await handlers.index(
        request,
        views.case,
        lambda c, page: service.list_cases(c, p, page, filters),
        service.CASE_SORTS,
        "submitted_at",
    )


def _render(request: web.Request, found: service.CaseDetail, viewer: Principal) -> web.Response:
    return json_response(views.detail(found, handlers.base_url(request), viewer))


async def get_review(request: web.Request) -> web.Response:
    p, cid = handlers.signed_in(request), path_id(request, "case_id")
    async with handlers.tx(request) as conn:
        found = await service.get_case(conn, p, cid)
    return _render(request, found, p)


async def list_provenance(request: web.Request) -> web.Response:
    p, cid = handlers.signed_in(request), path_id(request, "case_id")
    return await handlers.index(
        request,
        views.provenance,
        lambda c, page: service.list_provenance(c, p, cid, page),
        PROVENANCE_SORTS,
        "at",
    )


async def decide(request: web.Request) -> web.Response:
    body = await handlers.body(request, models.DecisionCreate, "decision")
    p, cid = principal_of(request), path_id(request, "case_id")
    async with handlers.tx(request) as conn:
        found = await service.decide(conn, p, cid, body)
    return _render(request, found, p)
