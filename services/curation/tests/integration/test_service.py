"""Curation starts, migrates, seeds its policy and answers its probes."""

from __future__ import annotations

from openapi_spec_validator import validate


async def test_ready(curation) -> None:
    r = await curation.get("/readyz")
    assert r.status == 200, r
    assert r.body["checks"] == ["database", "broker"]


async def test_openapi_lists_every_area(curation) -> None:
    r = await curation.get("/openapi.json")
    assert r.status == 200
    validate(r.body)
    paths = set(r.body["paths"])
    assert {
        "/reviews",
        "/reviews/{case_id}",
        "/reviews/{case_id}/provenance",
        "/reviews/{case_id}/decisions",
        "/products/{product_id}/builds/{build_id}/validations",
        "/products/{product_id}/builds/{build_id}/validations/{run_id}",
        "/validation_policy",
        "/validation_policy/exceptions",
        "/validation_policy/exceptions/{exception_id}",
        "/recalls",
        "/recalls/{recall_id}",
    } <= paths
