"""Form bodies of the reference UI: ``product[name]``-style fields and at most one file.

The spec's clients send product and build changes as ``multipart/form-data`` so a file
can ride along (spec §2.2); scripts send ``application/x-www-form-urlencoded``. Fields are
read with aiohttp's own streaming reader under explicit bounds (aiohttp's
``client_max_size`` does not cover a streamed multipart body): the text of all fields
together, each field, the file, and the number of parts. The caller then validates the
fields with the same pydantic model as a JSON body, wrapped (``build[version]``) or bare
(``version``) alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import BodyPartReader, web

from hspm.common.errors import PayloadTooLarge, ValidationFailed

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FormFile:
    data: bytes
    filename: str | None
    content_type: str


@dataclass(frozen=True)
class Form:
    fields: dict[str, Any]
    file: FormFile | None


@dataclass(frozen=True)
class Bounds:
    """What one form may carry. ``empty_is_null``: a form cannot send a null, so an empty
    field stands for one (the product form clears ``visible_at`` that way)."""

    max_text_bytes: int
    max_file_bytes: int
    max_field_bytes: int | None = None
    max_parts: int = 100
    empty_is_null: bool = False


_FORMS = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def is_form(request: web.Request) -> bool:
    """A browser form: multipart (the reference UI's ``FormData``) or URL-encoded."""
    return request.content_type in _FORMS


async def read_form(
    request: web.Request,
    wrapper: str,
    bounds: Bounds,
    *,
    file_field: str | None = None,
    json_fields: frozenset[str] = frozenset(),
) -> Form:
    """The form's fields (``json_fields`` parsed from their JSON text) and its file, if any."""
    if request.content_type == "application/x-www-form-urlencoded":
        return await _urlencoded(request, wrapper, json_fields, bounds)
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as exc:
        raise ValidationFailed.field(wrapper, f"is not a valid multipart/form-data body: {exc}") from exc
    fields: dict[str, Any] = {}
    file: FormFile | None = None
    text_budget = bounds.max_text_bytes
    for _ in range(bounds.max_parts + 1):  # every part counts, empty file inputs too
        part = await reader.next()
        if part is None:
            return Form(fields, file)
        if not isinstance(part, BodyPartReader):
            raise ValidationFailed.field(wrapper, "must not nest multipart bodies")
        name = _field_name(part.name or "", wrapper)
        if name in fields or (name == file_field and file is not None):
            raise ValidationFailed.field(name, "is given twice")
        if file_field is not None and name == file_field:
            limit = bounds.max_file_bytes
            data = await _read(part, limit, f"The {file_field} exceeds {limit} bytes.")
            if data or part.filename:  # a browser's "no file chosen" is an empty, unnamed part
                ctype = part.headers.get("Content-Type") or "application/octet-stream"
                file = FormFile(data, part.filename or None, ctype)
            continue
        raw = await _read(part, _field_limit(bounds, text_budget), _too_large(bounds, name, text_budget))
        text_budget -= len(raw)
        fields[name] = _value(name, raw, name in json_fields, bounds.empty_is_null)
    raise PayloadTooLarge(f"The form has more than {bounds.max_parts} parts.")


def _field_limit(bounds: Bounds, text_budget: int) -> int:
    if bounds.max_field_bytes is None:
        return text_budget
    return min(bounds.max_field_bytes, text_budget)


def _too_large(bounds: Bounds, name: str, text_budget: int) -> str:
    if bounds.max_field_bytes is not None and bounds.max_field_bytes <= text_budget:
        return f"The form field {name} exceeds {bounds.max_field_bytes} bytes."
    return f"The form's fields exceed {bounds.max_text_bytes} bytes."


async def _urlencoded(
    request: web.Request, wrapper: str, json_fields: frozenset[str], bounds: Bounds
) -> Form:
    """A URL-encoded form: text fields only, as small as any JSON body."""
    limit = bounds.max_text_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The form's fields exceed {limit} bytes.")
    try:
        posted = await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"The form exceeds {request.client_max_size} bytes.") from exc
    fields: dict[str, Any] = {}
    for key, value in posted.items():
        name = _field_name(key, wrapper)
        if name in fields or not isinstance(value, str):
            raise ValidationFailed.field(name, "must be given once, as text")
        if len(fields) >= bounds.max_parts:
            raise PayloadTooLarge(f"The form has more than {bounds.max_parts} parts.")
        fields[name] = _value(name, value.encode(), name in json_fields, bounds.empty_is_null)
    return Form(fields, None)


def _field_name(name: str, wrapper: str) -> str:
    """``build[version]`` and ``version`` both name ``version``."""
    prefix = f"{wrapper}["
    if name.startswith(prefix) and name.endswith("]"):
        return name[len(prefix) : -1]
    return name


async def _read(part: BodyPartReader, limit: int, too_large: str) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _value(name: str, raw: bytes, is_json: bool, empty_is_null: bool) -> Any:
    if not raw and empty_is_null:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed.field(name, "must be UTF-8 text") from exc
    if not is_json:
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed.field(name, "must be JSON text in a form field") from exc
