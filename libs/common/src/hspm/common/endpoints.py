"""Handlers for a resource's standard verbs, built from the service functions they call.

The declarative form of the shapes in ``hspm.common.handlers``: where an area's handlers
are all "read the caller and ids, call one service function, render", it writes
``get_role = ROLE.show(service.get_role)`` instead of the same three lines per verb.

Each is the template's handler written once: read the caller and the path's ids (and
the body, for writes), call ONE service function in the request's unit of work, render
its row with the view (``hspm.common.handlers`` shapes). A service function takes the
connection, the caller, the path's ids in order, then the page and the filters (an
index) or the body (a write). An area's ``handlers.py`` names every handler after the
service function it calls, so grep finds both; a handler that does more is written out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from hspm.common import handlers
from hspm.common.auth import Principal
from hspm.common.handlers import Render
from hspm.common.web import path_id, principal_of

Handler = Callable[[web.Request], Awaitable[web.Response]]
# (conn, caller, *path ids[, page, *filters | body]) -> what the verb answers with
RowService = Callable[..., Awaitable[asyncpg.Record]]
PageService = Callable[..., Awaitable[tuple[list[asyncpg.Record], int]]]
# An index's query filters, in the order its service function takes them after the page.
Filters = Callable[[web.Request], Sequence[Any]]


def no_filters(_: web.Request) -> Sequence[Any]:
    return ()


def _named(handler: Handler, fn: Callable[..., Any]) -> Handler:
    """Tracebacks and profiles name the handler after the service function it calls."""
    handler.__name__ = handler.__qualname__ = fn.__name__
    return handler


@dataclass(frozen=True)
class Endpoints:
    """The handlers of one path, such as ``/roles/{role_id}``: its ids and its rows' view.

    ``view`` picks the rendering for the caller (most resources look the same to all:
    ``Endpoints.of``).
    """

    view: Callable[[Principal], Render]
    ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, render: Render, *ids: str) -> Endpoints:
        """A path whose rows every caller sees rendered alike."""
        return cls(lambda _: render, ids)

    def _caller(self, request: web.Request) -> tuple[Render, tuple[Any, ...]]:
        """The caller's view, and the caller then the path's ids: what service functions take first."""
        p = principal_of(request)
        return self.view(p), (p, *(path_id(request, name) for name in self.ids))

    def index(
        self, fn: PageService, sortable: tuple[str, ...], default: str, filters: Filters = no_filters
    ) -> Handler:
        """One page of rows, sorted by one of ``sortable`` (``default`` unless asked)."""

        async def index(request: web.Request) -> web.Response:
            (render, args), extra = self._caller(request), filters(request)
            return await handlers.index(
                request, render, lambda c, page: fn(c, *args, page, *extra), sortable, default
            )

        return _named(index, fn)

    def show(self, fn: RowService) -> Handler:
        """The row ``fn`` answers with: read, changed by an action, or just deleted."""

        async def show(request: web.Request) -> web.Response:
            render, args = self._caller(request)
            return await handlers.show(request, render, lambda c: fn(c, *args))

        return _named(show, fn)

    def create(self, fn: RowService, model: type[BaseModel], wrapper: str) -> Handler:
        """201 with the new row; the body is ``{wrapper: model}``."""

        async def create(request: web.Request) -> web.Response:
            body = await handlers.body(request, model, wrapper)
            render, args = self._caller(request)
            return await handlers.create(request, render, lambda c: fn(c, *args, body))

        return _named(create, fn)

    def update(self, fn: RowService, model: type[BaseModel], wrapper: str) -> Handler:
        """The changed row; the body is ``{wrapper: model}``."""

        async def update(request: web.Request) -> web.Response:
            body = await handlers.body(request, model, wrapper)
            render, args = self._caller(request)
            return await handlers.show(request, render, lambda c: fn(c, *args, body))

        return _named(update, fn)

    def delete(self, fn: Callable[..., Awaitable[Any]]) -> Handler:
        """204 once ``fn`` has removed the row."""

        async def delete(request: web.Request) -> web.Response:
            _, args = self._caller(request)
            return await handlers.no_content(request, lambda c: fn(c, *args))

        return _named(delete, fn)
