"""Badges: CRUD (public read, permissioned writes) and awarding them to products."""

from __future__ import annotations

from uuid import uuid4


async def _badge(catalog, name="logica", description="Endorsed by Logica Health."):
    r = await catalog.post("/badges", catalog.operator, {"badge": {"name": name, "description": description}})
    assert r.status == 201, r
    return r.body


async def test_badge_crud(catalog) -> None:
    r = await catalog.post(
        "/badges", catalog.operator, {"name": "intermountain", "description": "Endorsed."}
    )  # bare
    assert r.status == 201, r
    b = r.body
    assert r.headers["Location"] == b["url"] == f"http://marketplace.test/badges/{b['id']}"
    assert set(b) == {"id", "name", "description", "created_at", "updated_at", "url", "path"}
    assert (await catalog.get(b["path"], None)).body == b
    r = await catalog.put(b["path"], catalog.operator, {"badge": {**b, "description": "Still endorsed."}})
    assert (
        r.status == 200 and r.body["description"] == "Still endorsed." and r.body["name"] == "intermountain"
    ), r
    r = await catalog.delete(b["path"], catalog.operator)
    assert r.status == 204 and r.body is None, r
    assert (await catalog.get(b["path"], None)).status == 404


async def test_badge_validation(catalog) -> None:
    existing = await _badge(catalog)
    for body, field in (
        ({"name": "x"}, "description"),
        ({"name": "x", "description": "  "}, "description"),
        ({"description": "d"}, "name"),
        ({"name": "logica", "description": "d"}, "name"),
        ({"name": "x", "description": "d", "rank": 1}, "rank"),
    ):
        r = await catalog.post("/badges", catalog.operator, {"badge": body})
        assert r.status == 422 and field in r.errors, (body, r)
    other = await _badge(catalog, "other")
    r = await catalog.patch(other["path"], catalog.operator, {"name": existing["name"]})
    assert r.status == 422 and r.errors == {"name": ["has already been taken"]}, r
    r = await catalog.patch(other["path"], catalog.operator, {"description": None})
    assert r.status == 422 and "description" in r.errors, r


async def test_badge_permissions_and_404(catalog) -> None:
    b = await _badge(catalog)
    body = {"badge": {"name": "n", "description": "d"}}
    assert (await catalog.post("/badges", None, body)).status == 401
    assert (await catalog.post("/badges", catalog.isv, body)).status == 403
    assert (await catalog.patch(b["path"], catalog.customer, {"name": "z"})).status == 403
    assert (await catalog.delete(b["path"], None)).status == 401
    assert (await catalog.delete(b["path"], catalog.isv)).status == 403
    assert (await catalog.patch(f"/badges/{uuid4()}", catalog.operator, {"name": "z"})).status == 404
    assert (await catalog.delete(f"/badges/{uuid4()}", catalog.operator)).status == 404
    assert (await catalog.get("/badges/zz", None)).status == 404


async def test_badge_index_is_public_and_paged(catalog) -> None:
    for n in ("c", "a", "b"):
        await _badge(catalog, n)
    r = await catalog.get("/badges?per_page=2", None)
    assert r.status == 200, r
    assert [b["name"] for b in r.body["results"]] == ["a", "b"]
    assert (r.body["total_entries"], r.body["total_pages"], r.body["next_page"]) == (3, 2, 2)
    r = await catalog.get("/badges?per_page=2&page=2&order=desc", None)
    assert [b["name"] for b in r.body["results"]] == ["a"] and r.body["next_page"] is None
    assert "per_page" in (await catalog.get("/badges?per_page=0", None)).errors


async def test_award_show_and_withdraw(catalog) -> None:
    b = await _badge(catalog)
    p = await catalog.make_product()
    await catalog.post(f"/products/{p['id']}/publish", catalog.operator)
    r = await catalog.post(
        f"/products/{p['id']}/badges",
        catalog.operator,
        {"badge_award": {"badge_id": b["id"], "reason": "Reviewed"}},
    )
    assert r.status == 201, r
    award = r.body
    assert (
        award["url"]
        == r.headers["Location"]
        == f"http://marketplace.test/products/{p['id']}/badges/{b['id']}"
    )
    assert (award["badge_id"], award["name"], award["reason"]) == (b["id"], "logica", "Reviewed")
    assert award["awarded_by"] == str(catalog.operator.user_id)
    assert (await catalog.get(f"/products/{p['id']}", None)).body["badges"] == [
        {"id": b["id"], "name": "logica"}
    ]
    r = await catalog.get(f"/products/{p['id']}/badges", None)
    assert r.status == 200 and [a["badge_id"] for a in r.body["results"]] == [b["id"]], r
    assert r.body["total_entries"] == 1
    r = await catalog.delete(award["path"], catalog.operator)
    assert r.status == 204, r
    assert (await catalog.get(f"/products/{p['id']}", None)).body["badges"] == []
    assert (await catalog.delete(award["path"], catalog.operator)).status == 404


async def test_award_validation_and_permissions(catalog) -> None:
    b = await _badge(catalog)
    draft = await catalog.make_product()
    path = f"/products/{draft['id']}/badges"
    assert (await catalog.post(path, None, {"badge_id": b["id"]})).status == 401
    assert (
        await catalog.post(path, catalog.isv, {"badge_id": b["id"]})
    ).status == 403  # owner may not endorse itself
    assert (
        await catalog.post(path, catalog.customer, {"badge_id": b["id"]})
    ).status == 404  # cannot see the draft
    r = await catalog.post(path, catalog.operator, {"badge_id": str(uuid4())})
    assert r.status == 422 and r.errors == {"badge_id": ["does not exist"]}, r
    assert "badge_id" in (await catalog.post(path, catalog.operator, {"reason": "x"})).errors
    assert (await catalog.post(path, catalog.operator, {"badge_id": b["id"]})).status == 201
    r = await catalog.post(path, catalog.operator, {"badge_id": b["id"]})
    assert r.status == 422 and r.errors == {"badge_id": ["has already been taken"]}, r
    assert (await catalog.get(path, None)).status == 404
    assert (await catalog.get(path, catalog.isv)).status == 200
    assert (await catalog.delete(f"{path}/{b['id']}", catalog.isv)).status == 403
    assert (await catalog.delete(f"{path}/{b['id']}", None)).status == 401
    assert (
        await catalog.post(f"/products/{uuid4()}/badges", catalog.operator, {"badge_id": b["id"]})
    ).status == 404


async def test_deleting_a_badge_withdraws_its_awards(catalog) -> None:
    b = await _badge(catalog)
    p = await catalog.make_product()
    assert (
        await catalog.post(f"/products/{p['id']}/badges", catalog.operator, {"badge_id": b["id"]})
    ).status == 201
    assert (await catalog.delete(b["path"], catalog.operator)).status == 204
    assert (await catalog.get(f"/products/{p['id']}", catalog.isv)).body["badges"] == []
