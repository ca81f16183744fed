"""The web UI with scripts off, over plain HTTP through the gateway: pages render from the
API, forms need their CSRF token, hostile names are escaped, errors become pages, and the
session cookie holds nothing a script or a reader could use."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest_asyncio

from hspm.common.testing import unique
from hspm.devstack.api import GatewayApi
from hspm.devstack.stack import Stack
from tests.browser.ui import Browser

HOSTILE = '<script>alert("owned")</script><img src=x onerror=alert(1)>'


@pytest_asyncio.fixture
async def visitor(stack: Stack) -> AsyncIterator[Browser]:
    browser = Browser(stack.config.gateway_url)
    yield browser
    await browser.close()


async def _api(stack: Stack, tokens: dict[str, str]) -> tuple[GatewayApi, Browser]:
    browser = Browser(stack.config.gateway_url)
    return GatewayApi(browser.http, stack.config.gateway_url, dict(tokens)), browser


class TestPublicPages:
    async def test_the_catalog_lists_the_demo_products_with_their_facets(self, visitor: Browser) -> None:
        status, html, resp = await visitor.get("/ui/")
        assert status == 200 and resp.content_type == "text/html"
        assert "Sepsis Watch" in html
        assert "<h2>Technology</h2>" in html and "<h2>License</h2>" in html
        assert "<script" not in html.split("</head>", 1)[1]  # no script in the body: it reads without one

    async def test_a_facet_link_narrows_the_results(self, visitor: Browser) -> None:
        _, html, _ = await visitor.get("/ui/")
        everything = int(re.search(r"(\d+) products?</p>", html).group(1))  # type: ignore[union-attr]
        link = re.search(r'href="(/ui/\?[^"]*mime_type=application%2Fx-cds-hooks[^"]*)"', html)
        assert link is not None
        _, narrowed, _ = await visitor.get(link.group(1).replace("&amp;", "&"))
        count = int(re.search(r"(\d+) products?</p>", narrowed).group(1))  # type: ignore[union-attr]
        assert 0 < count < everything
        assert 'aria-current="true"' in narrowed

    async def test_the_product_page_shows_the_label(self, visitor: Browser, stack: Stack) -> None:
        _, html, _ = await visitor.get("/ui/?q=Sepsis+Watch")
        product = re.search(r'href="(/ui/products/[0-9a-f-]{36})">Sepsis Watch<', html)
        assert product is not None
        status, page, _ = await visitor.get(product.group(1))
        assert status == 200
        for heading in (
            "Product facts",
            "Offered by",
            "Licensing and pricing",
            "Technology",
            "Compatibility requirements",
            "Versions",
        ):
            assert heading in page
        build = re.search(r'href="(/ui/products/[0-9a-f-]{36}/builds/[0-9a-f-]{36})"', page)
        assert build is not None
        status, label, _ = await visitor.get(build.group(1))
        assert status == 200 and "Build label" in label and "sha256:" in label
        assert "Configurations and tasks" in label

    async def test_unknown_and_malformed_ids_are_not_found_pages(self, visitor: Browser) -> None:
        for path in ("/ui/products/3fa85f64-5717-4562-b3fc-2c963f66afa6", "/ui/products/..%2F..%2Fusers"):
            status, html, resp = await visitor.get(path)
            assert status == 404 and resp.content_type == "text/html", path
            assert "Not found" in html

    async def test_a_signed_in_page_sends_an_anonymous_visitor_to_sign_in_and_back(
        self, visitor: Browser
    ) -> None:
        status, _, resp = await visitor.get("/ui/platforms", allow_redirects=False)
        assert status == 303
        assert resp.headers["Location"] == "/ui/login?next=%2Fui%2Fplatforms"


class TestSessionsAndForms:
    async def test_signing_in_sets_only_an_opaque_http_only_cookie(self, visitor: Browser) -> None:
        await visitor.sign_in("isv")
        cookies = {c.key: c for c in visitor.http.cookie_jar}
        session = cookies["hspm_web"]
        assert session["httponly"] and session["samesite"] == "Lax" and session["path"] == "/ui"
        assert "eyJ" not in session.value  # no JWT, not even base64 of one
        _, html, _ = await visitor.get("/ui/vendor")
        assert "<h1>My products</h1>" in html and "Ivan Vendor" in html

    async def test_a_form_without_its_token_is_refused_and_changes_nothing(
        self, visitor: Browser, stack: Stack, tokens: dict[str, str]
    ) -> None:
        await visitor.sign_in("isv")
        name = unique("Forged")
        status, html, _ = await visitor.post("/ui/vendor/products", {"name": name})
        assert status == 403 and "did not come from this site" in html
        status, _, _ = await visitor.post("/ui/vendor/products", {"name": name, "csrf": "0" * 64})
        assert status == 403
        api, other = await _api(stack, tokens)
        try:
            found = await api.get(f"/products?name={name}", "isv")
        finally:
            await other.close()
        assert found["results"] == []

    async def test_a_token_from_another_session_does_not_pass(self, visitor: Browser, stack: Stack) -> None:
        await visitor.sign_in("isv")
        stranger = Browser(stack.config.gateway_url)
        try:
            their_token = await stranger.csrf("/ui/login/done")
        finally:
            await stranger.close()
        status, _, _ = await visitor.post(
            "/ui/vendor/products", {"name": unique("Forged"), "csrf": their_token}
        )
        assert status == 403

    async def test_api_field_errors_are_shown_at_their_fields(self, visitor: Browser) -> None:
        await visitor.sign_in("isv")
        status, html, _ = await visitor.submit(
            "/ui/vendor/products/new",
            "/ui/vendor/products",
            {"name": unique("Bad url"), "support_url": "not a url"},
        )
        assert status == 422
        field = re.search(
            r'<input id="f-support_url"[^>]*aria-invalid="true"[^>]*aria-describedby="e-support_url"', html
        )
        assert field is not None
        assert re.search(r'<p class="field-error" id="e-support_url">[^<]+</p>', html)

    async def test_hostile_product_names_are_escaped_everywhere(self, visitor: Browser) -> None:
        await visitor.sign_in("isv")
        name = unique(HOSTILE)
        status, html, resp = await visitor.submit(
            "/ui/vendor/products/new", "/ui/vendor/products", {"name": name}
        )
        assert status == 200 and "/ui/vendor/products/" in resp.url.path, html[:500]
        for page in (str(resp.url.path), "/ui/vendor"):
            _, html, _ = await visitor.get(page)
            assert HOSTILE not in html
            assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html

    async def test_signing_out_revokes_the_token(self, visitor: Browser) -> None:
        await visitor.sign_in("customer")
        status, _, resp = await visitor.submit("/ui/platforms", "/ui/logout", {})
        assert status == 200 and resp.url.path == "/ui/"
        status, _, _ = await visitor.get("/ui/platforms", allow_redirects=False)
        assert status == 303

    async def test_pages_say_not_to_cache_and_not_to_frame(self, visitor: Browser) -> None:
        _, _, resp = await visitor.get("/ui/")
        assert resp.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


class TestRedirects:
    async def test_sign_in_never_returns_to_another_site(self, visitor: Browser) -> None:
        for target in ("https://evil.example/", "//evil.example/ui/", "/ui\\@evil.example", "/products"):
            await visitor.get(f"/ui/login?next={target}")
            kept = {c.key: c.value for c in visitor.http.cookie_jar}["hspm_next"]
            assert kept == "/ui/", target
        await visitor.get("/ui/login?next=/ui/platforms")
        assert {c.key: c.value for c in visitor.http.cookie_jar}["hspm_next"] == "/ui/platforms"


def _png() -> bytes:
    """A small valid PNG, made here (no fixture file)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (11, 92, 173)).save(out, format="PNG")
    return out.getvalue()


class TestVendorUploads:
    async def _product(self, visitor: Browser) -> str:
        await visitor.sign_in("isv")
        _, _, resp = await visitor.submit(
            "/ui/vendor/products/new", "/ui/vendor/products", {"name": unique("Uploads")}
        )
        assert re.fullmatch(r"/ui/vendor/products/[0-9a-f-]{36}", resp.url.path)
        return resp.url.path

    async def test_a_logo_and_a_screenshot_upload(self, visitor: Browser) -> None:
        page = await self._product(visitor)
        for fields in ({"kind": "logo"}, {"kind": "screenshot", "caption": "The risk card"}):
            form = aiohttp.FormData({**fields, "csrf": await visitor.csrf(page)})
            form.add_field("image", _png(), filename="shot.png", content_type="image/png")
            status, html, _ = await visitor.post(f"{page}/images", form)
            assert status == 200, html[:300]
        _, html, _ = await visitor.get(page.replace("/vendor", ""))
        assert "The risk card" in html and "/logo/medium" in html

    async def test_a_broken_marketplace_json_shows_its_errors_and_makes_no_build(
        self, visitor: Browser
    ) -> None:
        page = await self._product(visitor)
        document = orjson.dumps({"product": {"facts": {"name": 5}}, "configuration": "not a list"})
        form = aiohttp.FormData({"csrf": await visitor.csrf(page), "submit": "yes"})
        form.add_field("document", document, filename="marketplace.json", content_type="application/json")
        status, html, _ = await visitor.post(f"{page}/builds/import", form)
        assert status == 422
        problems = html.split("Or upload a marketplace.json", 1)[1]
        assert 'role="alert"' in problems and "<li><a href=" in problems
        _, after, _ = await visitor.get(page)
        assert "No build yet." in after


class TestDeviceSignIn:
    async def test_a_person_approves_a_command_line_which_then_gets_a_session(
        self, visitor: Browser, stack: Stack
    ) -> None:
        started = await _anonymous_post(stack, "/device_authorizations", {"client_name": "ci-runner <7>"})
        await visitor.sign_in("customer")
        _, html, _ = await visitor.get(f"/ui/device?user_code={started['user_code']}")
        assert started["user_code"] in html and "Approve" in html
        assert "ci-runner &lt;7&gt;" in html  # the client's own name, escaped
        status, html, _ = await visitor.submit(
            "/ui/device", "/ui/device", {"user_code": started["user_code"], "decision": "approve"}
        )
        assert status == 200 and "You approved" in html
        token = await _anonymous_post(
            stack, "/device_authorizations/token", {"device_code": started["device_code"]}
        )
        assert token["jwt"]

    async def test_an_unknown_code_is_a_clear_not_found(self, visitor: Browser) -> None:
        await visitor.sign_in("customer")
        status, html, _ = await visitor.get("/ui/device?user_code=ZZZZ-ZZZZ")
        assert status == 404 and "unknown, used or expired" in html
        status, html, _ = await visitor.submit(
            "/ui/device", "/ui/device", {"user_code": "ZZZZ-ZZZZ", "decision": "approve"}
        )
        assert status == 404 and "unknown, used or expired" in html


async def _anonymous_post(stack: Stack, path: str, body: dict[str, str]) -> dict[str, str]:
    async with aiohttp.ClientSession() as http, http.post(stack.config.gateway_url + path, json=body) as resp:
        assert resp.status in (200, 201), (resp.status, await resp.text())
        return dict(await resp.json())


class TestOperatorForms:
    async def test_a_recall_the_api_refuses_is_shown_at_its_fields(
        self, visitor: Browser, stack: Stack, tokens: dict[str, str]
    ) -> None:
        api, other = await _api(stack, tokens)
        try:
            product = await api.ok("POST", "/products", "isv", {"name": unique("Recalled")})
        finally:
            await other.close()
        await visitor.sign_in("operator")
        fields = {"product_id": product["id"], "versions": "<1.0.0", "severity": "low"}
        status, html, _ = await visitor.submit("/ui/operator/recalls", "/ui/operator/recalls", fields)
        assert status == 422 and re.search(r'id="e-reason">[^<]+<', html)
        status, html, _ = await visitor.submit(
            "/ui/operator/recalls", "/ui/operator/recalls", fields | {"reason": "A test recall."}
        )
        assert status == 422
        assert re.search(r'id="e-versions">matches no published or deprecated build', html)
        assert f'value="{product["id"]}"' in html  # what was typed stays in the form


class TestVendorEdits:
    async def test_a_product_is_edited_and_a_bad_value_is_kept_with_its_error(self, visitor: Browser) -> None:
        await visitor.sign_in("isv")
        _, _, made = await visitor.submit(
            "/ui/vendor/products/new", "/ui/vendor/products", {"name": unique("Edit")}
        )
        page = made.url.path
        renamed = unique("Edited")
        status, html, resp = await visitor.submit(f"{page}/edit", page, {"name": renamed, "locale": "en-GB"})
        assert status == 200 and resp.url.path == page and f"<h1>{renamed}</h1>" in html
        status, html, _ = await visitor.submit(
            f"{page}/edit", page, {"name": renamed, "support_url": "ftp:/x"}
        )
        assert status == 422 and 'value="ftp:/x"' in html and 'id="e-support_url"' in html
