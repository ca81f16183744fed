"""One OpenAPI 3.1 document for the whole public API, merged from every deployed service."""

from __future__ import annotations

import asyncio
import copy
import importlib.metadata
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson
import structlog

from hspm.common.web.openapi import PROBLEM_SCHEMA
from hspm.gateway.forwarding.replicas import Replicas
from hspm.gateway.forwarding.routing import RouteTable

log = structlog.get_logger(__name__)

TITLE = "HSP Marketplace API"
# The web UI serves pages, not API operations.
DOCUMENTED = ("identity", "catalog", "curation", "licensing", "notifier")
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=2)
# A document missing a service is rebuilt soon, so a restarted service shows up quickly.
DEGRADED_TTL = 5.0
_PROBLEM = {
    "description": "Problem",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get(summary: str, op_id: str, ok: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "tags": ["gateway"],
            "operationId": op_id,
            "responses": {"200": ok, "default": _PROBLEM},
            **extra,
        }
    }


def gateway_paths() -> dict[str, Any]:
    """The operations the gateway answers itself."""
    anything = {"type": "object"}
    return {
        "/": _get(
            "The API-only notice",
            "get_root",
            _json_response("The notice", {"$ref": "#/components/schemas/Message"}),
        ),
        "/openapi.json": _get("This document", "get_openapi", _json_response("OpenAPI 3.1", anything)),
        "/docs": _get(
            "Interactive API documentation",
            "get_docs",
            {"description": "Swagger UI", "content": {"text/html": {"schema": {"type": "string"}}}},
        ),
        "/healthz": _get("Liveness", "get_healthz", _json_response("Alive", anything)),
        "/readyz": _get("Readiness", "get_readyz", _json_response("Ready", anything)),
        "/websocket": {
            "get": {
                "summary": "WebSocket to the notifier (also at /websockets)",
                "tags": ["gateway"],
                "operationId": "get_websocket",
                "description": (
                    "The owner's token as a bearer header, or from browsers as the subprotocol "
                    "`hspm.bearer.<token>` beside `hspm.notifier.v1`. Platform agents connect "
                    "without a token and prove a key in the protocol (docs/notifier-protocol.md). "
                    "A token in the URL is refused."
                ),
                "security": [{}, {"bearer": []}],
                "responses": {"101": {"description": "Switching protocols"}, "default": _PROBLEM},
            }
        },
    }


def gateway_components() -> dict[str, Any]:
    """The schemas the gateway's own operations use."""
    message = {
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
    }
    return {"schemas": {"Message": message, "Problem": copy.deepcopy(PROBLEM_SCHEMA)}}


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy of ``node`` with every renamed ``$ref`` pointing at its new name."""
    if isinstance(node, dict):
        out = {k: _rewrite_refs(v, renames) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref in renames:
            out["$ref"] = renames[ref]
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _clashes(target: Mapping[str, Mapping[str, Any]], components: Mapping[str, Any]) -> set[str]:
    """Refs of components that differ from a same-named one already merged.

    A component that is equal in text but points at a clashing one clashes too, so
    the loop runs until nothing new is found.
    """
    entries = {
        f"#/components/{section}/{name}": value
        for section, items in components.items()
        if isinstance(items, dict)
        for name, value in items.items()
    }
    existing = {
        f"#/components/{section}/{name}": value
        for section, items in target.items()
        for name, value in items.items()
    }
    clashing = {ref for ref, value in entries.items() if ref in existing and existing[ref] != value}
    grown = True
    while grown:
        more = {
            ref
            for ref, value in entries.items()
            if ref in existing and ref not in clashing and _refs(value) & clashing
        }
        grown = bool(more)
        clashing |= more
    return clashing


def _merge_components(
    target: dict[str, dict[str, Any]], components: Mapping[str, Any], service: str
) -> dict[str, str]:
    """Add a service's components; clashing names get the service as prefix."""
    renames = {}
    for ref in _clashes(target, components):
        section, name = ref.removeprefix("#/components/").split("/", 1)
        renames[ref] = f"#/components/{section}/{service}_{name}"
    for section, items in components.items():
        if not isinstance(items, dict):
            continue
        merged = target.setdefault(section, {})
        for name, value in items.items():
            new_ref = renames.get(f"#/components/{section}/{name}", f"#/components/{section}/{name}")
            merged.setdefault(new_ref.rsplit("/", 1)[1], _rewrite_refs(value, renames))
    return renames


def merge(
    documents: Mapping[str, Mapping[str, Any]],
    routes: RouteTable,
    unavailable: Sequence[str] = (),
    version: str = "0",
) -> dict[str, Any]:
    """Merge service documents; each keeps only the public paths the gateway routes to it."""
    components: dict[str, dict[str, Any]] = gateway_components()
    paths: dict[str, Any] = gateway_paths()
    tags: dict[str, Any] = {"gateway": {"name": "gateway", "description": "The gateway itself"}}
    for service, document in documents.items():
        renames = _merge_components(components, document.get("components") or {}, service)
        for path, item in (document.get("paths") or {}).items():
            rule = routes.match(path)
            if rule is not None and rule.service == service and not rule.websocket:
                paths[path] = _rewrite_refs(item, renames)
        for tag in document.get("tags") or ():
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)
    components.setdefault("securitySchemes", {})["bearer"] = BEARER
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": version,
            "description": "The public API of the HL7 Health Services Platform Marketplace.",
        },
        "servers": [{"url": "/"}],
        "tags": list(tags.values()),
        "paths": dict(sorted(paths.items())),
        "components": components,
        "x-hspm-unavailable": list(unavailable),
    }


class OpenApiCache:
    """The merged document, rebuilt at most once per TTL by one request at a time."""

    def __init__(
        self,
        client: aiohttp.ClientSession,
        upstreams: Mapping[str, Replicas | None],
        routes: RouteTable,
        ttl: float,
    ) -> None:
        self._client = client
        self._upstreams = upstreams
        self._routes = routes
        self._ttl = ttl
        self._body: bytes | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._version = _version()

    async def body(self) -> bytes:
        """The encoded document, from cache when fresh."""
        if self._body is not None and time.monotonic() < self._expires:
            return self._body
        async with self._lock:
            if self._body is None or time.monotonic() >= self._expires:
                document, unavailable = await self._build()
                self._body = orjson.dumps(document)
                ttl = min(self._ttl, DEGRADED_TTL) if unavailable else self._ttl
                self._expires = time.monotonic() + ttl
            return self._body

    async def _build(self) -> tuple[dict[str, Any], list[str]]:
        names = [n for n in DOCUMENTED if self._upstreams.get(n)]
        fetched = await asyncio.gather(*(self._fetch(n) for n in names))
        documents = {n: d for n, d in zip(names, fetched, strict=True) if d is not None}
        unavailable = [n for n, d in zip(names, fetched, strict=True) if d is None]
        return merge(documents, self._routes, unavailable, self._version), unavailable

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        upstream = self._upstreams[service]
        assert upstream is not None
        url = f"{upstream.first().base}/openapi.json"
        try:
            async with self._client.get(
                url, headers={"Accept": "application/json"}, timeout=FETCH_TIMEOUT
            ) as resp:
                resp.raise_for_status()
                document = orjson.loads(await resp.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("gateway.openapi_unavailable", service=service, error=repr(exc))
            return None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            log.warning("gateway.openapi_invalid", service=service)
            return None
        return document


def _version() -> str:
    try:
        return importlib.metadata.version("hspm-gateway")
    except importlib.metadata.PackageNotFoundError:
        return "0"
