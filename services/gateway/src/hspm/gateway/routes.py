"""The public URL map: which service owns each path, and the gateway's own pages."""

from __future__ import annotations

from aiohttp import web

from hspm.gateway import keys
from hspm.gateway.docs import handlers as docs
from hspm.gateway.forwarding import proxy
from hspm.gateway.forwarding.routing import Rule

RULES = (
    # identity
    Rule("/users", "identity"),
    Rule("/groups", "identity"),
    Rule("/roles", "identity"),
    Rule("/identity_providers", "identity"),
    Rule("/identity_providers/{id}/redirect", "identity", json_only=False),
    Rule("/sessions", "identity", json_only=False),
    # POST /session starts a login by redirecting the browser (a form post may ask for HTML).
    Rule("/session", "identity", json_only=False),
    Rule("/status", "identity"),
    Rule("/.well-known/jwks.json", "identity"),
    Rule("/api_tokens", "identity"),
    # The command line's device sign-in (docs/cli.md): anonymous start and poll, approval
    # by a signed-in person.
    Rule("/device_authorizations", "identity"),
    # catalog
    Rule("/products", "catalog"),
    Rule("/interfaces", "catalog"),
    Rule("/sub_products", "catalog"),
    Rule("/badges", "catalog"),
    Rule("/marketplace", "catalog"),
    # Images and files, asked for with their own media types (Accept: image/png).
    Rule("/products/{product_id}/logo", "catalog", json_only=False),
    Rule("/products/{product_id}/screenshots/{screenshot_id}/{size}", "catalog", json_only=False),
    Rule("/products/{product_id}/builds/{build_id}/asset", "catalog", json_only=False),
    # curation
    # A run reads as JSON or, with Accept: text/plain, as the human report.
    Rule("/products/{product_id}/builds/{build_id}/validations", "curation", json_only=False),
    Rule("/reviews", "curation"),
    Rule("/recalls", "curation"),
    Rule("/validation_policy", "curation"),
    # licensing
    Rule("/products/{product_id}/licenses", "licensing"),
    Rule("/licenses", "licensing"),
    Rule("/entitlements", "licensing"),
    Rule("/vouchers", "licensing"),
    Rule("/attempts", "licensing"),
    Rule("/authorizations", "licensing"),
    Rule("/usage_reports", "licensing", json_only=False),
    # The public keys that offline license documents verify against (JWK set).
    Rule("/.well-known/hspm-license-keys", "licensing"),
    # notifier
    Rule("/users/{user_id}/platforms", "notifier"),
    Rule("/platforms", "notifier"),
    Rule("/instances", "notifier"),
    Rule("/websocket", "notifier", json_only=False, websocket=True),
    Rule("/websockets", "notifier", json_only=False, websocket=True),
    # web
    Rule("/ui", "web", json_only=False),
)


def setup_routes(app: web.Application) -> None:
    """The gateway's own pages, then each top-level segment a service owns.

    ``/x`` and ``/x/{tail}`` rather than one ``/x{tail}``: aiohttp indexes routes by their
    literal prefix, so these resolve by lookup instead of a regex per registered route.
    """
    router = app.router
    router.add_get("/", docs.root)
    router.add_get("/openapi.json", docs.openapi)
    router.add_get("/docs", docs.index)
    router.add_get("/docs/init.js", docs.initializer)
    router.add_get("/docs/static/{name}", docs.asset)
    for first in app[keys.routes].first_segments():
        router.add_route("*", f"/{first}", proxy.handle)
        router.add_route("*", f"/{first}/{{tail:.*}}", proxy.handle)
