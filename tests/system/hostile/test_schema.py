"""Generated hostile input for every operation of the gateway's OpenAPI document.

Every operation, as every persona: schema-valid and schema-violating requests built
from the document by schemathesis. No answer may be a 5xx, and every answer must be one
the document describes (status, content type, body, headers). Path ids are generated,
so they name no record and nothing of the demo catalog can be changed or deleted;
records the generated creates make are deleted again by their maker.
"""

from __future__ import annotations

import asyncio

from .conftest import PERSONAS, Hostile
from .fuzz import exercise_all

# Operations that act on the caller itself or on the whole marketplace, whatever the
# input: sent here, they would end the personas' sessions or change every later run.
SKIPPED = {
    ("DELETE", "/session"): "logs the caller out: the persona's token would be revoked",
    ("DELETE", "/sessions"): "logs the caller out: the persona's token would be revoked",
    ("PUT", "/validation_policy"): "replaces the policy every later validation runs under",
    ("GET", "/websocket"): "an upgrade, not a request (test_socket_frames.py)",
}


async def test_every_operation_as_every_persona_answers_as_documented(hostile: Hostile) -> None:
    doc = await hostile.api.get("/openapi.json", None)
    operations = {
        (method.upper(), path)
        for path, ops in doc["paths"].items()
        for method in ops
        if method != "parameters"
    }
    assert set(SKIPPED) <= operations, "a skipped operation is no longer in the document"
    personas = {persona: hostile.headers(persona) for persona in PERSONAS}
    outcome = await asyncio.to_thread(exercise_all, doc, hostile.base, personas, SKIPPED)
    for persona, path in outcome.created:
        async with hostile.http.delete(hostile.base + path, headers=personas[persona]) as resp:
            assert resp.status in (200, 204, 404), (persona, path, resp.status, await resp.text())
    assert {tuple(label.split(" ", 1)) for label in outcome.operations} == operations - set(SKIPPED)
    assert outcome.sent >= len(outcome.operations) * len(PERSONAS)
    assert outcome.failures == []
    # The demo catalog is as it was: the access matrix and the flows read it next.
    build = await hostile.read(f"/products/{hostile.product_id}/builds/{hostile.published_build_id}", None)
    assert build["status"] == "published"
