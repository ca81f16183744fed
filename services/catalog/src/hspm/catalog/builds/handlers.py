"""HTTP handlers of builds and packaging: parse, call the service in one transaction, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from hspm.catalog.builds import models, service, views
from hspm.catalog.keys import settings_key
from hspm.catalog.web import base_url, tx
from hspm.common.errors import PayloadTooLarge, ValidationFailed
from hspm.common.web import (
    PageParams,
    created,
    json_response,
    page_envelope,
    path_id,
    principal_of,
)
from hspm.common.web import handlers as shared

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


read_body = shared.body
signed_in = shared.signed_in


# --- builds ----------------------------------------------------------------------------------


def _ids(request: web.Request) -> tuple[UUID, UUID]:
    return path_id(request, "product_id"), path_id(request, "build_id")


async def list_builds(request: web.Request) -> web.Response:
    p, pid = principal_of(request), path_id(request, "product_id")
    page = PageParams.parse(request.query, service.BUILD_SORTS, "version")
    version, status = request.query.get("version") or None, request.query.get("status") or None
    async with tx(request) as conn:
        rows, total = await service.list_builds(conn, p, pid, page, version, status)
    base = base_url(request)
    return json_response(page_envelope([views.build(r, base) for r in rows], total, page))


async def create_build(request: web.Request) -> web.Response:
    body = await read_body(request, models.BuildCreate, "build")
    pid = path_id(request, "product_id")
    async with tx(request) as conn:
        row = await service.create_build(conn, principal_of(request), pid, body)
    return created(views.build(row, base_url(request)))


async def get_build(request: web.Request) -> web.Response:
    pid, bid = _ids(request)
    async with tx(request) as conn:
        row = await service.readable_build(conn, principal_of(request), pid, bid)
    return json_response(views.build(row, base_url(request)))


async def update_build(request: web.Request) -> web.Response:
    body = await read_body(request, models.BuildUpdate, "build")
    pid, bid = _ids(request)
    async with tx(request) as conn:
        row = await service.update_build(conn, principal_of(request), pid, bid, body)
    return json_response(views.build(row, base_url(request)))


async def delete_build(request: web.Request) -> web.Response:
    p, (pid, bid) = signed_in(request), _ids(request)
    async with tx(request) as conn:
        row = await service.delete_build(conn, p, pid, bid)
    return json_response(views.build(row, base_url(request)))


async def submit_build(request: web.Request) -> web.Response:
    p, (pid, bid) = signed_in(request), _ids(request)
    async with tx(request) as conn:
        row = await service.submit_build(conn, p, pid, bid)
    return json_response(views.build(row, base_url(request)))


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


async def put_asset(request: web.Request) -> web.Response:
    p, (pid, bid) = signed_in(request), _ids(request)
    name = request.query.get("name") or None
    if name is not None and (len(name) > 255 or any(c in name for c in '/\\"\r\n')):
        raise ValidationFailed.field("name", "must be a plain file name of at most 255 characters")
    data = await _read_limited(request, request.app[settings_key].max_asset_bytes)
    if not data:
        raise ValidationFailed.field("asset", "must not be empty")
    ctype = request.headers.get("Content-Type") or "application/octet-stream"
    async with tx(request) as conn:
        row = await service.put_asset(conn, p, pid, bid, data, name, ctype)
    return json_response(views.build(row, base_url(request)))


async def get_asset(request: web.Request) -> web.Response:
    pid, bid = _ids(request)
    async with tx(request) as conn:
        asset = await service.get_asset(conn, principal_of(request), pid, bid)
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
    p, (pid, bid) = signed_in(request), _ids(request)
    async with tx(request) as conn:
        await service.delete_asset(conn, p, pid, bid)
    return web.Response(status=204)


# --- packaging: one generic set of five handlers per kind ----------------------------------------

Render = Callable[[asyncpg.Record, str, str], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    """A packaging resource: its wrapper, ids, models, view and service functions."""

    wrapper: str
    id_name: str
    parent: str | None  # the path id of its parent below the build (tasks, parameters)
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    render: Render
    sorts: tuple[str, ...]
    create: Callable[..., Awaitable[asyncpg.Record]]
    list: Callable[..., Awaitable[tuple[list[asyncpg.Record], int]]]
    get: Callable[..., Awaitable[asyncpg.Record]]
    update: Callable[..., Awaitable[asyncpg.Record]]
    delete: Callable[..., Awaitable[None]]

    def at(self, request: web.Request) -> tuple[service.Path, str]:
        """Where the record sits, and the path of its parent for ``path``/``url``."""
        pid, bid = _ids(request)
        prefix = views.build_path(pid, bid)
        parent_id = None
        if self.parent is not None:
            parent_id = path_id(request, self.parent)
            segment = "configurations" if self.parent == "configuration_id" else "exposures"
            prefix = f"{prefix}/{segment}/{parent_id}"
        return service.Path(pid, bid, parent_id), prefix


def handlers(kind: Kind) -> dict[str, Handler]:
    """index, create, show, update and destroy for one packaging kind."""

    async def index(request: web.Request) -> web.Response:
        at, prefix = kind.at(request)
        page = PageParams.parse(request.query, kind.sorts, "created_at")
        async with tx(request) as conn:
            rows, total = await kind.list(conn, principal_of(request), at, page)
        base = base_url(request)
        return json_response(page_envelope([kind.render(r, base, prefix) for r in rows], total, page))

    async def create(request: web.Request) -> web.Response:
        body = await read_body(request, kind.create_model, kind.wrapper)
        at, prefix = kind.at(request)
        async with tx(request) as conn:
            row = await kind.create(conn, principal_of(request), at, body)
        return created(kind.render(row, base_url(request), prefix))

    async def show(request: web.Request) -> web.Response:
        at, prefix = kind.at(request)
        rid = path_id(request, kind.id_name)
        async with tx(request) as conn:
            row = await kind.get(conn, principal_of(request), at, rid)
        return json_response(kind.render(row, base_url(request), prefix))

    async def update(request: web.Request) -> web.Response:
        body = await read_body(request, kind.update_model, kind.wrapper)
        at, prefix = kind.at(request)
        rid = path_id(request, kind.id_name)
        async with tx(request) as conn:
            row = await kind.update(conn, principal_of(request), at, rid, body)
        return json_response(kind.render(row, base_url(request), prefix))

    async def destroy(request: web.Request) -> web.Response:
        p = signed_in(request)
        at, _ = kind.at(request)
        rid = path_id(request, kind.id_name)
        async with tx(request) as conn:
            await kind.delete(conn, p, at, rid)
        return web.Response(status=204)

    return {"index": index, "create": create, "show": show, "update": update, "destroy": destroy}


def _kind(
    name: str,
    parent: str | None,
    models_: tuple[type[BaseModel], type[BaseModel]],
    render: Render,
    sorts: tuple[str, ...],
) -> Kind:
    s: Any = service
    return Kind(
        wrapper=name,
        id_name=f"{name}_id",
        parent=parent,
        create_model=models_[0],
        update_model=models_[1],
        render=render,
        sorts=sorts,
        create=getattr(s, f"create_{name}"),
        list=getattr(s, f"list_{_plural(name)}"),
        get=getattr(s, f"get_{name}"),
        update=getattr(s, f"update_{name}"),
        delete=getattr(s, f"delete_{name}"),
    )


def _plural(name: str) -> str:
    return name[:-1] + "ies" if name.endswith("y") else name + "s"


_NAMED = ("created_at", "updated_at", "name")
CONFIGURATIONS = handlers(
    _kind(
        "configuration",
        None,
        (models.ConfigurationCreate, models.ConfigurationUpdate),
        views.configuration,
        (*_NAMED, "default"),
    )
)
TASKS = handlers(
    _kind("task", "configuration_id", (models.TaskCreate, models.TaskUpdate), views.task, _NAMED)
)
EXPOSURES = handlers(
    _kind(
        "exposure",
        None,
        (models.ExposureCreate, models.ExposureUpdate),
        views.exposure,
        ("created_at", "updated_at"),
    )
)
PARAMETERS = handlers(
    _kind(
        "parameter",
        "exposure_id",
        (models.ParameterCreate, models.ParameterUpdate),
        views.parameter,
        (*_NAMED, "required"),
    )
)
DEPENDENCIES = handlers(
    _kind(
        "dependency",
        None,
        (models.DependencyCreate, models.DependencyUpdate),
        views.dependency,
        (*_NAMED, "required"),
    )
)
