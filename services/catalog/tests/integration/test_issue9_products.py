"""Issue 9 in the products and search areas: embargoes, families, probes, multipart, envelopes.

One test per finding, each named after it; each failed on the code before its fix.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import pytest

PAST = datetime.now(UTC) - timedelta(days=1)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


async def _row(catalog: Any, owner: UUID, name: str, listed: bool = True) -> UUID:
    """A product written straight into the database (listed, or a draft)."""
    pid = uuid4()
    when = PAST if listed else None
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, published_at, visible_at) VALUES ($1, $2, $3, $4, $4)",
        pid,
        owner,
        name,
        when,
    )
    return pid


def _same_answer(a: Any, b: Any) -> None:
    """Two replies a caller cannot tell apart: status, content type and body (but the request id)."""
    assert (a.status, a.content_type) == (b.status, b.content_type), (a, b)
    strip = {"request_id"}
    assert {k: v for k, v in a.body.items() if k not in strip} == {
        k: v for k, v in b.body.items() if k not in strip
    }


# --- finding: owners lift an operator's embargo ------------------------------------------


async def test_owner_cannot_lift_an_operators_embargo(catalog) -> None:
    p = await catalog.make_product()
    path = f"/products/{p['id']}"
    future = datetime.now(UTC) + timedelta(days=2)
    r = await catalog.post(f"{path}/publish", catalog.operator, {"product": {"visible_at": _iso(future)}})
    assert r.status == 200 and r.body["listed"] is False, r
    embargo = r.body["visible_at"]
    mark = await catalog.outbox_mark()
    # Sooner, now, or cleared: the owner may not; nothing changes and nothing is announced.
    for sooner in (_iso(datetime.now(UTC) - timedelta(minutes=1)), _iso(future - timedelta(hours=1)), None):
        r = await catalog.patch(path, catalog.isv, {"product": {"visible_at": sooner}})
        assert r.status == 403, (sooner, r)
    assert (await catalog.get(path, catalog.isv)).body["visible_at"] == embargo
    assert (await catalog.get(path, catalog.customer)).status == 404
    assert await catalog.events(mark) == []
    # Echoing the product back unchanged (as the reference UI does) is no change.
    r = await catalog.patch(path, catalog.isv, {"product": {"visible_at": embargo, "description": "New"}})
    assert r.status == 200 and r.body["visible_at"] == embargo, r
    # Postponing is the owner's own choice.
    later = _iso(future + timedelta(days=1))
    r = await catalog.patch(path, catalog.isv, {"product": {"visible_at": later}})
    assert r.status == 200 and r.body["visible_at"] == later.replace("+00:00", "Z"), r
    # Only staff (products.publish, or everything.manage) shorten or lift it.
    r = await catalog.patch(path, catalog.operator, {"product": {"visible_at": _iso(datetime.now(UTC))}})
    assert r.status == 200 and r.body["listed"] is True, r
    assert (await catalog.get(path, catalog.customer)).status == 200


async def test_owner_cannot_show_a_product_operators_published_hidden(catalog) -> None:
    p = await catalog.make_product()
    r = await catalog.post(f"/products/{p['id']}/publish", catalog.operator, {"visible_at": None})
    assert r.status == 200 and r.body["visible_at"] is None, r
    r = await catalog.patch(f"/products/{p['id']}", catalog.isv, {"visible_at": _iso(PAST)})
    assert r.status == 403, r
    r = await catalog.patch(f"/products/{p['id']}", catalog.admin, {"visible_at": _iso(PAST)})
    assert r.status == 200 and r.body["listed"] is True, r


async def test_owner_still_sets_visible_at_on_a_draft(catalog) -> None:
    """Before publication visible_at is the owner's proposal; publishing approves it."""
    p = await catalog.make_product(visible_at=_iso(datetime.now(UTC) + timedelta(days=5)))
    r = await catalog.patch(f"/products/{p['id']}", catalog.isv, {"visible_at": _iso(PAST)})
    assert r.status == 200 and r.body["visible_at"] is not None, r
    r = await catalog.patch(f"/products/{p['id']}", catalog.isv, {"visible_at": None})
    assert r.status == 200 and r.body["visible_at"] is None, r


# --- finding: transitive children/parents enumerate every path ---------------------------


async def _diamond_ladder(catalog: Any, levels: int) -> tuple[UUID, list[UUID], list[UUID]]:
    """A root over ``levels`` rungs of two products, each parent of both on the next rung.

    From the root there are 2**levels paths to the last rung, and only 2*levels products.
    """
    owner = catalog.isv.user_id
    root = await _row(catalog, owner, f"Root {uuid4().hex[:6]}")
    rungs = [
        [await _row(catalog, owner, f"Rung {i:02d}{side} {uuid4().hex[:6]}") for side in "ab"]
        for i in range(levels)
    ]
    edges = [(root, child) for child in rungs[0]]
    for upper, lower in zip(rungs, rungs[1:], strict=False):
        edges += [(parent, child) for parent in upper for child in lower]
    edges.append((rungs[-1][0], root))  # and a cycle back to the top
    await (await catalog.db()).executemany(
        "INSERT INTO sub_products (id, parent_id, child_id) VALUES ($1, $2, $3)",
        [(uuid4(), parent, child) for parent, child in edges],
    )
    return root, [pid for rung in rungs for pid in rung], rungs[-1]


async def _all_ids(catalog: Any, path: str) -> list[str]:
    ids: list[str] = []
    for page in (1, 2):
        r = await catalog.get(f"{path}&per_page=30&page={page}")
        assert r.status == 200, r
        ids += [p["id"] for p in r.body["results"]]
    return ids


# A hang guard only (the repository's default is 120 s): before the fix this walked 2**25 paths.
@pytest.mark.timeout(60)
async def test_transitive_family_is_walked_by_products_not_paths(catalog) -> None:
    root, family, bottom = await _diamond_ladder(catalog, 25)
    r = await catalog.get(f"/products/{root}/children?transitive=true&per_page=1")
    assert r.status == 200 and r.body["total_entries"] == len(family) == 50, r
    ids = await _all_ids(catalog, f"/products/{root}/children?transitive=true")
    assert sorted(ids) == sorted(str(pid) for pid in family)  # each product once
    # Upwards from the last rung: the root and every rung above, each once; the cycle leads
    # back to the product itself, which is never its own parent.
    ids = await _all_ids(catalog, f"/products/{bottom[0]}/parents?transitive=true")
    assert sorted(ids) == sorted(str(pid) for pid in [root, *family] if pid not in bottom)


# --- finding: hidden products can be probed -----------------------------------------------


async def test_hidden_product_ids_cannot_be_probed_with_caller_chosen_ids(catalog) -> None:
    hidden = await _row(catalog, uuid4(), f"Secret {uuid4().hex[:6]}", listed=False)
    assert (await catalog.get(f"/products/{hidden}", catalog.isv)).status == 404
    taken = await catalog.post("/products", catalog.isv, {"product": {"id": str(hidden), "name": "Probe A"}})
    free = await catalog.post("/products", catalog.isv, {"product": {"id": str(uuid4()), "name": "Probe B"}})
    # The answer for the hidden product's id is the answer for an id nobody has.
    assert taken.status == 422 and set(taken.errors) == {"id"}, taken
    _same_answer(taken, free)
    assert str(hidden) not in taken.raw.decode()
    # Links too: a link between hidden products is not confirmed by its id.
    a, b = await catalog.make_product(), await catalog.make_product()
    link = uuid4()
    await (await catalog.db()).execute(
        "INSERT INTO sub_products (id, parent_id, child_id) VALUES ($1, $2, $3)",
        link,
        hidden,
        await _row(catalog, uuid4(), f"Secret child {uuid4().hex[:6]}", listed=False),
    )
    body = {"parent_id": a["id"], "child_id": b["id"]}
    taken = await catalog.post("/sub_products", catalog.isv, {"sub_product": {**body, "id": str(link)}})
    free = await catalog.post("/sub_products", catalog.isv, {"sub_product": {**body, "id": str(uuid4())}})
    assert taken.status == 422 and set(taken.errors) == {"id"}, taken
    _same_answer(taken, free)
    # Those who see every product choose ids as before: nothing is hidden from them.
    chosen = str(uuid4())
    r = await catalog.post("/products", catalog.operator, {"product": {"id": chosen, "name": "Chosen"}})
    assert r.status == 201 and r.body["id"] == chosen, r


async def test_hidden_product_names_answer_like_visible_ones(catalog) -> None:
    """Names are globally unique (the spec), so a clash must fail for everyone; the answer is
    the one a listed product's name gets, and carries nothing of the hidden record."""
    owner = uuid4()
    hidden_name, listed_name = f"Secret {uuid4().hex[:6]}", f"Public {uuid4().hex[:6]}"
    hidden = await _row(catalog, owner, hidden_name, listed=False)
    await _row(catalog, owner, listed_name)
    to_hidden = await catalog.post("/products", catalog.isv, {"product": {"name": hidden_name}})
    to_listed = await catalog.post("/products", catalog.isv, {"product": {"name": listed_name}})
    assert to_hidden.status == 422 and to_hidden.errors == {"name": ["has already been taken"]}
    _same_answer(to_hidden, to_listed)
    mine = await catalog.make_product()
    renamed = await catalog.patch(f"/products/{mine['id']}", catalog.isv, {"name": hidden_name})
    _same_answer(renamed, to_listed)
    for reply in (to_hidden, renamed):
        assert str(hidden) not in reply.raw.decode() and str(owner) not in reply.raw.decode()


# --- finding: the reference UI sends multipart product bodies -----------------------------


def _form(fields: dict[str, Any]) -> aiohttp.FormData:
    """A browser's FormData: always multipart, even without a file."""
    data = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        if isinstance(value, bytes):
            data.add_field(name, value, filename="logo.png", content_type="image/png")
        else:
            data.add_field(name, value)
    return data


async def test_product_create_and_update_accept_multipart_forms(catalog) -> None:
    fields = {
        "product[name]": "Form Made",
        "product[description]": "From the reference UI",
        "product[support_url]": "https://support.example.org",
        "product[visible_at]": "",  # an empty field is a null, as the UI sends it
    }
    r = await catalog.post("/products", catalog.isv, data=_form(fields))
    assert r.status == 201, r
    p = r.body
    assert (p["name"], p["description"], p["visible_at"]) == ("Form Made", "From the reference UI", None)
    # Update: plain names work too; echoed server fields are dropped; an empty file input is no file.
    data = _form({"description": "Changed", "product[created_at]": p["created_at"]})
    data.add_field("product[logo]", b"", filename="", content_type="application/octet-stream")
    r = await catalog.patch(f"/products/{p['id']}", catalog.isv, data=data)
    assert r.status == 200 and r.body["description"] == "Changed" and r.body["name"] == "Form Made", r
    r = await catalog.put(f"/products/{p['id']}", catalog.isv, data=_form({"product[uri]": "urn:form"}))
    assert r.status == 200 and r.body["uri"] == "urn:form", r
    # A script's urlencoded form (no file) reads the same way.
    r = await catalog.patch(f"/products/{p['id']}", catalog.isv, data={"product[locale]": "en-GB"})
    assert r.status == 200 and r.body["locale"] == "en-GB" and r.body["uri"] == "urn:form", r


async def test_multipart_product_bodies_are_validated_and_bounded(catalog) -> None:
    p = await catalog.make_product()
    path = f"/products/{p['id']}"
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"product[support_url]": "ftp://x"}, 422, "support_url"),
        ({"product[colour]": "red"}, 422, "colour"),
        ({"product[name]": "x" * 300}, 422, "name"),
        ({"product[name]": ""}, 422, "name"),  # an empty field is a null: a blank name
        ({"product[logo]": b"\x89PNG not really"}, 422, "logo"),  # logos: PUT /products/{id}/logo
        ({"product[description]": "x" * 70_000}, 413, None),  # past the per-field bound
    ]
    for fields, status, field in cases:
        r = await catalog.patch(path, catalog.isv, data=_form(fields))
        assert r.status == status and (field is None or field in r.errors), (fields, r)
    many = aiohttp.FormData(default_to_multipart=True)
    for i in range(200):
        many.add_field(f"product[f{i}]", "x")
    r = await catalog.patch(path, catalog.isv, data=many)
    assert r.status == 413, r
    twice = aiohttp.FormData(default_to_multipart=True)
    twice.add_field("product[name]", "One")
    twice.add_field("product[name]", "Two")
    r = await catalog.patch(path, catalog.isv, data=twice)
    assert r.status == 422 and "name" in r.errors, r
    r = await catalog.patch(path, None, data=_form({"product[name]": "Anon"}))
    assert r.status == 401, r
    r = await catalog.patch(path, catalog.other_isv, data=_form({"product[name]": "Not yours"}))
    assert r.status == 404, r  # someone else's draft
    assert (await catalog.get(path, catalog.isv)).body["name"] == p["name"]  # nothing changed


# --- finding: the reference agent reads total_results ---------------------------------------


async def test_search_envelopes_carry_total_results(catalog) -> None:
    await _row(catalog, uuid4(), f"Total {uuid4().hex[:6]}")
    await _row(catalog, uuid4(), f"Total {uuid4().hex[:6]}")
    for r in (
        await catalog.get("/products?per_page=1"),
        await catalog.post("/products/search", None, {"text": "Total", "per_page": 1}),
    ):
        assert r.status == 200, r
        assert r.body["total_results"] == r.body["total_entries"] == 2, r
