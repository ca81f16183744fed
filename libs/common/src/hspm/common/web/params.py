"""Reading path and query parameters the same way in every service."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.web.app import json_response


def path_id(request: web.Request, name: str) -> UUID:
    """A UUID from the path; a malformed one is as unknown as a missing one (404)."""
    raw = request.match_info[name]
    try:
        return UUID(raw)
    except ValueError as exc:
        raise NotFound(f"No resource has the id {raw[:64]!r}.") from exc


def query_bool(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValidationFailed.field(name, "must be true or false")


def query_uuid(request: web.Request, name: str) -> UUID | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return UUID(raw)
    except ValueError as exc:
        raise ValidationFailed.field(name, "must be a UUID") from exc


def query_list(request: web.Request, name: str, limit: int = 50) -> list[str]:
    """A comma-separated filter (``mime_type=a,b``); the reference UI turns spaces into '+'."""
    raw = request.query.get(name, "")
    values = [v.strip().replace(" ", "+") for v in raw.split(",") if v.strip()]
    if len(values) > limit:
        raise ValidationFailed.field(name, f"at most {limit} values")
    return values


def created(body: dict[str, Any]) -> web.Response:
    """201 with the new resource and its ``Location``."""
    return json_response(body, status=201, headers={"Location": str(body["url"])})
