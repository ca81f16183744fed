"""Templates and the small helpers every page handler uses: render, redirect, the API, forms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from hspm.common.web.app import request_id_key
from hspm.web import keys
from hspm.web.api import Api
from hspm.web.config import Settings

PACKAGE = Path(__file__).parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
HTML = "text/html"


def environment(settings: Settings) -> jinja2.Environment:
    """Jinja2 with autoescape always on: every value from the API is escaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        enable_async=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["ui"] = settings.ui_path
    env.globals["public"] = settings.public_url
    env.filters["when"] = when
    env.filters["day"] = day
    return env


def when(value: object) -> str:
    """An ISO timestamp from the API as ``2026-12-03 10:13 UTC``; blank stays blank."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def day(value: object) -> str:
    return when(value)[:10]


def api(request: web.Request, token: str | None = None) -> Api:
    """The API as the person behind this request (anonymous when not signed in), or as the
    holder of ``token`` (the person signing in, whose session is not this request's yet)."""
    app = request.app
    token = token or request[keys.session].token
    return Api(app[keys.http], app[keys.settings].api_url, token, request[request_id_key])


def csrf(request: web.Request) -> str:
    return request.app[keys.box].csrf_token(request[keys.session])


def page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render ``template`` with the layout's context: who is signed in and the form token."""
    session = request[keys.session]
    html = (
        request.app[keys.templates]
        .get_template(template)
        .render(session=session, csrf=csrf(request), path=request.path_qs, **context)
    )
    return web.Response(text=html, status=status, content_type=HTML)


def fragment(request: web.Request, template: str, **context: Any) -> web.Response:
    """A piece of a page that htmx swaps in (live states); the same template the page includes."""
    return page(request, template, **context)


def ui_url(request: web.Request, path: str, query: Mapping[str, str] | None = None) -> str:
    base = request.app[keys.settings].ui_path + path
    return f"{base}?{urlencode(query)}" if query else base


def redirect(request: web.Request, path: str, query: Mapping[str, str] | None = None) -> web.Response:
    """POST-redirect-GET: 303 to a UI page (never to another origin)."""
    return web.Response(status=303, headers={"Location": ui_url(request, path, query)})


async def form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    return await request.post()


def text(data: Mapping[str, Any], name: str, limit: int = 10_000) -> str:
    """A form field as stripped text ('' if absent or a file); long input is cut, the API judges it."""
    value = data.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def optional(data: Mapping[str, Any], name: str) -> str | None:
    return text(data, name) or None
