"""The base application: probes, metrics, problem+json, request ids and the principal."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from hspm.common.auth import PRINCIPAL_HEADER, sign_assertion
from hspm.common.config import ServiceSettings
from hspm.common.errors import NotFound, ValidationFailed
from hspm.common.testing import TEST_INTERNAL_SECRET, as_headers, user
from hspm.common.web import create_base_app, json_response, principal_of, state_key
from hspm.common.web.app import REQUEST_ID_HEADER, context_middleware

SERVICE = "catalog"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def missing(_: web.Request) -> web.Response:
    raise NotFound("No such product.")


async def invalid(_: web.Request) -> web.Response:
    raise ValidationFailed({"name": ["must not be empty"]})


async def crash(_: web.Request) -> web.Response:
    password = "hunter2-in-a-local"  # noqa: F841 - must never reach the client
    raise RuntimeError("connection to postgresql://admin:hunter2@db failed")


async def whoami(request: web.Request) -> web.Response:
    p = principal_of(request)
    return json_response(
        {
            "kind": p.kind,
            "user_id": str(p.user_id) if p.user_id else None,
            "permissions": sorted(p.permissions),
        }
    )


async def moved(_: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere")


def build_app(*, trust_principal: bool = True) -> web.Application:
    settings = ServiceSettings(internal_secret=TEST_INTERNAL_SECRET, service_name=SERVICE)
    app = create_base_app(settings, SERVICE, trust_principal=trust_principal, tracing_enabled=False)
    app.router.add_get("/products/{id}", missing)
    app.router.add_post("/products", invalid)
    app.router.add_get("/crash", crash)
    app.router.add_get("/whoami", whoami)
    app.router.add_get("/moved", moved)
    return app


@pytest.fixture
async def client(aiohttp_client: Any) -> Any:
    return await aiohttp_client(build_app())


async def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["status"] == status
    assert body["request_id"] == response.headers[REQUEST_ID_HEADER]
    return body


class TestProbes:
    async def test_healthz(self, client: Any) -> None:
        response = await client.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"status": "ok"}

    async def test_readyz_when_every_check_passes(self, client: Any) -> None:
        async def ok() -> None:
            return None

        client.app[state_key].readiness.append(("database", ok))
        response = await client.get("/readyz")
        assert response.status == 200
        assert await response.json() == {"status": "ready", "checks": ["database"]}

    async def test_readyz_is_503_naming_the_failing_check(self, client: Any) -> None:
        async def ok() -> None:
            return None

        async def down() -> None:
            raise ConnectionError("broker at amqp://guest:guest@mq unreachable")

        client.app[state_key].readiness.extend([("database", ok), ("broker", down)])
        response = await client.get("/readyz")
        assert response.status == 503
        body = await response.json()
        assert body == {"status": "unready", "failures": {"broker": "ConnectionError"}}

    async def test_readyz_is_503_while_shutting_down(self, client: Any) -> None:
        client.app[state_key].shutting_down = True
        response = await client.get("/readyz")
        assert response.status == 503
        assert await response.json() == {"status": "stopping"}


class TestMetrics:
    async def test_requests_are_counted_by_route_template_and_status(self, client: Any) -> None:
        await client.get("/healthz")
        await client.get(f"/products/{uuid4()}")
        await client.get(f"/products/{uuid4()}")
        await client.get("/no/such/path")

        text = await (await client.get("/metrics")).text()
        assert (
            f'hspm_http_requests_total{{method="GET",route="/healthz",service="{SERVICE}",status="200"}} 1.0'
        ) in text
        assert (
            f'hspm_http_requests_total{{method="GET",route="/products/{{id}}",service="{SERVICE}",'
            'status="404"} 2.0'
        ) in text
        # Unknown paths share one label value, so scanners cannot blow up cardinality.
        assert 'route="unmatched"' in text
        assert "/no/such/path" not in text
        assert "hspm_http_request_duration_seconds_bucket" in text


class TestProblems:
    async def test_domain_error(self, client: Any) -> None:
        body = await problem(await client.get(f"/products/{uuid4()}"), 404)
        assert body | {"request_id": None} == {
            "type": "about:blank",
            "title": "Not found",
            "status": 404,
            "detail": "No such product.",
            "message": "No such product.",
            "request_id": None,
        }

    async def test_validation_failed_carries_field_errors(self, client: Any) -> None:
        body = await problem(await client.post("/products"), 422)
        assert body["errors"] == {"name": ["must not be empty"]}

    async def test_a_raised_redirect_is_counted_as_a_redirect(self, client: Any) -> None:
        # It was recorded as a 500 in metrics and logs, without a request id.
        response = await client.get("/moved", allow_redirects=False)
        assert response.status == 302
        assert GENERATED_ID.match(response.headers[REQUEST_ID_HEADER])
        metrics = await (await client.get("/metrics")).text()
        assert 'route="/moved",service="catalog",status="302"' in metrics
        assert 'route="/moved",service="catalog",status="500"' not in metrics

    async def test_unknown_path_is_404(self, client: Any) -> None:
        body = await problem(await client.get("/no/such/path"), 404)
        assert body["title"] == "Not found"  # same casing as NotFound raised by services

    async def test_wrong_method_is_405_and_keeps_allow(self, client: Any) -> None:
        response = await client.delete("/healthz")
        await problem(response, 405)
        assert "GET" in response.headers["Allow"]

    async def test_unhandled_exception_is_500_without_details(self, client: Any) -> None:
        response = await client.get("/crash")
        body = await problem(response, 500)
        text = await response.text()
        assert body["title"] == "Internal server error"
        for leak in ("Traceback", "RuntimeError", "hunter2", "postgresql://", "crash"):
            assert leak not in text
        assert GENERATED_ID.fullmatch(body["request_id"])


class TestRequestId:
    async def test_safe_incoming_id_is_echoed(self, client: Any) -> None:
        response = await client.get("/healthz", headers={REQUEST_ID_HEADER: "abc-123.XYZ_9"})
        assert response.headers[REQUEST_ID_HEADER] == "abc-123.XYZ_9"

    async def test_missing_id_is_generated(self, client: Any) -> None:
        response = await client.get("/healthz")
        assert GENERATED_ID.fullmatch(response.headers[REQUEST_ID_HEADER])

    @pytest.mark.parametrize(
        "hostile", ["x" * 500, "<script>alert(1)</script>", "a b", "id;rm -rf", "ünïcode", ""]
    )
    async def test_hostile_id_is_replaced(self, client: Any, hostile: str) -> None:
        response = await client.get(f"/products/{uuid4()}", headers={REQUEST_ID_HEADER: hostile})
        replaced = response.headers[REQUEST_ID_HEADER]
        assert GENERATED_ID.fullmatch(replaced)
        assert (await response.json(content_type=None))["request_id"] == replaced

    @pytest.mark.parametrize("hostile", ["abc\n", "abc\r\nSet-Cookie: a=b", "abc\nX-Evil: 1"])
    async def test_id_with_a_line_break_is_replaced(self, hostile: str) -> None:
        # An HTTP client cannot send these; a mocked request can, so the check is direct.
        app = build_app()
        request = make_mocked_request(
            "GET", "/healthz", headers={REQUEST_ID_HEADER: hostile}, app=app, match_info={}
        )

        async def handler(_: web.Request) -> web.Response:
            return web.Response()

        response = await context_middleware(request, handler)
        assert GENERATED_ID.fullmatch(response.headers[REQUEST_ID_HEADER])


class TestPrincipalMiddleware:
    async def test_valid_assertion_gives_the_principal(self, client: Any) -> None:
        me = user({"products.read"})
        response = await client.get("/whoami", headers=as_headers(me))
        assert response.status == 200
        assert await response.json() == {
            "kind": "user",
            "user_id": str(me.user_id),
            "permissions": ["products.read"],
        }

    async def test_no_assertion_is_anonymous(self, client: Any) -> None:
        response = await client.get("/whoami")
        assert await response.json() == {"kind": "anonymous", "user_id": None, "permissions": []}

    async def test_assertion_for_this_service_is_accepted(self, client: Any) -> None:
        me = user({"products.read"})
        header = sign_assertion(me, TEST_INTERNAL_SECRET, audience=SERVICE)
        response = await client.get("/whoami", headers={PRINCIPAL_HEADER: header})
        assert (await response.json())["user_id"] == str(me.user_id)

    async def test_assertion_for_another_service_is_401(self, client: Any) -> None:
        # Signed by the gateway, but for curation: the catalog must not act on it.
        header = sign_assertion(user({"everything.manage"}), TEST_INTERNAL_SECRET, audience="curation")
        response = await client.get("/whoami", headers={PRINCIPAL_HEADER: header})
        await problem(response, 401)

    async def test_forged_assertion_is_401(self, client: Any) -> None:
        forged = sign_assertion(user({"everything.manage"}), "forged-secret-" + "z" * 24, audience=SERVICE)
        response = await client.get("/whoami", headers={PRINCIPAL_HEADER: forged})
        await problem(response, 401)

    async def test_expired_assertion_is_401(self, client: Any) -> None:
        stale = sign_assertion(user(), TEST_INTERNAL_SECRET, ttl=-30, audience=SERVICE)
        response = await client.get("/whoami", headers={PRINCIPAL_HEADER: stale})
        await problem(response, 401)

    async def test_untrusting_app_ignores_the_header(self, aiohttp_client: Any) -> None:
        client = await aiohttp_client(build_app(trust_principal=False))
        response = await client.get("/whoami", headers=as_headers(user({"products.read"})))
        assert (await response.json())["kind"] == "anonymous"
