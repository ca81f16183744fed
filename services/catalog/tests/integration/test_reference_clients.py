"""Issue 9, what real clients send: full image references, the reference model's task
fields, multipart build bodies and binary downloads with any ``Accept``."""

from __future__ import annotations

import copy
import io
from importlib import resources
from typing import Any
from uuid import UUID

import orjson
import pytest
from aiohttp import FormData

D = "sha256:" + "d" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def create(catalog: Any, pid: str, **fields: Any) -> Any:
    return await catalog.post(
        f"/products/{pid}/builds", catalog.isv, {"build": {"version": "1.0.0", **fields}}
    )


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(
        (resources.files("hspm.catalog.marketplace") / "examples" / name).read_bytes()
    )
    return doc


async def product_of(catalog: Any, doc: dict[str, Any]) -> str:
    pid = doc["product"]["uuid"]
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name) VALUES ($1, $2, 'Doc')", UUID(pid), catalog.isv.user_id
    )
    return str(pid)


# --- finding 4: a full reference in container_repository ------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("registry.example.org:5000/org/app", ("registry.example.org:5000", "org/app", None, None)),
        ("Registry.Example.org:5000/org/app:v2", ("registry.example.org:5000", "org/app", "v2", None)),
        (f"ghcr.io/org/app@{D}", ("ghcr.io", "org/app", None, D)),
        (f"localhost/app:1.0@{D}", ("localhost", "app", "1.0", D)),
        ("org/app", (None, "org/app", None, None)),
        ("org/app:v3", (None, "org/app", "v3", None)),
    ],
)
async def test_full_reference_in_container_repository_is_split(
    catalog: Any, reference: str, expected: tuple[Any, ...]
) -> None:
    pid = await catalog.sql_product(catalog.isv)
    r = await create(catalog, pid, container_repository=reference)
    assert r.status == 201, r
    got = tuple(
        r.body[k] for k in ("container_registry", "container_repository", "container_tag", "image_digest")
    )
    assert got == expected
    # The same on update, and fields the reference leaves out are kept.
    r2 = await catalog.patch(r.body["path"], catalog.isv, {"build": {"container_repository": "quay.io/x/y"}})
    assert r2.status == 200, r2
    assert (r2.body["container_registry"], r2.body["container_repository"]) == ("quay.io", "x/y")
    assert (r2.body["container_tag"], r2.body["image_digest"]) == expected[2:]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"container_repository": "a.io/org/app", "container_registry": "b.io"}, "container_registry"),
        ({"container_repository": "org/app:v1", "container_tag": "v2"}, "container_tag"),
        ({"container_repository": f"org/app@{D}", "image_digest": "sha256:" + "e" * 64}, "image_digest"),
        ({"container_repository": "https://a.io/org/app"}, "container_repository"),
        ({"container_repository": "a.io/Org/App"}, "container_repository"),
        ({"container_repository": "a.io/org/app:-x"}, "container_repository"),
    ],
)
async def test_full_reference_conflicts_are_422(catalog: Any, fields: dict[str, Any], field: str) -> None:
    pid = await catalog.sql_product(catalog.isv)
    r = await create(catalog, pid, **fields)
    assert r.status == 422 and field in r.errors, r
    assert await (await catalog.db()).fetchval("SELECT count(*) FROM builds") == 0


async def test_full_reference_agreeing_with_the_fields_is_accepted(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    r = await create(
        catalog,
        pid,
        container_registry="a.io",
        container_repository=f"a.io/org/app:v1@{D}",
        container_tag="v1",
        image_digest=D,
    )
    assert r.status == 201 and r.body["container_repository"] == "org/app", r


async def test_full_reference_import_stores_the_canonical_registry(catalog: Any) -> None:
    doc = example("smart.json")  # registry https://ghcr.io, image ghcr.io/peds-tools/...:v0.9.2
    pid = await product_of(catalog, doc)
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)
    assert r.status == 201, r
    assert (r.body["container_registry"], r.body["container_repository"], r.body["container_tag"]) == (
        "ghcr.io",
        "peds-tools/neonatal-jaundice",
        "v0.9.2",
    )


async def test_full_reference_import_conflicting_registry_is_422(catalog: Any) -> None:
    doc = example("smart.json")
    doc["product"]["build"]["binary"]["image"] = "quay.io/peds-tools/neonatal-jaundice:v0.9.2"
    pid = await product_of(catalog, doc)
    r = await catalog.post("/marketplace/validate", None, doc)
    assert [e["path"] for e in r.body["errors"]] == ["$.product.build.binary.image"]
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)
    assert r.status == 422 and "$.product.build.binary.image" in r.errors, r


# --- finding 5: the reference model's task fields -------------------------------------------------


async def configuration(catalog: Any) -> str:
    pid = await catalog.sql_product(catalog.isv)
    b = await create(catalog, pid)
    c = await catalog.post(b.body["path"] + "/configurations", catalog.isv, {"name": "web"})
    return str(c.body["path"])


async def test_task_field_aliases_in_rest_bodies(catalog: Any) -> None:
    url = await configuration(catalog) + "/tasks"
    r = await catalog.post(
        url, catalog.isv, {"task": {"label": "web", "minimum": 1, "maximum": 3, "memory": 1024}}
    )
    assert r.status == 201, r
    t = r.body
    assert (t["name"], t["instances_minimum"], t["instances_maximum"], t["memory_maximum"]) == (
        "web",
        1,
        3,
        1024,
    )
    assert "label" not in t and "memory" not in t
    r = await catalog.patch(t["path"], catalog.isv, {"task": {"memory": 2048, "maximum": 0}})
    assert r.status == 200 and (r.body["memory_maximum"], r.body["instances_maximum"]) == (2048, 0), r
    # An alias and its name agreeing is fine; disagreeing is refused.
    assert (await catalog.post(url, catalog.isv, {"name": "a", "label": "a"})).status == 201
    r = await catalog.post(url, catalog.isv, {"name": "b", "label": "c"})
    assert r.status == 422 and "label" in str(r.body), r
    r = await catalog.patch(t["path"], catalog.isv, {"memory": 1, "memory_maximum": 2})
    assert r.status == 422, r
    # Bounds still apply through the aliases.
    r = await catalog.post(url, catalog.isv, {"label": "d", "minimum": 5, "maximum": 2})
    assert r.status == 422 and "instances_maximum" in r.errors, r


async def test_task_field_aliases_in_the_import(catalog: Any) -> None:
    doc = example("smart.json")
    task = doc["configuration"][0]["task"][0]
    task["name"] = task.pop("label")
    task["minimum"], task["maximum"] = task.pop("instances_minimum"), task.pop("instances_maximum")
    task["memory"] = task.pop("memory_maximum")
    r = await catalog.post("/marketplace/validate", None, doc)
    assert r.body["valid"] is True, r
    pid = await product_of(catalog, doc)
    r = await catalog.post(f"/products/{pid}/builds/import", catalog.isv, doc)
    assert r.status == 201, r
    row = await (await catalog.db()).fetchrow(
        "SELECT name, instances_minimum, instances_maximum, memory_maximum FROM tasks"
    )
    assert tuple(row) == (task["name"], task["minimum"], task["maximum"], task["memory"])
    bad = copy.deepcopy(doc)
    bad["configuration"][0]["task"][0]["memory_maximum"] = task["memory"] + 1
    r = await catalog.post("/marketplace/validate", None, bad)
    assert [e["path"] for e in r.body["errors"]] == ["$.configuration[0].task[0].memory"]


# --- finding 6: multipart build bodies ---------------------------------------------------------------


async def test_multipart_build_create_and_update(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    form = FormData(default_to_multipart=True)
    form.add_field("build[version]", "1.2.3")
    form.add_field("build[container_repository]", "registry.example.org:5000/org/app:v1")
    form.add_field("build[release_notes]", "First.")
    form.add_field("build[permissions]", '{"network": true}')
    form.add_field("build[ordinal]", "7")
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, data=form)
    assert r.status == 201, r
    b = r.body
    assert (b["version"], b["container_registry"], b["container_tag"], b["ordinal"]) == (
        "1.2.3",
        "registry.example.org:5000",
        "v1",
        7,
    )
    assert b["permissions"] == {"network": True} and b["release_notes"] == "First."
    form = FormData(default_to_multipart=True)
    form.add_field("release_notes", "Second.")  # bare fields, as a bare JSON body
    form.add_field("build[asset]", b"library X", filename="rule.cql", content_type="text/cql")
    r = await catalog.put(b["path"], catalog.isv, data=form)
    assert r.status == 200 and r.body["release_notes"] == "Second." and r.body["asset_available"], r
    got = await catalog.get(b["path"] + "/asset", catalog.isv)
    assert got.raw == b"library X" and got.headers["Content-Disposition"] == 'attachment; filename="rule.cql"'


async def test_multipart_build_bodies_are_checked_and_bounded(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    form = FormData(default_to_multipart=True)
    form.add_field("build[version]", "latest")
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, data=form)
    assert r.status == 422 and "version" in r.errors, r
    form = FormData(default_to_multipart=True)
    form.add_field("build[version]", "1.0.0")
    form.add_field("build[unknown]", "x")
    assert (await catalog.post(f"/products/{pid}/builds", catalog.isv, data=form)).status == 422
    form = FormData(default_to_multipart=True)
    form.add_field("build[version]", "1.0.0")
    form.add_field("build[release_notes]", io.BytesIO(b"x" * (2 * 1024 * 1024)), content_type="text/plain")
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, data=form)
    assert r.status == 413, r
    form = FormData(default_to_multipart=True)
    form.add_field("build[version]", "1.0.0")
    form.add_field("build[permissions]", "not json")
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, data=form)
    assert r.status == 422 and "permissions" in r.errors, r
    assert await (await catalog.db()).fetchval("SELECT count(*) FROM builds") == 0
    form = FormData(default_to_multipart=True)
    form.add_field("build[version]", "1.0.0")
    assert (await catalog.post(f"/products/{pid}/builds", None, data=form)).status == 401


async def test_multipart_url_encoded_build_form(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    form = FormData({"build[version]": "2.0.0", "build[container_repository]": "ghcr.io/org/app"})
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, data=form)
    assert r.status == 201 and (r.body["version"], r.body["container_registry"]) == ("2.0.0", "ghcr.io"), r


# --- finding 7: binary build endpoints and Accept ----------------------------------------------------


@pytest.mark.parametrize("accept", ["image/png", "image/*", "*/*", "application/json", "text/html;q=0.9"])
async def test_binary_asset_download_answers_whatever_accept_says(catalog: Any, accept: str) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = (await create(catalog, pid)).body
    put = await catalog.put(
        b["path"] + "/asset?name=logo.png", catalog.isv, data=PNG, headers={"Content-Type": "image/png"}
    )
    assert put.status == 200, put
    r = await catalog.get(b["path"] + "/asset", catalog.isv, headers={"Accept": accept})
    assert r.status == 200 and r.raw == PNG and r.content_type == "image/png", r
