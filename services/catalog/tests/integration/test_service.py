"""The catalog starts, migrates and answers its probes."""

from __future__ import annotations


async def test_ready(catalog) -> None:
    r = await catalog.get("/readyz")
    assert r.status == 200, r
    assert r.body["checks"] == ["database", "broker"]


async def test_openapi_lists_the_areas(catalog) -> None:
    r = await catalog.get("/openapi.json")
    assert r.status == 200
    assert r.body["openapi"] == "3.1.0"
