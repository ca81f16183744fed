"""HTTP handlers of the usage reports: parse the query, run one report, answer JSON or CSV."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from hspm.common import handlers
from hspm.common.db import Conn
from hspm.common.web import PageParams, json_response, page_envelope
from hspm.licensing.keys import settings_key
from hspm.licensing.reports import formats, models, service, views

Report = Callable[[Conn, models.Rows], Awaitable[tuple[list[asyncpg.Record], int]]]


async def usage_report(request: web.Request) -> web.Response:
    p, fmt = handlers.signed_in(request), _format(request)
    q = models.parse_usage(request.query, datetime.now(UTC))
    sort, order = service.default_sort(q.group_by)
    page = PageParams.parse(request.query, service.usage_columns(q.group_by), sort, order)
    rule = _rule(request)

    def run(conn: Conn, rows: models.Rows) -> Awaitable[tuple[list[asyncpg.Record], int]]:
        return service.usage(conn, p, q, rule, rows)

    if fmt == "csv":
        name = formats.filename(f"usage-{q.group_by}", q.filters.start, q.filters.end)
        columns = views.usage_columns(q.group_by)
        return await _csv(request, run, page, name, columns, lambda r: views.usage_row(r, q.group_by))
    rows, total = await _run(request, run, models.Rows.page(page))
    results = [views.usage_row(r, q.group_by) for r in rows]
    return json_response(page_envelope(results, total, page) | {"report": views.terms(q.filters, rule, q)})


async def sharing_report(request: web.Request) -> web.Response:
    p, fmt = handlers.signed_in(request), _format(request)
    f = models.parse_filters(request.query, datetime.now(UTC))
    page = PageParams.parse(request.query, service.SHARING_SORTS, "window_start", "desc")
    rule = _rule(request)

    def run(conn: Conn, rows: models.Rows) -> Awaitable[tuple[list[asyncpg.Record], int]]:
        return service.sharing(conn, p, f, rule, rows)

    if fmt == "csv":
        name = formats.filename("sharing", f.start, f.end)
        return await _csv(request, run, page, name, views.SHARING_COLUMNS, views.sharing_flat)
    rows, total = await _run(request, run, models.Rows.page(page))
    base = handlers.base_url(request)
    results = [views.sharing_row(r, base) for r in rows]
    return json_response(page_envelope(results, total, page) | {"report": views.terms(f, rule)})


def _format(request: web.Request) -> str:
    """Decided first, so a client that takes neither JSON nor CSV hears 406 at once."""
    return formats.negotiate(models.parse_format(request.query), request.headers.get("Accept"))


def _rule(request: web.Request) -> models.SharingRule:
    settings = request.app[settings_key]
    return models.SharingRule(settings.sharing_window_minutes, settings.sharing_max_sources)


async def _run(request: web.Request, run: Report, rows: models.Rows) -> tuple[list[asyncpg.Record], int]:
    async with handlers.tx(request) as conn:
        return await run(conn, rows)


async def _csv(
    request: web.Request,
    run: Report,
    page: PageParams,
    name: str,
    columns: tuple[str, ...],
    flat: Callable[[asyncpg.Record], dict[str, Any]],
) -> web.Response:
    """At most ``CSV_LIMIT`` rows; the headers say how many there were in all."""
    rows, total = await _run(request, run, models.Rows.download(page))
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Report-Rows": str(len(rows)),
        "X-Report-Total-Rows": str(total),
        "X-Report-Row-Limit": str(models.CSV_LIMIT),
        "X-Report-Truncated": "true" if total > len(rows) else "false",
        # Personal data (who used what, from where): no shared cache keeps a copy.
        "Cache-Control": "private, no-store",
    }
    body = formats.csv_body(columns, (flat(r) for r in rows))
    return web.Response(body=body, content_type=formats.CSV_TYPE, charset="utf-8", headers=headers)
