"""Routing: every public prefix reaches its owner; the gateway's own answers."""

from __future__ import annotations

import asyncio
import hashlib

import aiohttp
import pytest

from hspm.gateway import keys

OWNERS = [
    ("/users", "identity"),
    ("/users/123", "identity"),
    ("/users/123/identities", "identity"),
    ("/users/123/platforms", "notifier"),
    ("/users/123/platforms/9/instances", "notifier"),
    ("/groups/1/members", "identity"),
    ("/roles", "identity"),
    ("/identity_providers/1", "identity"),
    ("/identity_providers/1/redirect", "identity"),
    ("/sessions", "identity"),
    ("/session", "identity"),
    ("/.well-known/jwks.json", "identity"),
    ("/api_tokens/5", "identity"),
    ("/products", "catalog"),
    ("/products/1/builds/2", "catalog"),
    # Documented in the catalog's API, but the gateway had no rule for it (404).
    ("/marketplace/validate", "catalog"),
    ("/products/1/builds/2/validations", "curation"),
    ("/products/1/builds/2/validations/3", "curation"),
    ("/products/1/licenses", "licensing"),
    ("/products/1/licenses/4", "licensing"),
    ("/interfaces/1/surrogates", "catalog"),
    ("/sub_products", "catalog"),
    ("/badges", "catalog"),
    ("/reviews/1", "curation"),
    ("/recalls", "curation"),
    ("/validation_policy", "curation"),
    ("/validation_policy/exceptions/7", "curation"),
    ("/licenses", "licensing"),
    ("/entitlements/1/claims", "licensing"),
    ("/vouchers", "licensing"),
    ("/attempts", "licensing"),
    ("/authorizations/users/1/products/2", "licensing"),
    ("/platforms", "notifier"),
    ("/instances/3", "notifier"),
]


class TestRouting:
    @pytest.mark.parametrize(("path", "service"), OWNERS)
    async def test_prefix_reaches_its_owner(self, gateway, path, service):
        async with gateway.http.get(path + "?page=2&per_page=5") as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        if path == "/.well-known/jwks.json":
            assert "keys" in body
            return
        assert body["service"] == service
        assert body["path"] == path
        assert body["query"] == "page=2&per_page=5"

    async def test_status_is_answered_by_identity(self, gateway):
        async with gateway.http.get("/status") as resp:
            body = await resp.json()
        assert resp.status == 200
        assert body["message"].startswith("This application server")
        assert "identity" not in body

    async def test_root_says_api_only(self, gateway):
        async with gateway.http.get("/") as resp:
            assert resp.status == 200
            assert await resp.json() == {
                "message": "This product provides an API only and does not offer a "
                "built-in graphical interface."
            }

    async def test_unknown_path_is_404_problem(self, gateway):
        async with gateway.http.get("/nothing/here") as resp:
            assert resp.status == 404
            assert resp.content_type == "application/problem+json"
            assert (await resp.json())["status"] == 404

    async def test_a_prefix_matches_whole_segments_only(self, gateway):
        async with gateway.http.get("/usersx") as resp:
            assert resp.status == 404

    async def test_internal_api_is_not_public(self, gateway):
        async with gateway.http.get("/internal/sessions/abc") as resp:
            assert resp.status == 404

    @pytest.mark.parametrize(
        "raw", ["/users/../internal/sessions/x", "/users/%2e%2e/internal/sessions/x", "/users/./x"]
    )
    async def test_dot_segments_cannot_escape_the_table(self, gateway, raw):
        host, port = gateway.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {raw} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        assert b" 404 " in status_line

    async def test_unconfigured_service_is_503(self, gateway):
        async with gateway.http.get("/ui/products") as resp:
            assert resp.status == 503
            assert (await resp.json())["message"] == "The web service is not available."

    async def test_refused_upstream_is_502(self, start_gateway):
        gw = await start_gateway(catalog_url="http://127.0.0.1:9")
        async with gw.http.get("/products") as resp:
            assert resp.status == 502
            assert resp.content_type == "application/problem+json"

    async def test_slow_upstream_is_504(self, gateway):
        async with gateway.http.get("/users/slow?delay=3") as resp:
            assert resp.status == 504


class TestRelay:
    async def test_method_and_body_are_forwarded(self, gateway):
        payload = b'{"product": {"name": "x"}}'
        async with gateway.http.patch(
            "/products/1", data=payload, headers={"Content-Type": "application/json"}
        ) as resp:
            body = await resp.json()
        assert body["method"] == "PATCH"
        assert body["body_length"] == len(payload)
        assert body["headers"]["Content-Type"] == "application/json"

    async def test_large_body_streams_intact(self, gateway):
        payload = bytes(range(256)) * 3000  # 768 KB: over the buffered threshold
        async with gateway.http.post("/products", data=payload) as resp:
            body = await resp.json()
        assert body["body_length"] == len(payload)
        assert body["body_sha256"] == hashlib.sha256(payload).hexdigest()

    async def test_chunked_body_under_the_limit_is_forwarded(self, gateway):
        async def chunks():
            for _ in range(10):
                yield b"x" * 10_000

        async with gateway.http.post("/products", data=chunks()) as resp:
            assert (await resp.json())["body_length"] == 100_000

    async def test_large_response_streams_intact(self, gateway):
        size = 3 * 1024 * 1024
        async with gateway.http.get(f"/users/big?size={size}") as resp:
            data = await resp.read()
        assert resp.status == 200
        assert len(data) == size

    async def test_head_is_relayed_without_body(self, gateway):
        async with gateway.http.head("/users/1") as resp:
            assert resp.status == 200
            assert await resp.read() == b""

    async def test_created_location_points_at_the_gateway(self, gateway):
        async with gateway.http.post("/products/created", json={}) as resp:
            assert resp.status == 201
            assert resp.headers["Location"] == f"{gateway.url}/products/new"

    async def test_edge_headers_do_not_reach_services(self, gateway):
        headers = {
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "X-Forwarded-For": "6.6.6.6",
            "Forwarded": "for=6.6.6.6",
            "X-Custom": "kept",
        }
        async with gateway.http.get("/users", headers=headers) as resp:
            seen = (await resp.json())["headers"]
        assert "X-Secret-Hop" not in seen
        assert "Forwarded" not in seen
        assert seen["X-Forwarded-For"] == "127.0.0.1"
        assert seen["X-Forwarded-Proto"] == "http"
        assert seen["X-Forwarded-Host"] == gateway.url.removeprefix("http://")
        assert seen["X-Custom"] == "kept"

    async def test_accept_encoding_is_the_clients_own(self, gateway):
        async with gateway.http.get("/users", skip_auto_headers=["Accept-Encoding"]) as resp:
            seen = (await resp.json())["headers"]
        assert "Accept-Encoding" not in seen


class TestRequestIds:
    async def test_client_request_id_is_forwarded_and_returned(self, gateway):
        async with gateway.http.get("/users", headers={"X-Request-ID": "abc-123"}) as resp:
            seen = (await resp.json())["headers"]
            assert resp.headers["X-Request-ID"] == "abc-123"
        assert seen["X-Request-ID"] == "abc-123"

    async def test_missing_request_id_is_generated(self, gateway):
        async with gateway.http.get("/users") as resp:
            seen = (await resp.json())["headers"]
            returned = resp.headers["X-Request-ID"]
        assert len(returned) == 32
        assert seen["X-Request-ID"] == returned

    async def test_unsafe_request_id_is_replaced(self, gateway):
        async with gateway.http.get("/users", headers={"X-Request-ID": "bad id\twith spaces"}) as resp:
            assert resp.headers["X-Request-ID"] != "bad id\twith spaces"

    async def test_streamed_and_error_responses_carry_the_id(self, gateway):
        async with gateway.http.get("/users/big?size=2000000", headers={"X-Request-ID": "r1"}) as resp:
            await resp.read()
            assert resp.headers["X-Request-ID"] == "r1"
        async with gateway.http.get("/nope", headers={"X-Request-ID": "r2"}) as resp:
            assert resp.headers["X-Request-ID"] == "r2"
            assert (await resp.json())["request_id"] == "r2"


class TestOperations:
    async def test_ready_when_broker_and_identity_answer(self, gateway):
        async with gateway.http.get("/readyz") as resp:
            body = await resp.json()
        assert resp.status == 200
        assert set(body["checks"]) == {"identity", "broker"}

    async def test_not_ready_without_identity(self, start_gateway):
        gw = await start_gateway(identity_url="http://127.0.0.1:9")
        async with gw.http.get("/readyz") as resp:
            assert resp.status == 503
            assert "identity" in (await resp.json())["failures"]

    async def test_metrics_are_not_public(self, gateway, identity):
        # The gateway is the one published service: its /metrics (routes, traffic, error
        # rates) is for the operators' scraper, not for anyone on the internet.
        admin, _, _ = identity.bearer(["everything.manage"])
        for headers in ({}, admin):
            async with gateway.http.get("/metrics", headers=headers) as resp:
                assert resp.status == 404
                assert "hspm_http_requests_total" not in await resp.text()

    async def test_metrics_are_served_on_the_internal_listener(self, start_gateway):
        gw = await start_gateway(metrics_port=0)
        async with gw.http.get("/users") as resp:
            assert resp.status == 200
        url = gw.app[keys.metrics_url]
        assert url != gw.url
        async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
        assert "hspm_http_requests_total" in text
        assert 'route="/users"' in text
        # Nothing else is served there.
        async with aiohttp.ClientSession() as http, http.get(url + "/users") as resp:
            assert resp.status == 404

    async def test_no_metrics_listener_unless_configured(self, gateway):
        assert keys.metrics_url not in gateway.app


class TestIsolation:
    async def test_upstream_cookies_are_never_replayed_for_other_clients(self, gateway):
        async with gateway.http.post("/products/created", json={}) as resp:
            assert resp.status == 201
            assert "upstream=1" in resp.headers["Set-Cookie"]
        async with aiohttp.ClientSession() as stranger, stranger.get(gateway.url + "/users") as resp:
            seen = (await resp.json())["headers"]
        assert "Cookie" not in seen

    async def test_trace_context_is_passed_on(self, gateway):
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        async with gateway.http.get("/users", headers={"traceparent": parent}) as resp:
            seen = (await resp.json())["headers"]
        assert seen["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"

    async def test_head_keeps_the_upstream_length(self, gateway):
        async with gateway.http.get("/.well-known/jwks.json") as resp:
            length = resp.headers["Content-Length"]
        async with gateway.http.head("/.well-known/jwks.json") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Length"] == length
