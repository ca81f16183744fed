"""The OpenAPI document is valid OpenAPI 3.1 and describes every route the service serves."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
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


def _documented(
    doc: dict[str, Any], method: str, path: str, status: int, content_type: str
) -> dict[str, Any]:
    """The schema the document gives for this answer ({} when it declares no body); fails if undocumented."""
    responses = doc["paths"][path][method]["responses"]
    response = responses.get(str(status), responses["default"])
    content = response.get("content")
    if content is None:
        return {}
    assert content_type in content, (method, path, status, content_type, sorted(content))
    schema: dict[str, Any] = content[content_type]["schema"]
    return schema


class TestEveryAnswerIsDocumented:
    """What a client actually receives is what the document says it may receive."""

    async def test_a_refused_device_poll_is_a_documented_oauth_error(self, identity):
        doc = (await identity.get("/openapi.json")).body
        r = await identity.post("/device_authorizations/token", None, {"device_code": "unknown"})
        assert r.status == 400 and r.headers["Content-Type"].startswith("application/json"), r
        schema = _documented(doc, "post", "/device_authorizations/token", 400, "application/json")
        assert schema.get("required") == ["error", "error_description"]
        Draft202012Validator(schema).validate(r.body)
        malformed = await identity.post(
            "/device_authorizations/token", None, data=b"{", headers={"Content-Type": "application/json"}
        )
        assert malformed.status == 400, malformed
        _documented(doc, "post", "/device_authorizations/token", 400, malformed.content_type)

    async def test_the_callbacks_redirect_to_the_ui_is_documented(self, fresh_db, start_identity):
        async with start_identity(fresh_db, ui_url="https://ui.example/app") as api:
            doc = (await api.get("/openapi.json")).body
            bare = await api.get("/sessions")
            assert bare.status == 302, bare
            assert "302" in doc["paths"]["/sessions"]["get"]["responses"]
