"""HTTP handlers of the product index and search: parse the filters, one service call, render."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from hspm.catalog.products import handlers as products
from hspm.catalog.search import models, rules, service, views
from hspm.catalog.search.models import Viewer
from hspm.common import handlers
from hspm.common.errors import ValidationFailed
from hspm.common.web import principal_of, query_bool, query_list, query_uuid
from hspm.common.web.app import dumps
from hspm.common.web.body import parse_model, read_json

# This replica's search results (service.ResultCache), made with the app.
RESULTS = web.AppKey("catalog_search_results", service.ResultCache)
# Base URLs a cached result keeps its JSON for (one per public host name in practice).
MAX_RENDERINGS = 4


def _text(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    if raw is not None and len(raw) > models.MAX_TEXT:
        raise ValidationFailed.field(name, f"at most {models.MAX_TEXT} characters")
    return raw or None


def _index_query(request: web.Request, sortable: tuple[str, ...]) -> models.SearchQuery:
    """Filters from the query string (the index, and the RI's way of calling search)."""
    text = _text(request, "text")
    return models.SearchQuery(
        page=rules.page_params(request.query, sortable, has_text=bool(text)),
        text=text,
        name=_text(request, "name"),
        mime_types=tuple(query_list(request, "mime_type")),
        user_id=query_uuid(request, "user_id"),
        license_id=query_uuid(request, "license_id"),
        interface_id=query_uuid(request, "interface_id"),
        badge_id=query_uuid(request, "badge_id"),
        published=query_bool(request, "published"),
    )


async def _answer(request: web.Request, q: models.SearchQuery, facets: tuple[str, ...]) -> web.Response:
    p = principal_of(request)
    cache = request.app[RESULTS]

    async def run(seen_by: Viewer) -> service.Found:
        # A read whatever the method: POST /products/search needs no transaction.
        async with handlers.tx(request, read_only=True) as conn:
            return await service.search(conn, q, seen_by, facets)

    results = await service.find(cache, p, q, facets, lambda: products.clock(request), run)
    base = handlers.base_url(request)
    body = results.rendered.get(base)
    if body is None:
        body = dumps(views.results(results, q.page, base))
        # The page is part of the cache key, so one rendering per base URL serves every hit.
        if len(results.rendered) < MAX_RENDERINGS:
            results.rendered[base] = body
    return web.Response(body=body, content_type="application/json")


def _facets_query(request: web.Request) -> tuple[str, ...]:
    """``?facets=true`` for all, or ``?facets=mime_type,badge`` for some."""
    raw = request.query.get("facets", "")
    if raw.lower() in ("", "false", "0"):
        return ()
    if raw.lower() in ("true", "1"):
        return rules.FACETS
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in rules.FACETS]
    if unknown:
        raise ValidationFailed.field("facets", f"unknown facets: {', '.join(unknown)}")
    return names


async def index(request: web.Request) -> web.Response:
    """GET /products: what this caller may see, filtered, sorted and paginated."""
    return await _answer(request, _index_query(request, models.INDEX_SORTS), _facets_query(request))


def _merged(request: web.Request, body: models.SearchBody) -> Mapping[str, str]:
    """Body fields over query parameters, as strings, for the shared paging parser."""
    given = {"sort": body.sort, "order": body.order, "page": body.page, "per_page": body.per_page}
    return dict(request.query) | {key: str(value) for key, value in given.items() if value is not None}


async def _search_body(request: web.Request) -> models.SearchBody:
    # The RI sent ``text`` and ``mime_type`` as parameters with no body at all.
    if not request.can_read_body:
        return models.SearchBody()
    return parse_model(models.SearchBody, await read_json(request), "search")


async def search(request: web.Request) -> web.Response:
    """POST /products/search: full-text prefix search with filters, ranking and facets."""
    body = await _search_body(request)
    params = _index_query(request, models.SEARCH_SORTS)
    text = body.text if body.text is not None else params.text
    q = models.SearchQuery(
        page=rules.page_params(_merged(request, body), models.SEARCH_SORTS, has_text=bool(text)),
        text=text,
        name=body.name if body.name is not None else params.name,
        mime_types=tuple(body.mime_type) if body.mime_type is not None else params.mime_types,
        user_id=body.user_id or params.user_id,
        license_id=body.license_id or params.license_id,
        interface_id=body.interface_id or params.interface_id,
        badge_id=body.badge_id or params.badge_id,
        published=body.published if body.published is not None else params.published,
    )
    facets = rules.FACETS if body.facets is True else tuple(body.facets or ()) or _facets_query(request)
    return await _answer(request, q, facets)
