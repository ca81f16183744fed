"""marketplace.json over HTTP: validate, import as a build, export canonical and raw bytes."""

from __future__ import annotations

import base64
import copy
import hashlib
from importlib import resources
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from hspm.client.canonical import canonical
from hspm.common.testing import as_headers

EXAMPLES = resources.files("hspm.catalog.marketplace") / "examples"
NAMES = ("cds-hooks.json", "smart.json", "cql.json", "content.json")


def raw_example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(raw_example(name))
    return doc


async def product_for(catalog: Any, doc: dict[str, Any], *, listed: bool = False) -> str:
    """The product the document names, owned by the ISV (direct SQL: independent of products' API)."""
    pid = doc["product"]["uuid"]
    when = "now() - interval '1 minute'" if listed else "NULL"
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, published_at, visible_at) "
        f"VALUES ($1, $2, $3, {when}, {when})",
        UUID(pid),
        catalog.isv.user_id,
        doc["product"]["facts"]["name"],
    )
    return str(pid)


async def post_raw(catalog: Any, path: str, who: Any, raw: bytes) -> Any:
    return await catalog.request("POST", path, who, data=raw, headers={"Content-Type": "application/json"})


async def count(catalog: Any, table: str) -> int:
    return int(await (await catalog.db()).fetchval(f"SELECT count(*) FROM {table}"))


# --- validate --------------------------------------------------------------------------------


async def test_anyone_may_validate_and_gets_paths(catalog: Any) -> None:
    doc = example("cql.json")
    r = await catalog.post("/marketplace/validate", None, doc)
    assert r.status == 200, r
    assert r.body["valid"] is True and r.body["errors"] == []
    assert r.body["warnings"] == [
        {
            "path": "$.product.facts.pricing[1].measure",
            "message": r.body["warnings"][0]["message"],
            "rule": "enum",
        }
    ]
    doc["configuration"][0]["task"][0]["environment"][0]["key"] = "cql-terminology"
    r = await catalog.post("/marketplace/validate", None, doc)
    assert r.status == 200 and r.body["valid"] is False
    assert [e["path"] for e in r.body["errors"]] == ["$.configuration[0].task[0].environment[0].key"]


async def test_validate_refuses_malformed_json(catalog: Any) -> None:
    r = await post_raw(catalog, "/marketplace/validate", None, b"{not json")
    assert r.status == 400, r


# --- import ----------------------------------------------------------------------------------


async def test_import_creates_a_submitted_build_with_its_packaging(catalog: Any) -> None:
    doc = example("cds-hooks.json")
    pid = await product_for(catalog, doc)
    mark = await catalog.outbox_mark()
    r = await post_raw(catalog, f"/products/{pid}/builds/import", catalog.isv, raw_example("cds-hooks.json"))
    assert r.status == 201, r
    build = r.body
    assert build["id"] == doc["product"]["build"]["uuid"]
    assert r.headers["Location"] == build["url"]
    assert build["version"] == "2.3.1" and build["status"] == "submitted"
    # One stored registry form since issue 9: a bare host[:port], whatever the document wrote.
    assert build["container_registry"] == "index.docker.io"
    assert (build["container_repository"], build["container_tag"]) == ("northwind/sepsis-hooks", "2.3.1")
    assert build["warnings"] == []
    db = await catalog.db()
    tasks = await db.fetch("SELECT name, memory_maximum, cron, ports, environment FROM tasks ORDER BY name")
    assert [(t["name"], t["memory_maximum"], t["cron"]) for t in tasks] == [
        ("Hook service", 512, None),
        ("Nightly guideline refresh", 128, "15 2 * * *"),
    ]
    assert orjson.loads(tasks[0]["environment"])[1]["key"] == "SCORE_THRESHOLD"  # test conn: jsonb is text
    (submitted,) = [b for t, b in await catalog.events(mark) if t == "catalog.build.submitted"]
    assert submitted["build_id"] == build["id"] and len(submitted["configurations"][0]["tasks"]) == 2


async def test_import_maps_dependencies_digest_and_version_parameter(catalog: Any) -> None:
    doc = example("cql.json")
    pid = await product_for(catalog, doc)
    r = await post_raw(
        catalog, f"/products/{pid}/builds/import?version=2025.1.0", catalog.isv, raw_example("cql.json")
    )
    assert r.status == 201, r
    assert r.body["version"] == "2025.1.0"
    assert r.body["image_digest"] == doc["product"]["build"]["binary"]["image"].split("@")[1]
    dep = await (await catalog.db()).fetchrow("SELECT * FROM dependencies")
    assert str(dep["product_id"]) == "a81a71fc-6421-4978-acd4-8bfabe9db79a"
    assert [str(b) for b in dep["build_ids"]] == ["a1dda7d3-b56c-4ff9-a703-756112a1206f"]
    assert orjson.loads(dep["mappings"]) == "CQLTERMINOLOGY=TERMINOLOGY_URL" and dep["required"] is True
    assert await count(catalog, "configurations") == 2


async def test_import_returns_warnings_and_skips_unnamed_dependencies(catalog: Any) -> None:
    doc = example("content.json")
    pid = await product_for(catalog, doc)
    r = await post_raw(catalog, f"/products/{pid}/builds/import", catalog.isv, raw_example("content.json"))
    assert r.status == 201, r
    assert [w["path"] for w in r.body["warnings"]] == [
        "$.product.facts.technology_mime_type",
        "$.product.facts.runtime_dependencies[0].uuid",
        "$.product.facts.runtime_dependencies[0]",
    ]
    assert await count(catalog, "dependencies") == 0


async def test_anonymous_import_is_401_before_the_body_is_judged(catalog: Any) -> None:
    pid = await product_for(catalog, example("smart.json"))
    r = await post_raw(catalog, f"/products/{pid}/builds/import", None, b"not even json")
    assert r.status == 401, r


async def test_only_the_owner_or_builds_create_may_import(catalog: Any) -> None:
    doc = example("smart.json")
    pid = await product_for(catalog, doc)
    for who in (catalog.other_isv, catalog.customer):
        r = await catalog.post(f"/products/{pid}/builds/import", who, doc)
        assert r.status == 404, r  # a draft product they cannot see
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.operator, doc)
    assert r.status == 201, r


async def test_listed_product_of_someone_else_is_403(catalog: Any) -> None:
    doc = example("smart.json")
    pid = await product_for(catalog, doc, listed=True)
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.other_isv, doc)
    assert r.status == 403, r
    assert await count(catalog, "builds") == 0


async def test_invalid_document_is_422_with_paths_and_nothing_is_written(catalog: Any) -> None:
    doc = example("smart.json")
    pid = await product_for(catalog, doc)
    bad = copy.deepcopy(doc)
    del bad["configuration"][0]["task"][0]["memory_maximum"]
    bad["configuration"][0]["task"][0]["ports"] = [70000]
    mark = await catalog.outbox_mark()
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, bad)
    assert r.status == 422, r
    assert set(r.errors) == {
        "$.configuration[0].task[0].memory_maximum",
        "$.configuration[0].task[0].ports[0]",
    }
    assert {i["rule"] for i in r.body["issues"]} == {"memory", "port"}
    assert await count(catalog, "builds") == 0 and await catalog.events(mark) == []


async def test_document_for_another_product_is_422(catalog: Any) -> None:
    doc = example("smart.json")
    await product_for(catalog, doc)
    other = example("cql.json")
    r = await catalog.post(f"/products/{doc['product']['uuid']}/builds/import", catalog.isv, other)
    assert r.status == 422, r
    assert "$.product.uuid" in r.errors


async def test_unknown_interface_is_422_and_nothing_is_written(catalog: Any) -> None:
    doc = example("cql.json")
    doc["product"]["facts"]["runtime_dependencies"][0]["interface_id"] = str(uuid4())
    pid = await product_for(catalog, doc)
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)
    assert r.status == 422, r
    assert list(r.errors) == ["$.product.facts.runtime_dependencies[0].interface_id"]
    assert await count(catalog, "builds") == 0


async def test_reimporting_the_same_build_is_409(catalog: Any) -> None:
    doc = example("smart.json")
    pid = await product_for(catalog, doc)
    assert (await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)).status == 201
    r = await catalog.post(f"/products/{pid}/builds/import?version=1.0.0", catalog.isv, doc)
    assert r.status == 409, r
    assert await count(catalog, "builds") == 1


async def test_import_without_tag_needs_a_version(catalog: Any) -> None:
    doc = example("smart.json")
    doc["product"]["build"]["binary"]["image"] = "ghcr.io/peds-tools/neonatal-jaundice"
    pid = await product_for(catalog, doc)
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)
    assert r.status == 422 and list(r.errors) == ["version"], r


# --- export ----------------------------------------------------------------------------------


def digest_headers(body: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(body).digest()
    return f'"{digest.hex()}"', f"sha-256=:{base64.b64encode(digest).decode()}:"


@pytest.mark.parametrize("name", NAMES)
async def test_round_trip_export_equals_canonical_of_the_import(catalog: Any, name: str) -> None:
    doc = example(name)
    pid = await product_for(catalog, doc)
    r = await post_raw(catalog, f"/products/{pid}/builds/import", catalog.isv, raw_example(name))
    assert r.status == 201, r
    at = f"/products/{pid}/builds/{r.body['id']}/marketplace.json"
    out = await catalog.get(at, catalog.isv)
    assert out.status == 200, out
    assert out.headers["Content-Type"].startswith("application/json")
    expected = canonical(doc)
    async with catalog.client.get(at, headers=_headers(catalog.isv)) as resp:
        assert await resp.read() == expected
    etag, repr_digest = digest_headers(expected)
    assert out.headers["ETag"] == etag and out.headers["Repr-Digest"] == repr_digest


async def test_export_bytes_are_exactly_canonical_and_raw_is_as_submitted(catalog: Any) -> None:
    doc = example("smart.json")
    pid = await product_for(catalog, doc)
    submitted = raw_example("smart.json")
    r = await post_raw(catalog, f"/products/{pid}/builds/import", catalog.isv, submitted)
    at = f"/products/{pid}/builds/{r.body['id']}/marketplace.json"
    async with catalog.client.get(at, headers=_headers(catalog.isv)) as resp:
        assert await resp.read() == canonical(doc)
    async with catalog.client.get(f"{at}?raw=true", headers=_headers(catalog.isv)) as resp:
        assert resp.status == 200 and await resp.read() == submitted
        assert resp.headers["ETag"] == digest_headers(submitted)[0]


async def test_if_none_match_answers_304(catalog: Any) -> None:
    doc = example("content.json")
    pid = await product_for(catalog, doc)
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)
    at = f"/products/{pid}/builds/{r.body['id']}/marketplace.json"
    etag = (await catalog.get(at, catalog.isv)).headers["ETag"]
    again = await catalog.get(at, catalog.isv, headers={"If-None-Match": etag})
    assert again.status == 304


async def test_unpublished_build_is_hidden_and_raw_is_for_owner_and_curators(catalog: Any) -> None:
    doc = example("cds-hooks.json")
    pid = await product_for(catalog, doc, listed=True)
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)
    at = f"/products/{pid}/builds/{r.body['id']}/marketplace.json"
    for who in (None, catalog.customer, catalog.other_isv):
        assert (await catalog.get(at, who)).status == 404
    assert (await catalog.get(f"{at}?raw=true", catalog.operator)).status == 200
    await (await catalog.db()).execute("UPDATE builds SET published_at = now() - interval '1 minute'")
    assert (await catalog.get(at, None)).status == 200
    assert (await catalog.get(at, catalog.customer)).status == 200
    assert (await catalog.get(f"{at}?raw=true", catalog.customer)).status == 403


async def test_export_of_unknown_or_malformed_build_is_404(catalog: Any) -> None:
    pid = await product_for(catalog, example("smart.json"))
    assert (
        await catalog.get(f"/products/{pid}/builds/{uuid4()}/marketplace.json", catalog.isv)
    ).status == 404
    assert (await catalog.get(f"/products/{pid}/builds/nope/marketplace.json", catalog.isv)).status == 404


async def test_build_made_without_a_document_exports_a_generated_canonical_one(catalog: Any) -> None:
    doc = example("smart.json")
    pid = await product_for(catalog, doc)
    db = await catalog.db()
    bid, cid = uuid4(), uuid4()
    await db.execute(
        "INSERT INTO builds (id, product_id, version, container_registry, container_repository, "
        "container_tag) VALUES ($1, $2, '1.0.0', 'ghcr.io', 'acme/app', '1.0.0')",
        bid,
        UUID(pid),
    )
    await db.execute(
        "INSERT INTO configurations (id, build_id, name, \"default\") VALUES ($1, $2, 'main', true)", cid, bid
    )
    await db.execute(
        "INSERT INTO tasks (id, configuration_id, name, memory_maximum, ports) "
        "VALUES ($1, $2, 'web', 128, '{80}')",
        uuid4(),
        cid,
    )
    async with catalog.client.get(
        f"/products/{pid}/builds/{bid}/marketplace.json", headers=_headers(catalog.isv)
    ) as resp:
        body = await resp.read()
    assert resp.status == 200
    generated = orjson.loads(body)
    assert body == canonical(generated)
    assert generated["product"]["build"] == {
        "uuid": str(bid),
        "binary": {"registry": "https://ghcr.io", "image": "ghcr.io/acme/app:1.0.0"},
        "dependency": [],
    }
    assert generated["configuration"][0]["task"][0]["memory_maximum"] == 128
    r = await catalog.get(f"/products/{pid}/builds/{bid}/marketplace.json?raw=true", catalog.isv)
    assert r.status == 404


def _headers(who: Any) -> dict[str, str]:
    """Persona headers for reading exact response bytes through the raw client."""
    return dict(as_headers(who))
