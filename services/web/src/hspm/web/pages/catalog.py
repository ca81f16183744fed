"""Everyone's pages: browse and search with facets, a product with its label, a build with its."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hspm.web.api import Api
from hspm.web.labels import build_label, product_label
from hspm.web.pages.forms import NOT_PUBLIC, optional
from hspm.web.pages.ids import path_uuid, uuid_or_none
from hspm.web.render import api, page

PER_PAGE = 12
FACET_FIELDS = ("license_id", "interface_id", "badge_id")


def search_body(query: dict[str, str]) -> dict[str, Any]:
    """The search API's body from the page's query string; unknown or malformed filters drop."""
    body: dict[str, Any] = {"facets": True, "per_page": PER_PAGE, "sort": "name"}
    text = query.get("q", "").strip()[:200]
    if text:
        body |= {"text": text, "sort": "relevance"}
    mime = query.get("mime_type", "").strip()[:200]
    if mime:
        body["mime_type"] = [mime]
    for name in FACET_FIELDS:
        if (value := uuid_or_none(query.get(name))) is not None:
            body[name] = value
    page_no = query.get("page", "1")
    body["page"] = int(page_no) if page_no.isdigit() and 0 < int(page_no) < 10_000 else 1
    return body


async def home(request: web.Request) -> web.Response:
    """The catalog: free text, facets (technology, interface, badge, license), pages."""
    query = dict(request.query)
    body = search_body(query)
    found = await api(request).post("/products/search", body)
    return page(request, "home.html", found=found, query=query, body=body)


async def _latest_label(client: Api, product_id: str, builds: list[dict[str, Any]]) -> Any:
    published = [b for b in builds if b.get("status") == "published"]
    if not published:
        return None
    return await optional(
        client.get(f"/products/{product_id}/builds/{published[0]['id']}/marketplace.json"), NOT_PUBLIC
    )


async def product(request: web.Request) -> web.Response:
    """A product and its label: facts, stewards, licensing, technology, compatibility."""
    pid, client = path_uuid(request, "product_id"), api(request)
    prod, builds, shots, licenses = await asyncio.gather(
        client.get(f"/products/{pid}"),
        client.get(f"/products/{pid}/builds", {"per_page": "50"}),
        client.get(f"/products/{pid}/screenshots"),
        client.get(f"/products/{pid}/licenses"),
    )
    doc = await _latest_label(client, pid, builds.get("results", []))
    terms = await asyncio.gather(
        *(
            optional(client.get(f"/licenses/{pl['license_id']}"), NOT_PUBLIC)
            for pl in licenses.get("results", [])
        )
    )
    label = product_label(prod, doc, [t for t in terms if t])
    return page(
        request,
        "product.html",
        product=prod,
        builds=builds.get("results", []),
        screenshots=shots.get("results", []),
        label=label,
    )


async def build(request: web.Request) -> web.Response:
    """A build and its label: validation rule by rule, provenance, digest, configurations."""
    pid, bid, client = path_uuid(request, "product_id"), path_uuid(request, "build_id"), api(request)
    prod, bld, doc, runs, cases = await asyncio.gather(
        client.get(f"/products/{pid}"),
        client.get(f"/products/{pid}/builds/{bid}"),
        optional(client.get(f"/products/{pid}/builds/{bid}/marketplace.json"), NOT_PUBLIC),
        optional(client.get(f"/products/{pid}/builds/{bid}/validations"), NOT_PUBLIC),
        optional(client.get("/reviews", {"build_id": bid}), NOT_PUBLIC),
    )
    run = (runs or {}).get("results", [None])[0] if runs and runs.get("results") else None
    case = cases["results"][0] if cases and cases.get("results") else None
    history = (
        await optional(client.get(f"/reviews/{case['id']}/provenance", {"per_page": "100"}), NOT_PUBLIC)
        if case
        else None
    )
    label = build_label(bld, doc, run, (history or {}).get("results", []))
    return page(request, "build.html", product=prod, build=bld, label=label, run=run, case=case)


async def validation_fragment(request: web.Request) -> web.Response:
    """The latest run's progress, polled by htmx while it is not finished."""
    pid, bid, client = path_uuid(request, "product_id"), path_uuid(request, "build_id"), api(request)
    bld, runs = await asyncio.gather(
        client.get(f"/products/{pid}/builds/{bid}"),
        optional(client.get(f"/products/{pid}/builds/{bid}/validations"), NOT_PUBLIC),
    )
    run = runs["results"][0] if runs and runs.get("results") else None
    label = build_label(bld, None, run, [])
    return page(request, "_validation.html", build=bld, label=label, run=run)
