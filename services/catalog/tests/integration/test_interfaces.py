"""Interfaces and their surrogates: marketplace-wide, read by anyone, written by operators."""

from __future__ import annotations

from uuid import uuid4


async def make(catalog, name: str, uri: str | None = None, version: str = "1.0") -> dict:
    r = await catalog.post(
        "/interfaces",
        catalog.operator,
        {"interface": {"name": name, "uri": uri or f"urn:{name}", "version": version}},
    )
    assert r.status == 201, r
    return r.body


async def test_interface_crud(catalog) -> None:
    body = {
        "name": "SMART v1",
        "uri": "http://hl7.org/fhir/smart-app-launch",
        "version": "1.0.0",
        "ordinal": 3,
    }
    assert (await catalog.post("/interfaces", None, body)).status == 401
    assert (await catalog.post("/interfaces", catalog.isv, body)).status == 403
    r = await catalog.post("/interfaces", catalog.operator, {"interface": body})
    assert r.status == 201 and r.headers["Location"] == r.body["url"], r
    assert r.body["path"] == f"/interfaces/{r.body['id']}" and r.body["ordinal"] == 3
    one = r.body["path"]
    assert (await catalog.get(one)).body["name"] == "SMART v1"
    assert (await catalog.post("/interfaces", catalog.operator, dict(body, uri="urn:x"))).errors.keys() == {
        "name"
    }
    assert (await catalog.post("/interfaces", catalog.operator, dict(body, name="x"))).errors.keys() == {
        "uri"
    }
    assert (
        await catalog.post("/interfaces", catalog.operator, {"name": "y", "uri": "urn:y"})
    ).errors.keys() == {"version"}
    assert (await catalog.put(one, catalog.isv, {"version": "2"})).status == 403
    r = await catalog.put(one, catalog.operator, {"interface": dict(r.body, version="2.0.0", ordinal=None)})
    assert r.status == 200 and r.body["version"] == "2.0.0" and r.body["ordinal"] is None, r
    other = await make(catalog, "Other")
    assert (await catalog.patch(other["path"], catalog.operator, {"name": "SMART v1"})).errors.keys() == {
        "name"
    }
    assert (await catalog.delete(one, catalog.customer)).status == 403
    assert (await catalog.delete(one, catalog.operator)).status == 204
    assert (await catalog.get(one)).status == 404
    assert (await catalog.delete(one, catalog.operator)).status == 404
    assert (await catalog.get("/interfaces/not-a-uuid")).status == 404


async def test_interface_index(catalog) -> None:
    await make(catalog, "FHIR R4", "urn:b", "4.0.1")
    await make(catalog, "FHIR R5", "urn:a", "5.0.0")
    await make(catalog, "CDS Hooks", "urn:c", "1.0")
    r = await catalog.get("/interfaces")
    assert [i["name"] for i in r.body["results"]] == ["CDS Hooks", "FHIR R4", "FHIR R5"]
    assert r.body["total_entries"] == 3 and r.body["current_page"] == 1
    r = await catalog.get("/interfaces?sort=uri&order=descending")
    assert [i["uri"] for i in r.body["results"]] == ["urn:c", "urn:b", "urn:a"]
    r = await catalog.get("/interfaces?name=fhir&sort=version&per_page=1&page=2")
    assert [i["name"] for i in r.body["results"]] == ["FHIR R5"] and r.body["previous_page"] == 1
    assert r.body["next_page"] is None and r.body["total_entries"] == 2
    assert (await catalog.get("/interfaces?name=%25")).body["total_entries"] == 0
    assert (await catalog.get("/interfaces?sort=secret")).status == 422


async def test_surrogates(catalog) -> None:
    base, v21, v22 = await make(catalog, "v2.0"), await make(catalog, "v2.1"), await make(catalog, "v2.2")
    url = base["path"] + "/surrogates"
    assert (await catalog.post(url, None, {"substitute_id": v21["id"]})).status == 401
    assert (await catalog.post(url, catalog.isv, {"substitute_id": v21["id"]})).status == 403
    s = await catalog.post(url, catalog.operator, {"surrogate": {"substitute_id": v21["id"]}})
    assert s.status == 201 and s.body["path"] == f"{url}/{s.body['id']}", s
    assert (await catalog.post(url, catalog.operator, {"substitute_id": v21["id"]})).errors.keys() == {
        "substitute_id"
    }
    assert (await catalog.post(url, catalog.operator, {"substitute_id": base["id"]})).errors.keys() == {
        "substitute_id"
    }
    missing = {"substitute_id": str(uuid4())}
    assert (await catalog.post(url, catalog.operator, missing)).errors.keys() == {"substitute_id"}
    assert (await catalog.post(f"/interfaces/{uuid4()}/surrogates", catalog.operator, missing)).status == 404
    r = await catalog.get(url)
    assert r.status == 200 and [x["substitute_id"] for x in r.body["results"]] == [v21["id"]]
    assert (await catalog.get(v21["path"] + "/surrogates")).body["total_entries"] == 0
    assert (await catalog.get(f"{v21['path']}/surrogates/{s.body['id']}")).status == 404
    r = await catalog.put(
        s.body["path"], catalog.operator, {"surrogate": dict(s.body, substitute_id=v22["id"])}
    )
    assert r.status == 200 and r.body["substitute_id"] == v22["id"], r
    assert (await catalog.delete(s.body["path"], catalog.isv)).status == 403
    assert (await catalog.delete(s.body["path"], catalog.operator)).status == 204
    await catalog.post(url, catalog.operator, {"substitute_id": v21["id"]})
    assert (await catalog.delete(v21["path"], catalog.operator)).status == 204
    assert (await catalog.get(url)).body["total_entries"] == 0
