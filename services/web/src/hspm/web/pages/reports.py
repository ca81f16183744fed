"""The auditor's usage reports: a table and a bar chart per grouping, and the CSV download."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from markupsafe import Markup

from hspm.web.charts import Bar, bar_chart
from hspm.web.pages.auth import require_signed_in
from hspm.web.render import api, page

GROUPS = ("product", "vendor", "claimant", "period")


def _query(request: web.Request) -> dict[str, str]:
    """group_by and the period; anything malformed falls back to the report's defaults."""
    group = request.query.get("group_by", "product")
    query = {"group_by": group if group in GROUPS else "product"}
    for name in ("from", "to"):
        value = request.query.get(name, "")
        try:
            query[name] = date.fromisoformat(value).isoformat() + "T00:00:00Z"
        except ValueError:
            continue
    return query


def _label(row: dict[str, object], group: str) -> str:
    for key in (f"{group}_name", "product_name", "claimant_name", "period_start", f"{group}_id"):
        if row.get(key):
            return str(row[key])[:32]
    return "?"


async def usage(request: web.Request) -> web.Response:
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    query = _query(request)
    found = await api(request).get("/usage_reports", query | {"per_page": "100"})
    rows = found.get("results", [])
    bars = [Bar(_label(r, query["group_by"]), int(r.get("attempts") or 0)) for r in rows]
    chart = Markup(bar_chart(bars, f"License checks by {query['group_by']}"))  # noqa: S704 - built escaped
    return page(
        request,
        "reports/usage.html",
        rows=rows,
        chart=chart,
        query=query,
        groups=GROUPS,
        raw=dict(request.query),
    )


async def usage_csv(request: web.Request) -> web.StreamResponse:
    """The same report as CSV, streamed from the API with a file name."""
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    doc = await api(request).fetch("/usage_reports", "text/csv", _query(request))
    headers = {"Content-Disposition": 'attachment; filename="usage-report.csv"'}
    return web.Response(body=doc.body, content_type="text/csv", charset="utf-8", headers=headers)
