"""``Api.resource``: a resource's standard routes, each both an aiohttp route and an operation."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hspm.common.web import PAGED, Api, Crud

COLLECTION = "/widgets"
ITEM = "/widgets/{widget_id}"


class WidgetCreate(BaseModel):
    name: str


class WidgetUpdate(BaseModel):
    name: str | None = None


async def index(_: web.Request) -> web.Response:
    return web.Response()


async def create(_: web.Request) -> web.Response:
    return web.Response(status=201)


async def show(_: web.Request) -> web.Response:
    return web.Response()


async def update(_: web.Request) -> web.Response:
    return web.Response()


async def delete(_: web.Request) -> web.Response:
    return web.Response(status=204)


def _crud(**overrides: Any) -> Crud:
    fields: dict[str, Any] = {
        "collection": COLLECTION,
        "item": ITEM,
        "tag": "Widgets",
        "noun": "widget",
        "plural": "widgets",
        "index": index,
        "create": create,
        "show": show,
        "update": update,
        "delete": delete,
        "create_model": WidgetCreate,
        "update_model": WidgetUpdate,
    }
    return Crud(**(fields | overrides))


def _register(crud: Crud) -> tuple[Api, web.UrlDispatcher]:
    api = Api(title="widgets")
    router = web.Application().router
    api.resource(router, crud)
    return api, router


def _routes(router: web.UrlDispatcher) -> dict[tuple[str, str], Any]:
    return {(r.method, r.resource.canonical): r.handler for r in router.routes() if r.resource is not None}


def _operations(api: Api) -> dict[tuple[str, str], Any]:
    return {(op.method, op.path): op for op in api.operations}


ALL_ROUTES = {
    ("GET", COLLECTION): index,
    ("POST", COLLECTION): create,
    ("GET", ITEM): show,
    ("PUT", ITEM): update,
    ("PATCH", ITEM): update,
    ("DELETE", ITEM): delete,
}


class TestRoutes:
    def test_every_offered_handler_gets_its_route_and_nothing_else(self) -> None:
        api, router = _register(_crud())
        assert _routes(router) == ALL_ROUTES
        assert set(_operations(api)) == set(ALL_ROUTES)
        assert len(api.operations) == len(ALL_ROUTES)

    def test_update_is_offered_as_put_and_patch(self) -> None:
        api, router = _register(_crud(index=None, create=None, show=None, delete=None))
        assert _routes(router) == {("PUT", ITEM): update, ("PATCH", ITEM): update}
        ops = _operations(api)
        assert ops["PUT", ITEM].request is ops["PATCH", ITEM].request is WidgetUpdate

    def test_a_handler_not_offered_has_no_route(self) -> None:
        api, router = _register(_crud(create=None, update=None, delete=None))
        assert _routes(router) == {("GET", COLLECTION): index, ("GET", ITEM): show}
        assert set(_operations(api)) == {("GET", COLLECTION), ("GET", ITEM)}


class TestOperations:
    def test_documented_statuses(self) -> None:
        ops = _operations(_register(_crud())[0])
        statuses = {key: op.status for key, op in ops.items()}
        assert statuses == {
            ("GET", COLLECTION): 200,
            ("POST", COLLECTION): 201,
            ("GET", ITEM): 200,
            ("PUT", ITEM): 200,
            ("PATCH", ITEM): 200,
            ("DELETE", ITEM): 204,
        }

    def test_a_delete_that_answers_with_the_record(self) -> None:
        ops = _operations(_register(_crud(delete_status=200))[0])
        assert ops["DELETE", ITEM].status == 200

    def test_bodies_query_and_permissions(self) -> None:
        keys = {"create": "widgets.create", "update": "widgets.update", "delete": "widgets.delete"}
        ops = _operations(_register(_crud(permissions=keys, query=(*PAGED, "name")))[0])
        assert ops["POST", COLLECTION].request is WidgetCreate
        assert ops["GET", COLLECTION].query == (*PAGED, "name")
        assert {k: op.permission for k, op in ops.items()} == {
            ("GET", COLLECTION): None,
            ("POST", COLLECTION): "widgets.create",
            ("GET", ITEM): None,
            ("PUT", ITEM): "widgets.update",
            ("PATCH", ITEM): "widgets.update",
            ("DELETE", ITEM): "widgets.delete",
        }
        assert all(op.tag == "Widgets" for op in ops.values())

    def test_default_summaries_and_overrides(self) -> None:
        ops = _operations(_register(_crud(summaries={"delete": "Scrap a widget"}))[0])
        assert {k: op.summary for k, op in ops.items()} == {
            ("GET", COLLECTION): "List widgets",
            ("POST", COLLECTION): "Create a widget",
            ("GET", ITEM): "Show a widget",
            ("PUT", ITEM): "Update a widget",
            ("PATCH", ITEM): "Update a widget",
            ("DELETE", ITEM): "Scrap a widget",
        }

    def test_a_noun_starting_with_a_vowel_takes_an(self) -> None:
        crud = _crud(noun="identity provider", plural="identity providers")
        assert (crud.summary("create"), crud.summary("index")) == (
            "Create an identity provider",
            "List identity providers",
        )

    def test_the_document_lists_each_route_with_its_status(self) -> None:
        doc = _register(_crud())[0].document()
        item = doc["paths"][ITEM]
        assert set(item) == {"get", "put", "patch", "delete"}
        assert "204" in item["delete"]["responses"]
        assert "201" in doc["paths"][COLLECTION]["post"]["responses"]
        names = [p["name"] for p in doc["paths"][COLLECTION]["get"]["parameters"]]
        assert names == list(PAGED)
