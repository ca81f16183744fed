"""The reports area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api
from hspm.licensing.reports import handlers as h

R = "/usage_reports"
TAG = "Usage reports"
_FILTERS = ("from", "to", "product_id", "vendor_id", "claimant_type", "format")


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    add = api.route
    add(
        router,
        "GET",
        R,
        h.usage_report,
        "Usage by product, vendor, claimant or period (JSON, or CSV with Accept: text/csv)",
        tag=TAG,
        permission="attempts.read",
        query=(*PAGED, "group_by", "period", *_FILTERS),
    )
    add(
        router,
        "GET",
        R + "/sharing",
        h.sharing_report,
        "Claims suspected of account sharing, window by window (JSON or CSV)",
        tag=TAG,
        permission="attempts.read",
        query=(*PAGED, *_FILTERS),
    )
