"""Request bodies: JSON, bare or wrapped in the resource name, validated by pydantic."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from hspm.common.errors import DomainError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from hspm.common.models import MAX_JSON_DEPTH, json_depth

M = TypeVar("M", bound=BaseModel)

# Clients echo whole objects back on update (the reference UI does); these are the
# server's to set, so they are dropped rather than refused.
SERVER_FIELDS = frozenset({"created_at", "updated_at", "url", "path"})


class MalformedJSON(DomainError, status=400, title="Malformed JSON"):
    """The body is not JSON at all (400, where a JSON body of the wrong shape is 422)."""


class NestedTooDeep(DomainError, status=400, title="JSON nested too deeply"):
    """The body nests arrays and objects more than ``MAX_JSON_DEPTH`` levels deep."""


async def read_json(request: web.Request) -> Any:
    """The parsed body; 415 for a non-JSON content type, 413 past the size limit."""
    # aiohttp reports a missing Content-Type as application/octet-stream; JSON is assumed.
    declared = "Content-Type" in request.headers
    ctype = request.content_type
    if declared and ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"The body exceeds {request.client_max_size} bytes.") from exc
    if not raw.strip():
        raise MalformedJSON("The request body is empty; a JSON object was expected.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedJSON(f"The body is not valid JSON: {exc.msg} at position {exc.pos}.") from exc
    if json_depth(data) > MAX_JSON_DEPTH:
        raise NestedTooDeep(f"The body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep.")
    return data


def unwrap(data: Any, wrapper: str) -> Any:
    """Accept ``{"product": {...}}`` and ``{...}`` alike, as the reference clients send both."""
    if isinstance(data, dict) and len(data) == 1 and isinstance(data.get(wrapper), dict):
        return data[wrapper]
    return data


def validation_errors(exc: ValidationError) -> ValidationFailed:
    """pydantic errors as the spec's ``{"field": ["message"]}`` object."""
    fields: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        fields.setdefault(loc, []).append(err["msg"])
    return ValidationFailed(fields)


def parse_model(model: type[M], data: Any, wrapper: str) -> M:
    """Validate already-parsed JSON against ``model``; errors name their fields."""
    data = unwrap(data, wrapper)
    if not isinstance(data, dict):
        raise ValidationFailed.field(wrapper, "must be a JSON object")
    # A model that declares one of them (a license's ``url`` is its terms' address) keeps it.
    data = {k: v for k, v in data.items() if k not in SERVER_FIELDS or k in model.model_fields}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_errors(exc) from exc


async def read_model(request: web.Request, model: type[M], wrapper: str) -> M:
    """Read, unwrap and validate a request body in one step."""
    return parse_model(model, await read_json(request), wrapper)
