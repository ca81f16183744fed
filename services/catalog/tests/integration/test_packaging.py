"""Packaging of a build: configurations, tasks, exposures, parameters and dependencies."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4


async def product(catalog: Any, owner: Any) -> str:
    """A listed product straight in SQL (the products API is written elsewhere)."""
    pid = uuid4()
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, published_at, visible_at) "
        "VALUES ($1, $2, $3, now(), now())",
        pid,
        owner.user_id,
        f"P {pid.hex[:8]}",
    )
    return str(pid)


async def build(catalog: Any, pid: str, who: Any) -> dict[str, Any]:
    r = await catalog.post(f"/products/{pid}/builds", who, {"build": {"version": "1.0.0"}})
    assert r.status == 201, r
    return r.body  # type: ignore[no-any-return]


async def publish(catalog: Any, bid: str) -> None:
    """Published by curation: no longer editable, readable by anyone."""
    await (await catalog.db()).execute(
        "UPDATE builds SET published_at = now(), status = 'published' WHERE id = $1", UUID(bid)
    )


async def draft(catalog: Any) -> tuple[str, dict[str, Any]]:
    pid = await product(catalog, catalog.isv)
    return pid, await build(catalog, pid, catalog.isv)


async def interface(catalog: Any, name: str = "FHIR R4") -> str:
    r = await catalog.post("/interfaces", catalog.admin, {"name": name, "uri": f"urn:{name}", "version": "1"})
    assert r.status == 201, r
    return str(r.body["id"])


async def test_configurations_crud_and_single_default(catalog) -> None:
    _, b = await draft(catalog)
    url = b["path"] + "/configurations"
    a = await catalog.post(url, catalog.isv, {"configuration": {"name": "small", "default": True}})
    assert a.status == 201 and a.headers["Location"] == a.body["url"], a
    assert a.body["path"] == f"{url}/{a.body['id']}"
    c = await catalog.post(url, catalog.isv, {"name": "large", "default": True})
    assert c.status == 201
    assert (await catalog.get(a.body["path"], catalog.isv)).body["default"] is False
    r = await catalog.patch(a.body["path"], catalog.isv, {"default": True})
    assert r.status == 200 and r.body["default"] is True
    assert (await catalog.get(c.body["path"], catalog.isv)).body["default"] is False
    assert (await catalog.post(url, catalog.isv, {"name": "small"})).errors.keys() == {"name"}
    assert (await catalog.post(url, catalog.isv, {"name": ""})).errors.keys() == {"name"}
    assert (await catalog.put(c.body["path"], catalog.isv, {"name": "small"})).errors.keys() == {"name"}
    page = await catalog.get(url + "?sort=name&per_page=1", catalog.isv)
    assert [x["name"] for x in page.body["results"]] == ["large"] and page.body["next_page"] == 2
    assert (await catalog.delete(c.body["path"], catalog.isv)).status == 204
    assert (await catalog.get(c.body["path"], catalog.isv)).status == 404


async def test_packaging_indexes_are_scoped_to_their_parent(catalog) -> None:
    _, b1 = await draft(catalog)
    _, b2 = await draft(catalog)
    c1 = await catalog.post(b1["path"] + "/configurations", catalog.isv, {"name": "one"})
    await catalog.post(b2["path"] + "/configurations", catalog.isv, {"name": "two"})
    r = await catalog.get(b1["path"] + "/configurations", catalog.isv)
    assert [x["name"] for x in r.body["results"]] == ["one"] and r.body["total_entries"] == 1
    # A record under another build's path is unknown there.
    assert (await catalog.get(f"{b2['path']}/configurations/{c1.body['id']}", catalog.isv)).status == 404
    assert (await catalog.get(f"{b1['path']}/configurations/nope", catalog.isv)).status == 404


async def test_packaging_permissions_and_visibility(catalog) -> None:
    _, b = await draft(catalog)
    url = b["path"] + "/configurations"
    assert (await catalog.post(url, None, {"name": "x"})).status == 401
    assert (await catalog.post(url, catalog.other_isv, {"name": "x"})).status == 404
    assert (await catalog.get(url)).status == 404
    assert (await catalog.post(url, catalog.operator, {"name": "ops"})).status == 201
    await publish(catalog, b["id"])
    assert (await catalog.get(url)).body["total_entries"] == 1
    assert (await catalog.post(url, catalog.customer, {"name": "x"})).status == 403
    assert (await catalog.post(url, catalog.isv, {"name": "x"})).status == 409


async def test_tasks(catalog) -> None:
    _, b = await draft(catalog)
    c = await catalog.post(b["path"] + "/configurations", catalog.isv, {"name": "default"})
    url = c.body["path"] + "/tasks"
    good = {
        "name": "web",
        "memory_minimum": 256,
        "memory_maximum": 1024,
        "instances_minimum": 2,
        "instances_maximum": 0,
        "options": ["--mode", "production"],
        "ports": [80, 443],
        "cron": "0 0 * * MON-FRI",
        "environment": [
            {
                "key": "FHIR_URL",
                "description": "Base",
                "required": True,
                "pattern": "https?://.+",
                "default": "https://fhir.example.org",
            }
        ],
    }
    t = await catalog.post(url, catalog.isv, {"task": good})
    assert t.status == 201, t
    assert t.body["environment"][0]["pattern"] == "https?://.+" and t.body["path"] == f"{url}/{t.body['id']}"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"memory_minimum": 0}, "memory_minimum"),
        ({"memory_minimum": 2048, "memory_maximum": 1024}, "memory_maximum"),
        ({"instances_minimum": -1}, "instances_minimum"),
        ({"instances_minimum": 5, "instances_maximum": 2}, "instances_maximum"),
        ({"ports": [0]}, "ports.0"),
        ({"ports": [70000]}, "ports.0"),
        ({"ports": [80, 80]}, "ports"),
        ({"cron": "* * * *"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"environment": [{"key": "lower_case"}]}, "environment.0.key"),
        ({"environment": [{"key": "A"}, {"key": "B-1"}]}, "environment.1.key"),
        ({"environment": [{"key": "A", "pattern": "("}]}, "environment.0.pattern"),
        ({"environment": [{"key": "A", "pattern": "[0-9]+", "default": "abc"}]}, "environment.0.default"),
        ({"options": "--x"}, "options"),
    ]
    for change, field in bad:
        r = await catalog.post(url, catalog.isv, {"name": f"t{uuid4().hex[:6]}", **change})
        assert r.status == 422 and field in r.errors, (change, r)
    assert (await catalog.post(url, catalog.isv, {"name": "web"})).errors.keys() == {"name"}
    # An update is checked against the stored task: a new minimum above the stored maximum.
    r = await catalog.patch(t.body["path"], catalog.isv, {"memory_minimum": 4096})
    assert r.status == 422 and "memory_maximum" in r.errors, r
    r = await catalog.put(t.body["path"], catalog.isv, {"task": dict(t.body, ports=[8080], cron=None)})
    assert r.status == 200 and r.body["ports"] == [8080] and r.body["cron"] is None, r
    assert r.body["memory_maximum"] == 1024
    listing = await catalog.get(url, catalog.isv)
    assert listing.body["total_entries"] == 1
    other = await catalog.post(b["path"] + "/configurations", catalog.isv, {"name": "other"})
    assert (await catalog.get(f"{other.body['path']}/tasks/{t.body['id']}", catalog.isv)).status == 404
    assert (await catalog.delete(t.body["path"], catalog.other_isv)).status == 404
    assert (await catalog.delete(t.body["path"], catalog.isv)).status == 204
    assert (await catalog.get(t.body["path"], catalog.isv)).status == 404


async def test_exposures_and_parameters(catalog) -> None:
    _, b = await draft(catalog)
    iid, other = await interface(catalog), await interface(catalog, "CDS Hooks")
    url = b["path"] + "/exposures"
    e = await catalog.post(url, catalog.isv, {"exposure": {"interface_id": iid}})
    assert e.status == 201, e
    assert (await catalog.post(url, catalog.isv, {"interface_id": iid})).errors.keys() == {"interface_id"}
    assert (await catalog.post(url, catalog.isv, {"interface_id": str(uuid4())})).errors.keys() == {
        "interface_id"
    }
    assert (await catalog.post(url, catalog.isv, {"interface_id": "x"})).errors.keys() == {"interface_id"}
    r = await catalog.put(e.body["path"], catalog.isv, {"interface_id": other})
    assert r.status == 200 and r.body["interface_id"] == other
    purl = e.body["path"] + "/parameters"
    p = await catalog.post(purl, catalog.isv, {"parameter": {"name": "FHIR_URL"}})
    assert p.status == 201 and p.body["required"] is True, p
    assert (await catalog.post(purl, catalog.isv, {"name": "fhir-url"})).errors.keys() == {"name"}
    assert (await catalog.post(purl, catalog.isv, {"name": "FHIR_URL"})).errors.keys() == {"name"}
    r = await catalog.patch(p.body["path"], catalog.isv, {"required": False})
    assert r.status == 200 and r.body["required"] is False
    assert (await catalog.get(purl, catalog.isv)).body["total_entries"] == 1
    assert (await catalog.delete(p.body["path"], catalog.isv)).status == 204
    await catalog.post(purl, catalog.isv, {"name": "X"})
    assert (await catalog.delete(e.body["path"], catalog.isv)).status == 204
    assert await (await catalog.db()).fetchval("SELECT count(*) FROM parameters") == 0


async def test_dependencies(catalog) -> None:
    pid, b = await draft(catalog)
    iid = await interface(catalog)
    dep_product = await product(catalog, catalog.other_isv)
    dep_build = await build(catalog, dep_product, catalog.other_isv)
    url = b["path"] + "/dependencies"
    d = await catalog.post(
        url,
        catalog.isv,
        {
            "dependency": {
                "product_id": dep_product,
                "build_ids": [dep_build["id"]],
                "name": "cqf-ruler",
                "mappings": {"A": "B"},
            }
        },
    )
    assert d.status == 201 and d.body["required"] is True and d.body["build_ids"] == [dep_build["id"]], d
    assert (await catalog.post(url, catalog.isv, {"interface_id": iid})).status == 201
    assert (await catalog.post(url, catalog.isv, {"name": "nothing"})).errors.keys() == {"interface_id"}
    assert (await catalog.post(url, catalog.isv, {"interface_id": str(uuid4())})).errors.keys() == {
        "interface_id"
    }
    assert (await catalog.post(url, catalog.isv, {"product_id": str(uuid4())})).errors.keys() == {
        "product_id"
    }
    r = await catalog.post(url, catalog.isv, {"product_id": dep_product, "build_ids": [b["id"]]})
    assert r.errors.keys() == {"build_ids"}, r
    assert (await catalog.post(url, catalog.isv, {"build_ids": [b["id"]]})).errors.keys() == {"build_ids"}
    r = await catalog.patch(d.body["path"], catalog.isv, {"product_id": None, "build_ids": []})
    assert r.errors.keys() == {"interface_id"}, r
    r = await catalog.patch(d.body["path"], catalog.isv, {"interface_id": iid, "required": False})
    assert r.status == 200 and r.body["interface_id"] == iid and r.body["product_id"] == dep_product
    assert (await catalog.get(url + "?per_page=1", catalog.isv)).body["total_pages"] == 2
    # Deleting an interface takes the exposures and dependencies on it.
    await catalog.post(b["path"] + "/exposures", catalog.isv, {"interface_id": iid})
    assert (await catalog.delete(f"/interfaces/{iid}", catalog.admin)).status == 204
    db = await catalog.db()
    assert await db.fetchval("SELECT count(*) FROM exposures") == 0
    assert await db.fetchval("SELECT count(*) FROM dependencies WHERE interface_id IS NOT NULL") == 0
    assert await db.fetchval("SELECT count(*) FROM dependencies WHERE id = $1", UUID(d.body["id"])) == 0
    assert (await catalog.delete(f"{url}/{uuid4()}", catalog.isv)).status == 404
