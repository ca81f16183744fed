"""HTTP handlers of review cases: parse, call the service in one transaction, render."""

from __future__ import annotations

from aiohttp import web

from hspm.common import handlers
from hspm.common.auth import Principal
from hspm.common.errors import ValidationFailed
from hspm.common.web import json_response, path_id, principal_of, query_bool, query_uuid
from hspm.common.web.app import problem_response, request_id_key
from hspm.curation import machine
from hspm.curation.reviews import models, service, views
from hspm.curation.validations import views as run_views

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
        deleted=query_bool(request, "deleted") or False,
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


async def request_validation(request: web.Request) -> web.Response:
    """202: the run is queued (or was already queued or running); Location names it.

    429 with Retry-After when the caller or the product has too many runs open.
    """
    p = handlers.signed_in(request)
    pid, bid = path_id(request, "product_id"), path_id(request, "build_id")
    try:
        async with handlers.tx(request) as conn:
            row = await service.request_validation(conn, p, pid, bid)
    except service.QueueFull as exc:
        retry = {"Retry-After": str(exc.retry_after)}
        return problem_response(exc, request.get(request_id_key), headers=retry)
    body = run_views.run(row, handlers.base_url(request), p, full=True)
    return json_response(body, status=202, headers={"Location": body["url"]})
