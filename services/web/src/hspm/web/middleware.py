"""Every UI request: its session cookie, the CSRF check of forms, failures as pages, headers.

401 from the API sends the browser to sign in (and back); 403 and 404 render a page that
says so; any other failure renders a short page with the request id, never a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from hspm.web import keys
from hspm.web.api import ApiError
from hspm.web.render import page, ui_url
from hspm.web.session import COOKIE

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
# Scripts and styles only from the UI itself; images also from the API (logos,
# screenshots). No page may be framed, and forms post only back here.
CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages hold a person's data and a form token: never cached anywhere.
    "Cache-Control": "no-store",
}
TITLES = {
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    429: "Too many requests",
}


@web.middleware
async def page_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session and CSRF around UI pages; health, metrics and static files pass untouched."""
    settings = request.app[keys.settings]
    if not request.path.startswith(settings.ui_path) or request.path.startswith(
        settings.ui_path + "/static/"
    ):
        return await handler(request)
    box = request.app[keys.box]
    opened = box.open(request.cookies.get(COOKIE))
    request[keys.session] = opened or box.new()
    request[keys.session_changed] = opened is None
    started = time.perf_counter()
    response = await _answer(request, handler)
    # The page's own time (its API calls and rendering), for browsers' tools and the bench.
    response.headers["Server-Timing"] = f"page;dur={(time.perf_counter() - started) * 1000:.1f}"
    if request[keys.session_changed]:
        response.set_cookie(
            COOKIE,
            box.seal(request[keys.session]),
            path=settings.ui_path,
            max_age=settings.session_ttl_seconds,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="Lax",
        )
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD") and not await _csrf_ok(request):
        return failure(
            request,
            403,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
    try:
        return await handler(request)
    except ApiError as error:
        return api_failure(request, error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return failure(request, exc.status, exc.reason)


async def _csrf_ok(request: web.Request) -> bool:
    offered = request.headers.get(CSRF_HEADER)
    if offered is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        value = (await request.post()).get(CSRF_FIELD)
        offered = value if isinstance(value, str) else None
    return request.app[keys.box].csrf_ok(request[keys.session], offered)


def api_failure(request: web.Request, error: ApiError) -> web.StreamResponse:
    """What an API refusal means for the browser."""
    if error.status == 401:
        # The token expired or was revoked: forget it and sign in again, then come back.
        settings = request.app[keys.settings]
        request[keys.session] = request[keys.session].signed_out(settings.session_ttl_seconds)
        request[keys.session_changed] = True
        back = request.path_qs if request.method == "GET" else settings.ui_path + "/"
        return web.Response(status=303, headers={"Location": ui_url(request, "/login", {"next": back})})
    if error.status in TITLES:
        return failure(request, error.status, error.detail)
    log.warning("web.api_failure", status=error.status, detail=error.detail[:200])
    return failure(request, 502, "The Marketplace could not answer this request just now.")


def failure(request: web.Request, status: int, detail: str) -> web.Response:
    title = TITLES.get(status, "Something went wrong")
    return page(request, "error.html", status=status, title=title, detail=detail)
