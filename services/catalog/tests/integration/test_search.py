"""GET /products and POST /products/search: visibility, filters, ranking and facets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

NOW = datetime.now(UTC)
PAST = NOW - timedelta(days=1)
FUTURE = NOW + timedelta(days=30)


async def product(
    catalog: Any, name: str, *, owner: UUID | None = None, listed: bool = True, **kw: Any
) -> UUID:
    pid = uuid4()
    published = kw.pop("published_at", PAST if listed else None)
    visible = kw.pop("visible_at", PAST if listed else None)
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, description, mime_type, published_at, visible_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        pid,
        owner or uuid4(),
        name,
        kw.get("description", ""),
        kw.get("mime_type"),
        published,
        visible,
    )
    return pid


async def badge(catalog: Any, name: str, *products: UUID) -> UUID:
    db = await catalog.db()
    bid = uuid4()
    await db.execute("INSERT INTO badges (id, name, description) VALUES ($1, $2, 'x')", bid, name)
    for pid in products:
        await db.execute(
            "INSERT INTO badge_awards (id, badge_id, product_id) VALUES ($1, $2, $3)", uuid4(), bid, pid
        )
    return bid


async def interface(catalog: Any, name: str) -> UUID:
    iid = uuid4()
    await (await catalog.db()).execute(
        "INSERT INTO interfaces (id, name, uri, version) VALUES ($1, $2, $3, '1')", iid, name, f"urn:{iid}"
    )
    return iid


async def exposes(catalog: Any, pid: UUID, iid: UUID, published: bool = True) -> None:
    db = await catalog.db()
    build = uuid4()
    await db.execute(
        "INSERT INTO builds (id, product_id, version, published_at) VALUES ($1, $2, $3, $4)",
        build,
        pid,
        f"1.0.{build.int % 1000}",
        PAST if published else None,
    )
    await db.execute(
        "INSERT INTO exposures (id, build_id, interface_id) VALUES ($1, $2, $3)", uuid4(), build, iid
    )


async def offer(catalog: Any, pid: UUID, lid: UUID, name: str) -> None:
    await (await catalog.db()).execute(
        "INSERT INTO product_license_offers (product_id, license_id, license_name) VALUES ($1, $2, $3)",
        pid,
        lid,
        name,
    )


def names(reply: Any) -> list[str]:
    assert reply.status == 200, reply
    return [r["name"] for r in reply.body["results"]]


async def test_anonymous_sees_listed_only_owner_sees_drafts_operator_all(catalog) -> None:
    await product(catalog, "Alpha")
    await product(catalog, "Draft", owner=catalog.isv.user_id, listed=False)
    await product(catalog, "Embargoed", published_at=PAST, visible_at=FUTURE)
    await product(catalog, "Other draft", listed=False)
    assert names(await catalog.get("/products")) == ["Alpha"]
    assert names(await catalog.get("/products", catalog.customer)) == ["Alpha"]
    assert names(await catalog.get("/products", catalog.isv)) == ["Alpha", "Draft"]
    assert names(await catalog.get("/products", catalog.operator)) == [
        "Alpha",
        "Draft",
        "Embargoed",
        "Other draft",
    ]


async def test_index_shape_and_envelope(catalog) -> None:
    pid = await product(catalog, "Growth Chart", mime_type="application/vnd.docker+smart")
    bid = await badge(catalog, "logica", pid)
    r = await catalog.get("/products?per_page=5")
    assert r.status == 200, r
    assert r.body["total_entries"] == 1 and r.body["per_page"] == 5 and r.body["page"] == 1
    assert r.body["sort"] == "name" and r.body["order"] == "asc"
    item = r.body["results"][0]
    assert item["id"] == str(pid) and item["listed"] is True
    assert item["path"] == f"/products/{pid}" and item["url"].endswith(item["path"])
    assert item["badges"] == [{"id": str(bid), "name": "logica"}]
    assert item["logo"]["small"].endswith(f"/products/{pid}/logo/small")
    for key in (
        "description",
        "external_id",
        "locale",
        "mime_type",
        "user_id",
        "uri",
        "support_url",
        "published_at",
        "visible_at",
        "created_at",
        "updated_at",
    ):
        assert key in item


async def test_filters(catalog) -> None:
    owner = uuid4()
    a = await product(catalog, "Apple FHIR", owner=owner, mime_type="application/vnd.docker+fhir")
    b = await product(catalog, "Banana SMART", mime_type="application/vnd.docker+smart")
    c = await product(catalog, "Cherry hooks", mime_type="application/x-cds-hooks")
    iface = await interface(catalog, "FHIR R4")
    await exposes(catalog, a, iface)
    await exposes(catalog, c, iface, published=False)
    lic = uuid4()
    await offer(catalog, b, lic, "MIT")
    bid = await badge(catalog, "logica", c)
    assert names(await catalog.get(f"/products?user_id={owner}")) == ["Apple FHIR"]
    # The RI UI sends '+' as a space.
    assert names(
        await catalog.get("/products?mime_type=application/vnd.docker smart,application/x-cds-hooks")
    ) == ["Banana SMART", "Cherry hooks"]
    assert names(await catalog.get(f"/products?license_id={lic}")) == ["Banana SMART"]
    # An unpublished build's exposure does not count for anonymous callers; it does for operators.
    assert names(await catalog.get(f"/products?interface_id={iface}")) == ["Apple FHIR"]
    assert names(await catalog.get(f"/products?interface_id={iface}", catalog.operator)) == [
        "Apple FHIR",
        "Cherry hooks",
    ]
    assert names(await catalog.get(f"/products?badge_id={bid}")) == ["Cherry hooks"]
    assert names(await catalog.get("/products?name=ANAN")) == ["Banana SMART"]
    assert names(await catalog.get("/products?name=%25")) == []


async def test_published_filter_for_those_who_see_drafts(catalog) -> None:
    await product(catalog, "Listed")
    await product(catalog, "Draft", listed=False)
    assert names(await catalog.get("/products?published=false", catalog.operator)) == ["Draft"]
    assert names(await catalog.get("/products?published=true", catalog.operator)) == ["Listed"]
    assert names(await catalog.get("/products?published=false")) == ["Listed"]


async def test_sort_order_and_paging(catalog) -> None:
    for n in ("b", "C", "a"):
        await product(catalog, n)
    assert names(await catalog.get("/products?order=desc")) == ["C", "b", "a"]
    r = await catalog.get("/products?per_page=2&page=2")
    assert names(r) == ["C"] and r.body["previous_page"] == 1 and r.body["next_page"] is None
    assert names(await catalog.get("/products?sort=created_at")) == ["b", "C", "a"]


async def test_bad_parameters_are_422_with_field(catalog) -> None:
    for query, field in (
        ("sort=description", "sort"),
        ("user_id=nope", "user_id"),
        ("published=maybe", "published"),
        ("per_page=0", "per_page"),
    ):
        r = await catalog.get(f"/products?{query}")
        assert r.status == 422, (query, r)
        assert field in r.errors


async def test_search_prefix_ranking_and_stemming(catalog) -> None:
    await product(catalog, "Growth Chart", description="Pediatric growth charts for clinicians.")
    await product(catalog, "Dosing", description="Computes doses; shows a growth curve.")
    await product(catalog, "Unrelated", description="Nothing to see.")
    await product(catalog, "Hidden growth", listed=False)
    r = await catalog.post("/products/search", None, {"text": "grow"})
    assert names(r) == ["Growth Chart", "Dosing"]  # name (weight A) ranks above description
    assert r.body["sort"] == "relevance"
    # Stemmed descriptions still match the word as typed.
    assert names(await catalog.post("/products/search", None, {"text": "computing"})) == ["Dosing"]
    assert names(await catalog.post("/products/search", None, {"text": "growth pedia"})) == ["Growth Chart"]


async def test_search_text_is_never_tsquery_syntax(catalog) -> None:
    await product(catalog, "C++ toolkit")
    await product(catalog, "Other")
    for text in ("!!! & | :* ' (", "c++", "'); DROP TABLE products; --"):
        r = await catalog.post("/products/search", None, {"text": text})
        assert r.status == 200, (text, r)
    assert names(await catalog.post("/products/search", None, {"text": "++"})) == ["C++ toolkit"]
    assert names(await catalog.post("/products/search", None, {"text": "!!!"})) == []


async def test_search_accepts_the_ri_query_parameters(catalog) -> None:
    await product(catalog, "FHIR server", mime_type="application/vnd.docker+fhir")
    await product(catalog, "FHIR app", mime_type="application/vnd.docker+smart")
    r = await catalog.post("/products/search?text=fhir&mime_type=application/vnd.docker+fhir")
    assert names(r) == ["FHIR server"]


async def test_search_facets_ignore_their_own_filter(catalog) -> None:
    a = await product(catalog, "Alpha tool", mime_type="application/x-knart")
    b = await product(catalog, "Beta tool", mime_type="application/x-knart")
    c = await product(catalog, "Gamma tool", mime_type="application/x-cql+zip")
    await product(catalog, "Delta draft tool", mime_type="application/x-cql+zip", listed=False)
    logica = await badge(catalog, "logica", a, c)
    iface = await interface(catalog, "CDS Hooks 1.0")
    await exposes(catalog, a, iface)
    await exposes(catalog, b, iface)
    lic = uuid4()
    await offer(catalog, a, lic, "MIT")
    await offer(catalog, b, lic, "MIT")
    r = await catalog.post(
        "/products/search", None, {"text": "tool", "mime_type": ["application/x-knart"], "facets": True}
    )
    assert names(r) == ["Alpha tool", "Beta tool"]
    f = r.body["facets"]
    # The MIME facet ignores the MIME filter; drafts never count for anonymous callers.
    assert f["mime_type"] == [
        {"value": "application/x-knart", "count": 2},
        {"value": "application/x-cql+zip", "count": 1},
    ]
    assert f["badge"] == [{"id": str(logica), "name": "logica", "count": 1}]
    assert f["interface"] == [{"id": str(iface), "name": "CDS Hooks 1.0", "count": 2}]
    assert f["license"] == [{"id": str(lic), "name": "MIT", "count": 2}]
    r = await catalog.post("/products/search", None, {"badge_id": str(logica), "facets": True})
    assert names(r) == ["Alpha tool", "Gamma tool"]
    assert r.body["facets"]["badge"][0]["count"] == 2


async def test_only_the_named_facets_are_computed(catalog) -> None:
    await product(catalog, "Alpha tool", mime_type="application/x-knart")
    r = await catalog.post("/products/search", None, {"text": "tool", "facets": ["mime_type"]})
    assert set(r.body["facets"]) == {"mime_type"}
    r = await catalog.get("/products?facets=badge,license")
    assert set(r.body["facets"]) == {"badge", "license"}
    r = await catalog.post("/products/search", None, {"text": "tool"})
    assert "facets" not in r.body
    r = await catalog.get("/products?facets=price")
    assert r.status == 422 and "facets" in r.errors
    r = await catalog.post("/products/search", None, {"facets": ["price"]})
    assert r.status == 422


async def test_search_body_validation(catalog) -> None:
    r = await catalog.post("/products/search", None, {"sort": "price"})
    assert r.status == 422 and "sort" in r.errors
    r = await catalog.post("/products/search", None, {"text": "x" * 500})
    assert r.status == 422 and "text" in r.errors
    r = await catalog.post("/products/search", None, {"unknown": 1})
    assert r.status == 422


async def test_relevance_ranks_a_capped_candidate_set_name_matches_first(catalog, monkeypatch) -> None:
    """Past the cap, name matches are ranked first; the total still counts every match."""
    from hspm.catalog.search import store

    monkeypatch.setattr(store, "RANK_CANDIDATES", 2)
    for n in range(4):
        await product(catalog, f"Item {n}", description="sepsis alert")
    await product(catalog, "Sepsis watch", description="other")
    r = await catalog.post("/products/search", None, {"text": "sepsis", "per_page": 2})
    assert r.body["total_entries"] == 5
    assert names(r)[0] == "Sepsis watch"
    # A page further on ranks enough candidates to reach it.
    r = await catalog.post("/products/search", None, {"text": "sepsis", "per_page": 2, "page": 3})
    assert len(names(r)) == 1


async def test_a_page_past_the_end_still_has_the_total_and_facets(catalog) -> None:
    await product(catalog, "Alpha tool", mime_type="application/x-knart")
    r = await catalog.post("/products/search", None, {"text": "tool", "page": 9, "facets": ["mime_type"]})
    assert r.status == 200 and r.body["results"] == [] and r.body["total_entries"] == 1
    assert r.body["facets"]["mime_type"] == [{"value": "application/x-knart", "count": 1}]
