"""HTTP handlers of builds and packaging: parse, call one service function, render."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from hspm.catalog.builds import models, rules, views
from hspm.catalog.builds.service import access, lifecycle, packaging
from hspm.catalog.keys import settings_key
from hspm.common import handlers
from hspm.common.errors import PayloadTooLarge, ValidationFailed
from hspm.common.web import forms, path_id, principal_of
from hspm.common.web.body import parse_model, read_json

Record = asyncpg.Record
C = TypeVar("C", bound=BaseModel)
U = TypeVar("U", bound=BaseModel)
B = TypeVar("B", bound=models.BuildFields)
M = TypeVar("M", bound=BaseModel)
BUILD = "/products/{product_id}/builds/{build_id}"


def _ids(request: web.Request) -> tuple[UUID, UUID]:
    return path_id(request, "product_id"), path_id(request, "build_id")


# --- builds ----------------------------------------------------------------------------------


async def list_builds(request: web.Request) -> web.Response:
    p, pid = principal_of(request), path_id(request, "product_id")
    version, status = request.query.get("version") or None, request.query.get("status") or None
    return await handlers.index(
        request,
        views.build,
        lambda c, page: lifecycle.list_builds(c, p, pid, page, version, status),
        rules.BUILD_SORTS,
        "version",
    )


async def _build_body(request: web.Request, model: type[B]) -> tuple[B, packaging.Asset | None]:
    """A JSON body, or the reference UI's form (multipart: ``build[...]`` fields and maybe a
    ``build[asset]`` file; or URL-encoded) read under the body and asset bounds."""
    if not forms.is_form(request):
        return await handlers.body(request, model, "build"), None
    handlers.signed_in(request)
    settings = request.app[settings_key]
    bounds = forms.Bounds(max_text_bytes=settings.max_body_bytes, max_file_bytes=settings.max_asset_bytes)
    form = await forms.read_form(
        request, "build", bounds, file_field="asset", json_fields=frozenset({"permissions"})
    )
    body = parse_model(model, form.fields, "build")
    if form.file is None:
        return body, None
    if not form.file.data:
        raise ValidationFailed.field("asset", "must not be empty")
    name = _asset_name(form.file.filename, "asset")
    return body, packaging.Asset(form.file.data, name, form.file.content_type)


async def create_build(request: web.Request) -> web.Response:
    body, asset = await _build_body(request, models.BuildCreate)
    p, pid = principal_of(request), path_id(request, "product_id")
    return await handlers.create(
        request, views.build, lambda c: lifecycle.create_build(c, p, pid, body, asset)
    )


async def get_build(request: web.Request) -> web.Response:
    p, (pid, bid) = principal_of(request), _ids(request)
    return await handlers.show(request, views.build, lambda c: access.readable_build(c, p, pid, bid))


async def update_build(request: web.Request) -> web.Response:
    body, asset = await _build_body(request, models.BuildUpdate)
    p, (pid, bid) = principal_of(request), _ids(request)
    return await handlers.show(
        request, views.build, lambda c: lifecycle.update_build(c, p, pid, bid, body, asset)
    )


async def delete_build(request: web.Request) -> web.Response:
    """200 with the deleted build, as the reference server answers."""
    p, (pid, bid) = handlers.signed_in(request), _ids(request)
    return await handlers.show(request, views.build, lambda c: lifecycle.delete_build(c, p, pid, bid))


async def submit_build(request: web.Request) -> web.Response:
    p, (pid, bid) = handlers.signed_in(request), _ids(request)
    return await handlers.show(request, views.build, lambda c: lifecycle.submit_build(c, p, pid, bid))


# --- asset ---------------------------------------------------------------------------------


async def _read_limited(request: web.Request, limit: int) -> bytes:
    """The raw body, refusing it as soon as it passes ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The asset exceeds {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The asset exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _asset_name(name: str | None, field: str) -> str | None:
    """The asset's file name, for ``Content-Disposition``: a plain name or none."""
    if name is not None and (len(name) > 255 or any(c in name for c in '/\\"\r\n')):
        raise ValidationFailed.field(field, "must be a plain file name of at most 255 characters")
    return name


async def put_asset(request: web.Request) -> web.Response:
    p, (pid, bid) = handlers.signed_in(request), _ids(request)
    name = _asset_name(request.query.get("name") or None, "name")
    data = await _read_limited(request, request.app[settings_key].max_asset_bytes)
    if not data:
        raise ValidationFailed.field("asset", "must not be empty")
    asset = packaging.Asset(data, name, request.headers.get("Content-Type") or "application/octet-stream")
    return await handlers.show(request, views.build, lambda c: packaging.put_asset(c, p, pid, bid, asset))


async def get_asset(request: web.Request) -> web.Response:
    """The asset's bytes with their own type, whatever ``Accept`` says: the reference UI
    sends ``Accept: application/json`` on every call, and browsers ``image/png`` or ``*/*``."""
    p, (pid, bid) = principal_of(request), _ids(request)
    async with handlers.tx(request) as conn:
        asset = await packaging.get_asset(conn, p, pid, bid)
    filename = asset["asset_name"] or f"build-{bid}-asset"
    return web.Response(
        body=asset["asset"],
        content_type=asset["asset_content_type"] or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Digest": f"sha-256={asset['asset_sha256']}",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def delete_asset(request: web.Request) -> web.Response:
    p, (pid, bid) = handlers.signed_in(request), _ids(request)
    return await handlers.no_content(request, lambda c: packaging.delete_asset(c, p, pid, bid))


# --- packaging: one set of five handlers, for each kind of record ------------------------------


async def _body_off_loop(request: web.Request, model: type[M], wrapper: str) -> M:
    """A packaging body, validated in a worker thread: a task may declare hundreds of
    environment patterns, each compiled and matched by RE2 (linear, but not free)."""
    handlers.signed_in(request)
    return await asyncio.to_thread(parse_model, model, await read_json(request), wrapper)


# A packaging view: the row, the public origin, and the path of what the record hangs under.
RenderAt = Callable[[Record, str, str], dict[str, Any]]


@dataclass(frozen=True)
class Packaging(Generic[C, U]):
    """The HTTP side of a kind of packaging record: its URL below the build (or below its
    parent's record), its body models and its JSON shape (rendered below the parent's path)."""

    kind: packaging.Kind[C, U]
    create_model: type[C]
    update_model: type[U]
    render: RenderAt

    @property
    def noun(self) -> str:
        return self.kind.noun

    @property
    def collection(self) -> str:
        parent = self.kind.parent
        above = f"{BUILD}/{parent.table}/{{{parent.noun}_id}}" if parent else BUILD
        return f"{above}/{self.kind.table}"

    @property
    def item(self) -> str:
        return f"{self.collection}/{{{self.noun}_id}}"

    def _at(self, request: web.Request) -> tuple[packaging.Path, handlers.Render]:
        """Where the record sits, and its view bound to the parent's path (for ``path``/``url``)."""
        pid, bid = _ids(request)
        prefix, parent_id, parent = views.build_path(pid, bid), None, self.kind.parent
        if parent is not None:
            parent_id = path_id(request, f"{parent.noun}_id")
            prefix = f"{prefix}/{parent.table}/{parent_id}"
        return packaging.Path(pid, bid, parent_id), lambda row, base: self.render(row, base, prefix)

    def _id(self, request: web.Request) -> UUID:
        return path_id(request, f"{self.noun}_id")

    async def index(self, request: web.Request) -> web.Response:
        (at, render), p = self._at(request), principal_of(request)
        return await handlers.index(
            request,
            render,
            lambda c, page: packaging.list_records(c, p, self.kind, at, page),
            self.kind.sorts,
            "created_at",
        )

    async def create(self, request: web.Request) -> web.Response:
        body = await _body_off_loop(request, self.create_model, self.noun)
        (at, render), p = self._at(request), principal_of(request)
        return await handlers.create(
            request, render, lambda c: packaging.create_record(c, p, self.kind, at, body)
        )

    async def show(self, request: web.Request) -> web.Response:
        (at, render), p, rid = self._at(request), principal_of(request), self._id(request)
        return await handlers.show(request, render, lambda c: packaging.get_record(c, p, self.kind, at, rid))

    async def update(self, request: web.Request) -> web.Response:
        body = await _body_off_loop(request, self.update_model, self.noun)
        (at, render), p, rid = self._at(request), principal_of(request), self._id(request)
        return await handlers.show(
            request, render, lambda c: packaging.update_record(c, p, self.kind, at, rid, body)
        )

    async def delete(self, request: web.Request) -> web.Response:
        p = handlers.signed_in(request)
        (at, _), rid = self._at(request), self._id(request)
        return await handlers.no_content(request, lambda c: packaging.delete_record(c, p, self.kind, at, rid))


PACKAGING: tuple[Packaging[Any, Any], ...] = (
    Packaging(
        packaging.CONFIGURATIONS, models.ConfigurationCreate, models.ConfigurationUpdate, views.configuration
    ),
    Packaging(packaging.TASKS, models.TaskCreate, models.TaskUpdate, views.task),
    Packaging(packaging.EXPOSURES, models.ExposureCreate, models.ExposureUpdate, views.exposure),
    Packaging(packaging.PARAMETERS, models.ParameterCreate, models.ParameterUpdate, views.parameter),
    Packaging(packaging.DEPENDENCIES, models.DependencyCreate, models.DependencyUpdate, views.dependency),
)
