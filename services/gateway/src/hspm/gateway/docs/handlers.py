"""The gateway's own answers: the API-only notice at /, the merged /openapi.json, Swagger UI at /docs.

Swagger UI is served from the bundled package, offline: the page loads nothing from
anywhere but this origin.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from hspm.common.errors import NotFound
from hspm.common.web.app import json_response
from hspm.gateway import keys

API_ONLY = {"message": "This product provides an API only and does not offer a built-in graphical interface."}
# Only what the page loads; the bundle's own index.html would fetch a demo API.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-16x16.png", "favicon-32x32.png"})
ASSET_DIR = Path(str(swagger_ui_path))
# Everything comes from this origin: the page cannot reach the internet even by mistake.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>HSP Marketplace API</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/static/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""
# validatorUrl null: the default badge would send the document to swagger.io.
INITIALIZER = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""
CACHE = "public, max-age=86400"


async def root(_: web.Request) -> web.Response:
    """GET /: the spec's notice that there is no built-in UI at the API origin."""
    return json_response(API_ONLY)


async def index(_: web.Request) -> web.Response:
    """GET /docs: Swagger UI pointed at the merged document."""
    return web.Response(text=INDEX, content_type="text/html", headers={"Content-Security-Policy": CSP})


async def initializer(_: web.Request) -> web.Response:
    """GET /docs/init.js: the Swagger UI configuration (a file, so CSP can forbid inline code)."""
    return web.Response(
        text=INITIALIZER, content_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


async def asset(request: web.Request) -> web.FileResponse:
    """GET /docs/static/{name}: one of the bundled Swagger UI files."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise NotFound(f"No documentation asset is called {name}.")
    return web.FileResponse(ASSET_DIR / name, headers={"Cache-Control": CACHE})


async def openapi(request: web.Request) -> web.Response:
    """GET /openapi.json: every deployed service's public operations, merged (cached)."""
    body = await request.app[keys.openapi].body()
    return web.Response(body=body, content_type="application/json")
