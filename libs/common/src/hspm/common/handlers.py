"""The one way to write a resource handler: parse, call one service function, render.

A handler reads the path, query and body, then hands a closure over the connection to
one of the shapes below, which runs it in the request's unit of work and renders the
result with the spec's absolute ``url`` fields::

    async def get_user(request: web.Request) -> web.Response:
        p, uid = principal_of(request), path_id(request, "user_id")
        return await show(request, views.user, lambda c: service.get_user(c, p, uid))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Unauthorized
from hspm.common.lifecycle import unit_of_work
from hspm.common.paging import PageParams, page_envelope
from hspm.common.web.app import json_response, state_key
from hspm.common.web.body import read_model
from hspm.common.web.params import created
from hspm.common.web.principal import principal_of

M = TypeVar("M", bound=BaseModel)
Render = Callable[[asyncpg.Record, str], dict[str, Any]]
RowFn = Callable[[Conn], Awaitable[asyncpg.Record]]
PageFn = Callable[[Conn, PageParams], Awaitable[tuple[list[asyncpg.Record], int]]]


def base_url(request: web.Request) -> str:
    """The public origin for the spec's absolute ``url`` fields."""
    return request.app[state_key].settings.public_url.rstrip("/")


def tx(request: web.Request, *, read_only: bool = False) -> AbstractAsyncContextManager[Conn]:
    """The request's unit of work: one transaction for writes, a plain connection for reads."""
    return unit_of_work(request, read_only=read_only)


def signed_in(request: web.Request) -> Principal:
    """Every write needs a caller: say 401 before judging the body."""
    principal = principal_of(request)
    if principal.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")
    return principal


async def body(request: web.Request, model: type[M], wrapper: str) -> M:
    """A write's validated body, after checking that someone is calling."""
    signed_in(request)
    return await read_model(request, model, wrapper)


async def optional_body(request: web.Request, model: type[M], wrapper: str) -> M:
    """Like ``body``, for actions whose body may be left out entirely."""
    signed_in(request)
    if not request.can_read_body:
        return model()
    return await read_model(request, model, wrapper)


def page_params(request: web.Request, sortable: tuple[str, ...], default: str) -> PageParams:
    """The query's ``page``/``per_page``/``sort``/``order``; 422 on anything else."""
    return PageParams.parse(request.query, sortable, default)


async def show(request: web.Request, render: Render, fn: RowFn) -> web.Response:
    """Run ``fn`` in the request's unit of work and render its row."""
    async with unit_of_work(request) as conn:
        row = await fn(conn)
    return json_response(render(row, base_url(request)))


async def create(request: web.Request, render: Render, fn: RowFn) -> web.Response:
    """Like ``show``, answering 201 with ``Location``."""
    async with unit_of_work(request) as conn:
        row = await fn(conn)
    return created(render(row, base_url(request)))


async def index(
    request: web.Request, render: Render, fn: PageFn, sortable: tuple[str, ...], default: str
) -> web.Response:
    """One page of rows in the spec's envelope."""
    page = page_params(request, sortable, default)
    async with unit_of_work(request) as conn:
        rows, total = await fn(conn, page)
    base = base_url(request)
    return json_response(page_envelope([render(r, base) for r in rows], total, page))


async def no_content(request: web.Request, fn: Callable[[Conn], Awaitable[Any]]) -> web.Response:
    """Run ``fn`` and answer 204."""
    async with unit_of_work(request) as conn:
        await fn(conn)
    return web.Response(status=204)
