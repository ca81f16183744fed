"""The OpenAPI document is valid OpenAPI 3.1 and describes every route the service serves."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

# Served by the base app for operators and probes, not part of the API.
PLUMBING = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


def _served(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in ("HEAD", "OPTIONS") or path in PLUMBING:
            continue
        routes.add((route.method.lower(), path))
    return routes


class TestOpenApi:
    async def test_is_a_valid_openapi_3_1_document(self, identity):
        r = await identity.get("/openapi.json")
        assert r.status == 200, r
        assert r.body["openapi"].startswith("3.1")
        validate(r.body)

    async def test_lists_every_route(self, identity):
        doc = (await identity.get("/openapi.json")).body
        documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
        served = _served(identity.client.app)
        assert len(served) >= 50
        assert documented == served

    async def test_operation_ids_are_unique(self, identity):
        doc = (await identity.get("/openapi.json")).body
        ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
        assert len(ids) == len(set(ids))

    async def test_request_bodies_reference_their_schemas(self, identity):
        doc = (await identity.get("/openapi.json")).body
        schemas = doc["components"]["schemas"]
        for ops in doc["paths"].values():
            for op in ops.values():
                if "requestBody" in op:
                    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[1] in schemas
        assert set(schemas["UserCreate"]["required"]) == {"name"}

    async def test_path_parameters_are_declared(self, identity):
        doc = (await identity.get("/openapi.json")).body
        for path, ops in doc["paths"].items():
            names = set(re.findall(r"\{(\w+)\}", path))
            for op in ops.values():
                declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
                assert declared == names, path

    async def test_protected_operations_say_so(self, identity):
        doc = (await identity.get("/openapi.json")).body
        create_user = doc["paths"]["/users"]["post"]
        assert "users.create" in create_user["description"]
        assert create_user["security"] == [{"bearer": []}]
        assert "201" in create_user["responses"]
