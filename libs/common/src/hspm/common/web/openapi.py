"""A route table that is also the service's OpenAPI 3.1 document."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hspm.common.web.app import json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")

PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "message": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "request_id": {"type": "string"},
    },
}

# The query parameters of every paged index (``hspm.common.paging``).
PAGED = ("page", "per_page", "sort", "order")


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    permission: str | None
    query: Sequence[str]
    # Answers besides ``status`` and the problem default (a redirect, a protocol's own error).
    responses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Crud:
    """One resource's standard routes: the handlers it offers and how they are described.

    ``summaries`` overrides the default summary of a verb (``index``, ``create``, ``show``,
    ``update``, ``delete``); ``permissions`` names the permission key each verb documents.
    """

    collection: str
    item: str
    tag: str
    noun: str
    plural: str
    index: Handler | None = None
    create: Handler | None = None
    show: Handler | None = None
    update: Handler | None = None
    delete: Handler | None = None
    create_model: type[BaseModel] | None = None
    update_model: type[BaseModel] | None = None
    query: Sequence[str] = PAGED
    delete_status: int = 204
    permissions: Mapping[str, str] = field(default_factory=dict)
    summaries: Mapping[str, str] = field(default_factory=dict)

    def summary(self, verb: str) -> str:
        # "an interface", "an exposure", but "a user": a leading u is usually a "you" sound.
        article = "an" if self.noun[:1] in "aeio" else "a"
        default = {
            "index": f"List {self.plural}",
            "create": f"Create {article} {self.noun}",
            "show": f"Show {article} {self.noun}",
            "update": f"Update {article} {self.noun}",
            "delete": f"Delete {article} {self.noun}",
        }
        return self.summaries.get(verb, default[verb])


@dataclass
class Api:
    """Register a route once; get both the aiohttp route and its OpenAPI operation."""

    title: str
    version: str = "1.0.0"
    operations: list[Operation] = field(default_factory=list)

    def route(
        self,
        router: web.UrlDispatcher,
        method: str,
        path: str,
        handler: Handler,
        summary: str,
        *,
        tag: str,
        request: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        permission: str | None = None,
        query: Sequence[str] = (),
        responses: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        router.add_route(method, path, handler)
        self.operations.append(
            Operation(
                method,
                path,
                summary,
                tag,
                request,
                response,
                status,
                permission,
                tuple(query),
                responses or {},
            )
        )

    def resource(self, router: web.UrlDispatcher, crud: Crud) -> None:
        """The standard routes of one resource: index and create on the collection; show,
        update (PUT and PATCH) and delete on the item, for each handler ``crud`` offers."""
        # (verb, its handler, method, on the item?, request model, status, query), in order.
        Row = tuple[str, Handler | None, str, bool, type[BaseModel] | None, int, Sequence[str]]
        table: tuple[Row, ...] = (
            ("index", crud.index, "GET", False, None, 200, crud.query),
            ("create", crud.create, "POST", False, crud.create_model, 201, ()),
            ("show", crud.show, "GET", True, None, 200, ()),
            ("update", crud.update, "PUT", True, crud.update_model, 200, ()),
            ("update", crud.update, "PATCH", True, crud.update_model, 200, ()),
            ("delete", crud.delete, "DELETE", True, None, crud.delete_status, ()),
        )
        for verb, handler, method, on_item, model, status, query in table:
            if handler is None:
                continue
            path = crud.item if on_item else crud.collection
            self.route(
                router,
                method,
                path,
                handler,
                crud.summary(verb),
                tag=crud.tag,
                request=model,
                status=status,
                permission=crud.permissions.get(verb),
                query=query,
            )

    def document(self) -> dict[str, Any]:
        models = {m for op in self.operations for m in (op.request, op.response) if m is not None}
        _, schema = models_json_schema(
            [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
            ref_template="#/components/schemas/{model}",
        )
        schemas = dict(schema.get("$defs", {}))
        schemas["Problem"] = PROBLEM_SCHEMA
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            oapath = _PARAM.sub(r"{\1}", op.path)
            paths.setdefault(oapath, {})[op.method.lower()] = _operation(op, oapath)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
        }

    def handler(self) -> Handler:
        async def openapi(_: web.Request) -> web.Response:
            return json_response(self.document())

        return openapi


def _operation(op: Operation, path: str) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in _PARAM.findall(path)
    ]
    params += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in op.query]
    ok: dict[str, Any] = {"description": "Success"}
    if op.response is not None:
        ok["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{op.response.__name__}"}}
        }
    problem = {
        "description": "Problem",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    out: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
        "parameters": params,
        "responses": {
            str(op.status): ok,
            **{k: dict(v) for k, v in op.responses.items()},
            "default": problem,
        },
    }
    if op.permission:
        out["description"] = f"Requires `{op.permission}` (or ownership where the resource has an owner)."
        out["security"] = [{"bearer": []}]
    if op.request is not None:
        out["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.request.__name__}"}}
            },
        }
    return out
