"""HTTP handlers of validation runs: parse, call the service in one transaction, render."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from hspm.common import handlers
from hspm.common.web import PageParams, json_response, page_envelope, path_id
from hspm.curation.validations import report, service, views


def _ids(request: web.Request) -> tuple[UUID, UUID]:
    return path_id(request, "product_id"), path_id(request, "build_id")


def _wants_text(request: web.Request) -> bool:
    """Whether the client asked for text/plain before (or instead of) JSON."""
    for part in request.headers.get("Accept", "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == "text/plain":
            return True
        if media in ("application/json", "application/*"):
            return False
    return False


async def list_validations(request: web.Request) -> web.Response:
    """Newest first."""
    p, (pid, bid) = handlers.signed_in(request), _ids(request)
    page = PageParams.parse(request.query, service.RUN_SORTS, "requested_at", "desc")
    async with handlers.tx(request) as conn:
        rows, total = await service.list_runs(conn, p, pid, bid, page)
    base = handlers.base_url(request)
    return json_response(page_envelope([views.run(r, base, p) for r in rows], total, page))


async def get_validation(request: web.Request) -> web.Response:
    """The run in full, or as a text report with ``Accept: text/plain``."""
    p, (pid, bid) = handlers.signed_in(request), _ids(request)
    rid = path_id(request, "run_id")
    async with handlers.tx(request) as conn:
        row = await service.get_run(conn, p, pid, bid, rid)
    if _wants_text(request):
        return web.Response(text=report.text(dict(row)), content_type="text/plain")
    return json_response(views.run(row, handlers.base_url(request), p, full=True))
