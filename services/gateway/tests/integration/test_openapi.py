"""The merged OpenAPI document and the offline Swagger UI."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate


async def document(gateway):
    async with gateway.http.get("/openapi.json") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        return await resp.json()


class TestOpenApi:
    async def test_merged_document_is_valid_openapi_31(self, gateway):
        doc = await document(gateway)
        validate(doc)
        assert doc["openapi"] == "3.1.0"
        assert doc["info"]["title"] == "HSP Marketplace API"
        assert doc["servers"] == [{"url": "/"}]
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert doc["x-hspm-unavailable"] == []

    async def test_public_paths_of_every_service_and_the_gateway(self, gateway):
        paths = (await document(gateway))["paths"]
        for path in (
            "/users/{id}",
            "/products/{id}",
            "/reviews",
            "/licenses",
            "/users/{user_id}/platforms",
            "/",
            "/openapi.json",
            "/docs",
            "/healthz",
        ):
            assert path in paths, path
        assert not [p for p in paths if p.startswith("/internal")]

    async def test_clashing_schemas_are_prefixed_and_refs_rewritten(self, gateway):
        doc = await document(gateway)
        schemas = doc["components"]["schemas"]
        assert schemas["User"]["properties"] == {"id": {"type": "string"}}
        assert schemas["catalog_User"]["properties"] == {"login": {"type": "string"}}
        # UserList is textually equal in both, but points at a clashing schema.
        assert schemas["catalog_UserList"]["items"] == {"$ref": "#/components/schemas/catalog_User"}
        catalog_op = doc["paths"]["/products/{id}"]["get"]
        schema = catalog_op["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/catalog_User"}
        assert "identity_Problem" not in schemas and "catalog_Problem" not in schemas

    async def test_a_service_that_is_down_is_listed_and_skipped(self, start_gateway):
        gw = await start_gateway(curation_url="http://127.0.0.1:9")
        doc = await document(gw)
        validate(doc)
        assert doc["x-hspm-unavailable"] == ["curation"]
        assert "/reviews" not in doc["paths"]
        assert "/licenses" in doc["paths"]


class TestDocs:
    async def test_page_loads_only_local_assets(self, gateway):
        async with gateway.http.get("/docs") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            csp = resp.headers["Content-Security-Policy"]
            html = await resp.text()
        assert "default-src 'self'" in csp and "connect-src 'self'" in csp
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls)
        for url in urls:
            async with gateway.http.get(url) as resp:
                assert resp.status == 200, url
                assert len(await resp.read()) > 100

    async def test_initializer_points_at_the_merged_document(self, gateway):
        async with gateway.http.get("/docs/init.js") as resp:
            script = await resp.text()
        assert 'url: "/openapi.json"' in script
        assert "persistAuthorization: true" in script
        assert "validatorUrl: null" in script
        assert "http" not in script

    async def test_bundle_is_served_with_caching(self, gateway):
        async with gateway.http.get("/docs/static/swagger-ui-bundle.js") as resp:
            assert resp.status == 200
            assert "javascript" in resp.content_type
            assert "max-age" in resp.headers["Cache-Control"]
            assert b"SwaggerUIBundle" in await resp.read()

    @pytest.mark.parametrize("name", ["index.html", "swagger-initializer.js", "..%2Fdocs.py", "nope.js"])
    async def test_other_files_are_not_served(self, gateway, name):
        async with gateway.http.get(f"/docs/static/{name}") as resp:
            assert resp.status == 404
