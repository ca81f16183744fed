"""Sub-products: links, their permissions, and children/parents (direct and transitive)."""

from __future__ import annotations

from uuid import uuid4


async def _link(catalog, parent, child, who=None):
    r = await catalog.post(
        "/sub_products",
        who or catalog.isv,
        {"sub_product": {"parent_id": parent["id"], "child_id": child["id"]}},
    )
    assert r.status == 201, r
    return r.body


async def _publish(catalog, product):
    r = await catalog.post(f"/products/{product['id']}/publish", catalog.operator)
    assert r.status == 200, r


async def test_create_show_delete_with_events(catalog) -> None:
    a, b = await catalog.make_product(), await catalog.make_product()
    mark = await catalog.outbox_mark()
    r = await catalog.post("/sub_products", catalog.isv, {"parent_id": a["id"], "child_id": b["id"]})  # bare
    assert r.status == 201, r
    link = r.body
    assert r.headers["Location"] == link["url"] == f"http://marketplace.test/sub_products/{link['id']}"
    assert (link["parent_id"], link["child_id"]) == (a["id"], b["id"])
    assert (await catalog.get(link["path"], catalog.isv)).body == link
    r = await catalog.delete(link["path"], catalog.isv)
    assert r.status == 204 and r.body is None, r
    assert (await catalog.get(link["path"], catalog.isv)).status == 404
    events = [(t, e["parent_id"], e["child_id"]) for t, e in await catalog.events(mark)]
    assert events == [
        ("catalog.product_relation.added", a["id"], b["id"]),
        ("catalog.product_relation.removed", a["id"], b["id"]),
    ]


async def test_create_validation(catalog) -> None:
    a, b = await catalog.make_product(), await catalog.make_product()
    await _link(catalog, a, b)
    cases = [
        ({"parent_id": a["id"], "child_id": a["id"]}, "child_id"),
        ({"parent_id": a["id"], "child_id": b["id"]}, "child_id"),  # duplicate pair
        ({"parent_id": str(uuid4()), "child_id": b["id"]}, "parent_id"),
        ({"parent_id": a["id"], "child_id": str(uuid4())}, "child_id"),
        ({"parent_id": a["id"]}, "child_id"),
        ({"parent_id": "x", "child_id": b["id"]}, "parent_id"),
    ]
    for body, field in cases:
        r = await catalog.post("/sub_products", catalog.isv, {"sub_product": body})
        assert r.status == 422 and field in r.errors, (body, r)
    # The reverse direction is another link: cycles are allowed.
    assert (
        await catalog.post("/sub_products", catalog.isv, {"parent_id": b["id"], "child_id": a["id"]})
    ).status == 201


async def test_linking_needs_both_ends_or_the_permission(catalog) -> None:
    mine = await catalog.make_product(catalog.isv)
    theirs = await catalog.make_product(catalog.other_isv)
    await _publish(catalog, theirs)
    body = {"sub_product": {"parent_id": mine["id"], "child_id": theirs["id"]}}
    assert (await catalog.post("/sub_products", None, body)).status == 401
    assert (await catalog.post("/sub_products", catalog.isv, body)).status == 403
    # The other ISV cannot even see the draft parent: as good as missing.
    r = await catalog.post("/sub_products", catalog.other_isv, body)
    assert r.status == 422 and "parent_id" in r.errors, r
    r = await catalog.post("/sub_products", catalog.operator, body)
    assert r.status == 201, r
    assert (await catalog.delete(r.body["path"], catalog.isv)).status == 403
    assert (await catalog.delete(r.body["path"], None)).status == 401
    assert (await catalog.delete(r.body["path"], catalog.operator)).status == 204


async def test_links_are_seen_only_when_both_ends_are(catalog) -> None:
    a, b, c = [await catalog.make_product() for _ in range(3)]
    await _publish(catalog, a)
    await _publish(catalog, b)
    public = await _link(catalog, a, b)
    hidden = await _link(catalog, a, c)
    assert (await catalog.get(public["path"], None)).status == 200
    assert (await catalog.get(hidden["path"], None)).status == 404
    assert (await catalog.get(hidden["path"], catalog.isv)).status == 200
    assert (await catalog.get(f"/sub_products/{uuid4()}", catalog.admin)).status == 404
    assert (await catalog.get("/sub_products/zzz", catalog.admin)).status == 404
    anon = await catalog.get("/sub_products", None)
    assert [x["id"] for x in anon.body["results"]] == [public["id"]]
    assert (await catalog.get("/sub_products", catalog.other_isv)).body["total_entries"] == 1
    assert (await catalog.get("/sub_products", catalog.isv)).body["total_entries"] == 2
    assert (await catalog.get("/sub_products", catalog.operator)).body["total_entries"] == 2
    r = await catalog.get(f"/sub_products?child_id={c['id']}", catalog.operator)
    assert [x["id"] for x in r.body["results"]] == [hidden["id"]]
    r = await catalog.get(f"/sub_products?parent_id={b['id']}", catalog.operator)
    assert r.body["results"] == []
    assert (await catalog.get("/sub_products?parent_id=bad", catalog.operator)).status == 422


async def test_sub_product_index_pages(catalog) -> None:
    a = await catalog.make_product()
    for _ in range(3):
        await _link(catalog, a, await catalog.make_product())
    r = await catalog.get("/sub_products?per_page=2&page=2", catalog.isv)
    assert r.status == 200, r
    assert (r.body["total_entries"], r.body["total_pages"], r.body["previous_page"], r.body["next_page"]) == (
        3,
        2,
        1,
        None,
    )
    assert len(r.body["results"]) == 1
    assert (await catalog.get("/sub_products?page=9", catalog.isv)).body["results"] == []
    assert "sort" in (await catalog.get("/sub_products?sort=secret", catalog.isv)).errors


async def test_children_and_parents_direct(catalog) -> None:
    a = await catalog.make_product(name="A")
    kids = [await catalog.make_product(name=n) for n in ("K3", "K1", "K2")]
    for k in kids:
        await _link(catalog, a, k)
    r = await catalog.get(f"/products/{a['id']}/children?per_page=2", catalog.isv)
    assert r.status == 200, r
    assert [p["name"] for p in r.body["results"]] == ["K1", "K2"]
    assert (r.body["total_entries"], r.body["next_page"], r.body["previous_page"]) == (3, 2, None)
    r = await catalog.get(f"/products/{a['id']}/children?order=desc", catalog.isv)
    assert [p["name"] for p in r.body["results"]] == ["K3", "K2", "K1"]
    assert r.body["results"][0]["logo"]["small"].endswith("/logo/small")
    r = await catalog.get(f"/products/{kids[0]['id']}/parents", catalog.isv)
    assert [p["name"] for p in r.body["results"]] == ["A"]


async def test_children_hide_what_the_caller_cannot_see(catalog) -> None:
    a, b, c = [await catalog.make_product(name=n) for n in ("A", "B", "C")]
    await _publish(catalog, a)
    await _publish(catalog, b)
    await _link(catalog, a, b)
    await _link(catalog, a, c)
    r = await catalog.get(f"/products/{a['id']}/children", None)
    assert [p["name"] for p in r.body["results"]] == ["B"] and r.body["total_entries"] == 1
    r = await catalog.get(f"/products/{a['id']}/children", catalog.isv)
    assert [p["name"] for p in r.body["results"]] == ["B", "C"]
    assert (await catalog.get(f"/products/{c['id']}/parents", None)).status == 404
    assert (await catalog.get(f"/products/{uuid4()}/children", catalog.admin)).status == 404


async def test_transitive_closure_terminates_on_a_cycle(catalog) -> None:
    a, b, c, d = [await catalog.make_product(name=n) for n in ("A", "B", "C", "D")]
    await _link(catalog, a, b)
    await _link(catalog, b, c)
    await _link(catalog, c, a)  # A -> B -> C -> A
    await _link(catalog, c, d)
    await _link(catalog, a, c)  # a second path to C: still listed once
    r = await catalog.get(f"/products/{a['id']}/children?transitive=true", catalog.isv)
    assert r.status == 200, r
    assert [p["name"] for p in r.body["results"]] == ["B", "C", "D"]
    assert r.body["total_entries"] == 3
    r = await catalog.get(f"/products/{d['id']}/parents?transitive=true", catalog.isv)
    assert [p["name"] for p in r.body["results"]] == ["A", "B", "C"]
    r = await catalog.get(f"/products/{a['id']}/children", catalog.isv)
    assert [p["name"] for p in r.body["results"]] == ["B", "C"]
    assert (
        "transitive"
        in (await catalog.get(f"/products/{a['id']}/children?transitive=maybe", catalog.isv)).errors
    )


async def test_deleting_a_product_removes_its_links_both_ways(catalog) -> None:
    a, b, c = [await catalog.make_product() for _ in range(3)]
    await _link(catalog, a, b)
    await _link(catalog, b, c)
    assert (await catalog.delete(f"/products/{b['id']}", catalog.isv)).status == 200
    assert (await catalog.get("/sub_products", catalog.isv)).body["total_entries"] == 0
    assert (await catalog.get(f"/products/{a['id']}/children", catalog.isv)).body["results"] == []


async def test_moving_a_link_is_a_removal_and_an_addition(catalog) -> None:
    a, b, c = await catalog.make_product(), await catalog.make_product(), await catalog.make_product()
    link = await _link(catalog, a, b)
    mark = await catalog.outbox_mark()
    r = await catalog.patch(link["path"], catalog.isv, {"sub_product": {"child_id": c["id"]}})
    assert r.status == 200, r
    assert (r.body["parent_id"], r.body["child_id"]) == (a["id"], c["id"])
    events = [(t, e["parent_id"], e["child_id"]) for t, e in await catalog.events(mark)]
    assert events == [
        ("catalog.product_relation.removed", a["id"], b["id"]),
        ("catalog.product_relation.added", a["id"], c["id"]),
    ]
    # Unchanged ends change nothing and emit nothing; the echoed id is ignored.
    mark = await catalog.outbox_mark()
    r = await catalog.put(link["path"], catalog.isv, r.body | {"parent_id": a["id"]})
    assert r.status == 200, r
    assert await catalog.events(mark) == []


async def test_moving_needs_rights_on_the_new_ends(catalog) -> None:
    a, b = await catalog.make_product(), await catalog.make_product()
    theirs = await catalog.make_product(catalog.other_isv)
    link = await _link(catalog, a, b)
    r = await catalog.patch(link["path"], catalog.isv, {"child_id": theirs["id"]})
    assert r.status in (403, 422), r
    r = await catalog.patch(link["path"], catalog.isv, {"child_id": a["id"]})
    assert r.status == 422 and "child_id" in r.errors
    r = await catalog.patch(link["path"], None, {"child_id": b["id"]})
    assert r.status == 401
    r = await catalog.patch(f"/sub_products/{uuid4()}", catalog.isv, {"child_id": b["id"]})
    assert r.status == 404
