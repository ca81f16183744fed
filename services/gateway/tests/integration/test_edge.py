"""CORS, the JSON-only rule, body limits and rate limits."""

from __future__ import annotations

import asyncio

import pytest

JSON_ONLY = (
    "This service only responds to JSON requests. Please set your 'Accept' header to 'application/json'."
)
EXPOSED = {
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "X-Request-ID",
    "Location",
}


class TestCors:
    async def test_preflight_is_answered_at_the_edge(self, gateway):
        headers = {
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, x-custom",
        }
        async with gateway.http.options("/products/1", headers=headers) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
            assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"}
            assert resp.headers["Access-Control-Allow-Headers"] == headers["Access-Control-Request-Headers"]
            assert resp.headers["Access-Control-Max-Age"] == "600"

    async def test_responses_and_errors_carry_cors_headers(self, gateway):
        for path, status in (("/users", 200), ("/nothing", 404), ("/ui/x", 503)):
            async with gateway.http.get(path, headers={"Origin": "https://app.example"}) as resp:
                assert resp.status == status
                assert resp.headers["Access-Control-Allow-Origin"] == "*"
                exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
                assert exposed == EXPOSED

    async def test_unauthorized_carries_cors_headers(self, gateway):
        headers = {"Origin": "https://app.example", "Authorization": "Bearer nope"}
        async with gateway.http.get("/users", headers=headers) as resp:
            assert resp.status == 401
            assert resp.headers["Access-Control-Allow-Origin"] == "*"

    async def test_listed_origins_are_echoed_and_others_are_not(self, start_gateway):
        gw = await start_gateway(cors_origins="https://a.example, https://b.example")
        async with gw.http.get("/users", headers={"Origin": "https://b.example"}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "https://b.example"
            assert "Origin" in resp.headers["Vary"]
        async with gw.http.get("/users", headers={"Origin": "https://evil.example"}) as resp:
            assert "Access-Control-Allow-Origin" not in resp.headers
        headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        async with gw.http.options("/users", headers=headers) as resp:
            assert resp.status == 204
            assert "Access-Control-Allow-Origin" not in resp.headers


class TestJsonOnly:
    @pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png, text/plain"])
    async def test_non_json_accept_is_406(self, gateway, accept):
        async with gateway.http.get("/products", headers={"Accept": accept}) as resp:
            assert resp.status == 406
            assert resp.content_type == "application/problem+json"
            assert (await resp.json())["message"] == JSON_ONLY

    @pytest.mark.parametrize(
        "accept",
        ["application/json", "application/vnd.api+json", "*/*", "text/html, */*;q=0.8", "application/*", ""],
    )
    async def test_json_compatible_accept_passes(self, gateway, accept):
        async with gateway.http.get("/products", headers={"Accept": accept}) as resp:
            assert resp.status == 200

    async def test_format_json_overrides_accept(self, gateway):
        async with gateway.http.get("/products?format=json", headers={"Accept": "text/html"}) as resp:
            assert resp.status == 200

    @pytest.mark.parametrize(
        "path",
        [
            "/products/1/logo/small",
            "/products/1/logo",
            "/products/1/screenshots/2/large",
            "/products/1/builds/2/asset",
        ],
    )
    @pytest.mark.parametrize("accept", ["image/png", "image/*", "application/octet-stream"])
    async def test_binary_endpoints_take_their_media_type(self, gateway, path, accept):
        # Logos, screenshots and build assets are images and files, not JSON: browsers
        # and the reference UI ask for them with Accept: image/png and got 406.
        async with gateway.http.get(path, headers={"Accept": accept}) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        assert (body["service"], body["path"]) == ("catalog", path)

    @pytest.mark.parametrize("path", ["/products/1", "/products/1/screenshots", "/products/1/builds/2"])
    async def test_json_resources_beside_them_stay_json_only(self, gateway, path):
        async with gateway.http.get(path, headers={"Accept": "image/png"}) as resp:
            assert resp.status == 406

    @pytest.mark.parametrize(
        "path", ["/sessions?code=x", "/identity_providers/1/redirect", "/docs", "/session"]
    )
    async def test_browser_targets_are_exempt(self, gateway, path):
        async with gateway.http.get(path, headers={"Accept": "text/html"}) as resp:
            assert resp.status == 200


class TestBodyLimit:
    async def test_declared_length_over_the_limit_is_413(self, start_gateway):
        gw = await start_gateway(max_body_bytes=10_000)
        async with gw.http.post("/products", data=b"x" * 10_001) as resp:
            assert resp.status == 413
            assert resp.content_type == "application/problem+json"
        async with gw.http.post("/products", data=b"x" * 10_000) as resp:
            assert resp.status == 200

    async def test_oversized_body_never_reaches_the_service(self, start_gateway):
        # The catalog address refuses connections: a 502 would mean the gateway tried it.
        gw = await start_gateway(max_body_bytes=10_000, catalog_url="http://127.0.0.1:9")
        async with gw.http.put("/products/1", data=b"x" * 50_000) as resp:
            assert resp.status == 413

    async def test_chunked_body_over_the_limit_is_413_before_the_service(self, start_gateway):
        gw = await start_gateway(max_body_bytes=10_000, catalog_url="http://127.0.0.1:9")

        async def chunks():
            for _ in range(30):
                yield b"y" * 1_000

        async with gw.http.post("/products", data=chunks()) as resp:
            assert resp.status == 413


class TestRateLimit:
    async def test_headers_on_every_limited_response(self, gateway):
        async with gateway.http.get("/users") as resp:
            assert resp.headers["RateLimit-Limit"] == "100000"
            assert int(resp.headers["RateLimit-Remaining"]) < 100000
            assert int(resp.headers["RateLimit-Reset"]) >= 0
        async with gateway.http.get("/healthz") as resp:
            assert "RateLimit-Limit" not in resp.headers

    async def test_burst_then_429_with_retry_after(self, start_gateway):
        gw = await start_gateway(rate_limit_per_minute=60, rate_limit_burst=3)
        statuses = []
        for _ in range(4):
            async with gw.http.get("/users") as resp:
                statuses.append(resp.status)
                last = resp
        assert statuses == [200, 200, 200, 429]
        assert last.headers["Retry-After"] == "1"
        assert last.headers["RateLimit-Remaining"] == "0"
        assert last.content_type == "application/problem+json"
        async with gw.http.get("/healthz") as resp:
            assert resp.status == 200
        await asyncio.sleep(1.05)  # one token per second at 60/min
        async with gw.http.get("/users") as resp:
            assert resp.status == 200

    async def test_sessions_have_their_own_buckets(self, start_gateway, identity):
        gw = await start_gateway(rate_limit_per_minute=60, rate_limit_burst=2)
        headers, _, _ = identity.bearer(["users.read"])
        # The first request of a new token is charged to the address (it is not verified yet).
        async with gw.http.get("/users", headers=headers) as resp:
            assert resp.status == 200
        async with gw.http.get("/users") as resp:
            assert resp.status == 200
        async with gw.http.get("/users") as resp:
            assert resp.status == 429
        for expected in (200, 200, 429):
            async with gw.http.get("/users", headers=headers) as resp:
                assert resp.status == expected
