"""SQL injection attempts in query parameters, path ids and bodies, through the gateway.

Every value is a parameter of its query, never part of its text: an attempt finds nothing,
is refused by validation, or is stored verbatim, and the tables it names are still there.
Text PostgreSQL cannot store (U+0000) is the client's error, not the service's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio

from .conftest import Hostile

ATTEMPTS = [
    "1' OR '1'='1",
    "'; DROP TABLE products; --",
    '" OR ""="',
    "1) OR (1=1",
    "%' OR 1=1 --",
    "\\'; DELETE FROM builds; --",
    "1 UNION SELECT id, name FROM users --",
]
IDS = ATTEMPTS[:2] + ["1 OR 1=1", "00000000-0000-4000-8000-000000000000' OR '1'='1"]


def q(value: str) -> str:
    return quote(value, safe="")


async def status_and_body(
    hostile: Hostile, method: str, path: str, persona: str, **kw: Any
) -> tuple[int, Any]:
    async with hostile.http.request(
        method, hostile.base + path, headers=hostile.headers(persona), **kw
    ) as resp:
        assert resp.status < 500, (method, path, persona, resp.status, await resp.text())
        body = await resp.json(content_type=None) if "json" in resp.content_type else await resp.text()
        if resp.status >= 400:
            assert resp.content_type == "application/problem+json", (path, resp.content_type)
        return resp.status, body


@pytest_asyncio.fixture(scope="module")
async def sepsis_watch(hostile: Hostile) -> AsyncIterator[dict[str, Any]]:
    """The demo's published product as the public reads it, before and after every attempt."""
    before = await hostile.read(f"/products/{hostile.product_id}", None)
    yield before
    assert await hostile.read(f"/products/{hostile.product_id}", None) == before
    build = await hostile.read(f"/products/{hostile.product_id}/builds/{hostile.published_build_id}", None)
    assert build["status"] == "published"


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_filters_and_search_text_find_nothing_and_drop_nothing(
    hostile: Hostile, sepsis_watch: dict[str, Any], attempt: str
) -> None:
    status, listed = await status_and_body(hostile, "GET", f"/products?name={q(attempt)}", "anonymous")
    assert (status, listed["results"], listed["total_entries"]) == (200, [], 0)
    # Search text is words to look for: an attempt finds what its words find, and never a
    # record the caller may not see.
    status, found = await status_and_body(
        hostile,
        "POST",
        "/products/search",
        "customer",
        json={"text": attempt, "facets": True, "per_page": 100},
    )
    assert status == 200, found
    public = {p["id"] async for p in hostile.api.each("/products", "customer")}
    assert {p["id"] for p in found["results"]} <= public
    for path, persona in (
        (f"/users?name={q(attempt)}", "operator"),
        (f"/platforms?name={q(attempt)}", "customer"),
        (f"/licenses?name={q(attempt)}", "operator"),
        (f"/interfaces?name={q(attempt)}", "anonymous"),
    ):
        status, body = await status_and_body(hostile, "GET", path, persona)
        assert status == 422 or (status == 200 and body["results"] == []), (path, status, body)
    # The table the attempt names is still there, with its rows.
    again = await hostile.api.find("/products?name=Sepsis%20Watch", None)
    assert again is not None and again["id"] == sepsis_watch["id"]


@pytest.mark.parametrize("attempt", ATTEMPTS)
@pytest.mark.parametrize(
    ("collection", "persona"),
    [
        ("/products", "anonymous"),
        ("/users", "operator"),
        ("/entitlements", "customer"),
        ("/reviews", "operator"),
    ],
)
async def test_sort_order_and_enum_filters_are_refused(
    hostile: Hostile, collection: str, persona: str, attempt: str
) -> None:
    """ORDER BY cannot take a parameter: sort and order are checked against their lists."""
    for param in ("sort", "order"):
        status, body = await status_and_body(hostile, "GET", f"{collection}?{param}={q(attempt)}", persona)
        assert status == 422 and param in body["errors"], (collection, param, body)
    status, body = await status_and_body(hostile, "GET", f"/reviews?state={q(attempt)}", "operator")
    assert status == 422 and "state" in body["errors"]


@pytest.mark.parametrize("attempt", IDS)
async def test_ids_in_paths_and_filters_name_no_record(hostile: Hostile, attempt: str) -> None:
    for path, persona in (
        (f"/products/{q(attempt)}", "anonymous"),
        (f"/products/{hostile.product_id}/builds/{q(attempt)}", "isv"),
        (f"/users/{q(attempt)}", "operator"),
        (f"/platforms/{q(attempt)}", "customer"),
        (f"/entitlements/{q(attempt)}", "customer"),
        (f"/reviews/{q(attempt)}", "operator"),
        (f"/instances/{q(attempt)}", "customer"),
    ):
        status, _ = await status_and_body(hostile, "GET", path, persona)
        assert status in (404, 422), (path, status)
        status, _ = await status_and_body(hostile, "DELETE", path, persona)
        assert status in (401, 403, 404, 405, 422), (path, status)
    status, body = await status_and_body(hostile, "GET", f"/entitlements?product_id={q(attempt)}", "customer")
    assert status == 422 and "product_id" in body["errors"]


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_bodies_are_stored_verbatim(
    hostile: Hostile, sepsis_watch: dict[str, Any], attempt: str
) -> None:
    status, made = await status_and_body(
        hostile, "POST", "/products", "isv", json={"name": f"Hostile {attempt}", "description": attempt}
    )
    assert status == 201, made
    try:
        assert (made["name"], made["description"]) == (f"Hostile {attempt}", attempt)
        status, shown = await status_and_body(hostile, "GET", f"/products/{made['id']}", "isv")
        assert (shown["name"], shown["description"]) == (f"Hostile {attempt}", attempt)
        status, platform = await status_and_body(
            hostile, "POST", "/platforms", "customer", json={"name": attempt}
        )
        assert status == 201 and platform["name"] == attempt, platform
        await status_and_body(hostile, "DELETE", f"/platforms/{platform['id']}", "customer")
    finally:
        await status_and_body(hostile, "DELETE", f"/products/{made['id']}", "isv")


@pytest.mark.parametrize(
    ("method", "path", "persona", "body"),
    [
        ("GET", "/products?name=a%00b", "anonymous", None),
        ("GET", "/users?name=a%00b", "operator", None),
        ("POST", "/products", "isv", {"name": "Hostile a\u0000b"}),
        ("POST", "/platforms", "customer", {"name": "Hostile a\u0000b"}),
        (
            "POST",
            "/interfaces",
            "operator",
            {"name": "Hostile a\u0000b", "uri": "urn:hostile", "version": "1"},
        ),
    ],
)
async def test_a_nul_character_is_422_and_stores_nothing(
    hostile: Hostile, method: str, path: str, persona: str, body: Any
) -> None:
    status, answer = await status_and_body(hostile, method, path, persona, json=body)
    assert status == 422 and "U+0000" in answer["detail"], answer
    if body is not None:
        collection = path + ("?name=Hostile%20a" if path != "/platforms" else "")
        status, listed = await status_and_body(hostile, "GET", collection, persona)
        assert all("\u0000" not in str(r.get("name", "")) for r in listed["results"])
