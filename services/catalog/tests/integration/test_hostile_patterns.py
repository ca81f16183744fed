"""Issue 9, denial of service: user-supplied regular expressions never freeze the catalog.

Each attack runs as a task while cheap ``GET /products`` requests are sent back to back,
the next as soon as the previous is answered, until the attack's answer is in: whenever
the attack holds the event loop, some cheap request is waiting through it. Each cheap
request must be answered within 100 ms of being sent (the brief's deadline form of the
ordering check; a local GET takes a few milliseconds even on a loaded 2-core machine).
"Still running" is no usable signal here: the attack's task finishes only after its
response is read, so a cheap request answered right after a blocking attack would see
the task as not done yet.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable
from importlib import resources
from typing import Any
from uuid import UUID

import orjson
import pytest

from hspm.catalog.builds import rules
from hspm.catalog.marketplace import schema

EVIL = "(a+)+$"
# 26 characters and a mismatch: about 2 s of backtracking in Python's re (40 is hours).
EVIL_DEFAULT = "a" * 26 + "!"
DEADLINE = 0.1


async def answered_meanwhile(catalog: Any, attack: Awaitable[Any]) -> Any:
    """Run ``attack``; every cheap request sent meanwhile is answered within 100 ms."""
    await catalog.get("/products")  # warm: a pooled connection, compiled routes
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(attack)
    while True:
        sent = loop.time()
        cheap = await catalog.get("/products")
        elapsed = loop.time() - sent
        assert cheap.status == 200, cheap
        assert elapsed < DEADLINE, f"GET /products waited {elapsed:.3f}s for the attack"
        if task.done():
            return task.result()


async def draft_task(catalog: Any) -> str:
    pid = await catalog.sql_product(catalog.isv)
    b = await catalog.post(f"/products/{pid}/builds", catalog.isv, {"build": {"version": "1.0.0"}})
    c = await catalog.post(b.body["path"] + "/configurations", catalog.isv, {"name": "web"})
    return str(c.body["path"]) + "/tasks"


async def test_regular_expression_dos_task_pattern_is_matched_by_re2(catalog: Any) -> None:
    url = await draft_task(catalog)
    env = [{"key": "A", "pattern": EVIL, "default": EVIL_DEFAULT}]
    r = await answered_meanwhile(catalog, catalog.post(url, catalog.isv, {"name": "web", "environment": env}))
    assert r.status == 422 and r.errors.keys() == {"environment.0.default"}, r
    env = [{"key": "A", "pattern": EVIL, "default": "a" * 40}]
    r = await answered_meanwhile(catalog, catalog.post(url, catalog.isv, {"name": "web", "environment": env}))
    assert r.status == 201, r


async def test_regular_expression_dos_task_update_is_matched_by_re2(catalog: Any) -> None:
    url = await draft_task(catalog)
    t = await catalog.post(url, catalog.isv, {"name": "web"})
    env = [{"key": "A", "pattern": EVIL, "default": EVIL_DEFAULT}]
    r = await answered_meanwhile(catalog, catalog.patch(t.body["path"], catalog.isv, {"environment": env}))
    assert r.status == 422, r


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(a)\1", "RE2"),  # backreferences: no linear-time engine has them
        ("(?=a)a", "RE2"),  # lookahead
        ("(", "RE2"),
        ("a" * 1025, "1024"),
    ],
)
async def test_regular_expression_dos_refuses_what_re2_cannot_compile(
    catalog: Any, pattern: str, why: str
) -> None:
    url = await draft_task(catalog)
    r = await catalog.post(
        url, catalog.isv, {"name": "web", "environment": [{"key": "A", "pattern": pattern}]}
    )
    assert r.status == 422 and r.errors.keys() == {"environment.0.pattern"}, r
    assert why in r.errors["environment.0.pattern"][0]


def _document(pattern: str, default: str) -> dict[str, Any]:
    raw = (resources.files("hspm.catalog.marketplace") / "examples" / "smart.json").read_bytes()
    doc: dict[str, Any] = orjson.loads(raw)
    env = doc["configuration"][0]["task"][0]["environment"]
    env[0] = dict(env[0], pattern=pattern, default=default)
    return doc


async def test_regular_expression_dos_marketplace_validate(catalog: Any) -> None:
    doc = _document(EVIL, EVIL_DEFAULT)
    r = await answered_meanwhile(catalog, catalog.post("/marketplace/validate", None, doc))
    assert r.status == 200 and r.body["valid"] is False, r
    assert [e["rule"] for e in r.body["errors"]] == ["pattern"]
    r = await catalog.post("/marketplace/validate", None, _document(r"(x)\1", "xx"))
    assert [(e["rule"], "RE2" in e["message"]) for e in r.body["errors"]] == [("pattern", True)]


async def test_regular_expression_dos_marketplace_import(catalog: Any) -> None:
    doc = _document(EVIL, EVIL_DEFAULT)
    pid = doc["product"]["uuid"]
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name) VALUES ($1, $2, 'SMART')", UUID(pid), catalog.isv.user_id
    )
    r = await answered_meanwhile(catalog, catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc))
    assert r.status == 422, r
    assert await (await catalog.db()).fetchval("SELECT count(*) FROM builds") == 0
    ok = copy.deepcopy(doc)
    ok["configuration"][0]["task"][0]["environment"][0]["default"] = "a" * 40
    assert (await catalog.post(f"/products/{pid}/builds/import", catalog.isv, ok)).status == 201


async def test_regular_expression_dos_marketplace_document_size_is_bounded(catalog: Any) -> None:
    doc = _document("x", "x")
    doc["padding"] = "x" * (schema.MAX_DOCUMENT_BYTES + 1)
    r = await catalog.post("/marketplace/validate", None, doc)
    assert r.status == 413, r


def test_regular_expression_dos_rules_are_linear() -> None:
    """40 characters: hours for a backtracking engine, nothing for RE2."""
    assert rules.pattern_problem(EVIL) is None
    assert rules.pattern_matches(EVIL, "a" * 40 + "!", whole=True) is False
    assert rules.pattern_matches(EVIL, "a" * 40 + "!", whole=False) is False
    assert rules.pattern_matches("https?://.+", "https://x", whole=True) is True
    assert rules.pattern_matches("[0-9]+", "abc1", whole=False) is True
    assert rules.pattern_matches("[0-9]+", "abc1", whole=True) is False
