"""Licenses over HTTP: public reads, staff writes, every field rendered, the terms' rules."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from hspm.common.auth import Principal

MIT = {"name": "MIT", "url": "https://opensource.org/licenses/MIT"}


def terms(**kw: Any) -> dict[str, Any]:
    return {"name": f"L {uuid4().hex[:8]}", "url": f"https://licenses.test/{uuid4().hex}"} | kw


async def create(licensing, who: Principal | None = None, **kw: Any) -> dict[str, Any]:
    reply = await licensing.post("/licenses", who or licensing.operator, {"license": terms(**kw)})
    assert reply.status == 201, reply
    return reply.body


# --- create ------------------------------------------------------------------------------------


async def test_staff_create_a_license_with_every_field_rendered(licensing) -> None:
    body = {
        "name": "Site 30 days",
        "description": "A trial",
        "url": "https://licenses.test/trial",
        "expiry": "relative_date",
        "days_valid": 30,
        "uses": 100,
        "external_id": "SKU-1",
    }
    reply = await licensing.post("/licenses", licensing.operator, {"license": body})
    assert reply.status == 201, reply
    got = reply.body
    assert {k: got[k] for k in body} == body
    assert got["expires_at"] is None
    assert got["path"] == f"/licenses/{got['id']}"
    assert got["href"] == "http://marketplace.test" + got["path"]
    assert reply.headers["Location"] == got["href"]
    assert got["created_at"].endswith("Z") and got["updated_at"].endswith("Z")
    shown = await licensing.get(got["path"])
    assert shown.status == 200 and shown.body == got


async def test_defaults_are_indefinite_unlimited(licensing) -> None:
    got = await create(licensing)
    assert (got["expiry"], got["days_valid"], got["uses"], got["description"]) == ("indefinite", 0, 0, "")


async def test_an_absolute_license_keeps_its_moment_in_utc(licensing) -> None:
    got = await create(licensing, expiry="absolute_date", expires_at="2031-01-01T02:00:00+02:00")
    assert got["expires_at"] == "2031-01-01T00:00:00Z"


async def test_a_bare_body_is_accepted_too(licensing) -> None:
    reply = await licensing.post("/licenses", licensing.admin, terms())
    assert reply.status == 201, reply


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expiry": "absolute_date"}, "expires_at"),
        ({"expiry": "absolute_date", "expires_at": "2031-01-01T00:00:00"}, "expires_at"),
        ({"expiry": "relative_date"}, "days_valid"),
        ({"expiry": "relative_date", "days_valid": 0}, "days_valid"),
        ({"expiry": "forever"}, "expiry"),
        ({"days_valid": -1}, "days_valid"),
        ({"days_valid": "5"}, "days_valid"),
        ({"days_valid": 36_501}, "days_valid"),
        ({"uses": -1}, "uses"),
        ({"uses": 2**31}, "uses"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"url": "ftp://licenses.test/x"}, "url"),
        ({"url": None}, "url"),
        ({"owner_id": str(uuid4())}, "owner_id"),
        ({"id": "not-a-uuid"}, "id"),
    ],
)
async def test_invalid_terms_are_422_naming_the_field(licensing, change, field) -> None:
    reply = await licensing.post("/licenses", licensing.operator, {"license": terms(**change)})
    assert reply.status == 422, reply
    assert field in reply.errors


async def test_a_missing_url_is_422_not_silently_dropped(licensing) -> None:
    reply = await licensing.post("/licenses", licensing.operator, {"license": {"name": "No url"}})
    assert reply.status == 422 and "url" in reply.errors


async def test_malformed_bodies(licensing) -> None:
    reply = await licensing.post("/licenses", licensing.operator, [1, 2])
    assert reply.status == 422
    reply = await licensing.request(
        "POST", "/licenses", licensing.operator, data=b"{", headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400


@pytest.mark.parametrize("clash", ["name", "url"])
async def test_a_taken_name_or_url_is_409(licensing, clash) -> None:
    first = await create(licensing)
    again = terms() | {clash: first[clash].upper() if clash == "name" else first[clash]}
    reply = await licensing.post("/licenses", licensing.operator, {"license": again})
    assert reply.status == 409, reply
    assert reply.errors == {clash: ["has already been taken"]}
    assert reply.body["message"]


async def test_a_chosen_id_is_kept_and_a_taken_one_is_409(licensing) -> None:
    lid = str(uuid4())
    assert (await create(licensing, id=lid))["id"] == lid
    reply = await licensing.post("/licenses", licensing.operator, terms(id=lid))
    assert reply.status == 409 and "id" in reply.errors


@pytest.mark.parametrize("who", ["customer", "isv", "auditor"])
async def test_only_staff_write_licenses(licensing, who) -> None:
    persona = getattr(licensing, who)
    lic = await create(licensing)
    path = lic["path"]
    assert (await licensing.post("/licenses", persona, terms())).status == 403
    assert (await licensing.patch(path, persona, {"name": "X"})).status == 403
    assert (await licensing.put(path, persona, {"name": "X"})).status == 403
    assert (await licensing.delete(path, persona)).status == 403


async def test_anonymous_writes_are_401(licensing) -> None:
    lic = await create(licensing)
    assert (await licensing.post("/licenses", None, terms())).status == 401
    assert (await licensing.patch(lic["path"], None, {"name": "X"})).status == 401
    assert (await licensing.delete(lic["path"], None)).status == 401


# --- read -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [None, "customer", "isv", "auditor", "operator"])
async def test_anyone_reads_licenses(licensing, who) -> None:
    persona = getattr(licensing, who) if who else None
    lic = await create(licensing, expiry="relative_date", days_valid=7, uses=3)
    assert (await licensing.get(lic["path"], persona)).body == lic
    listed = await licensing.get("/licenses", persona)
    assert listed.status == 200
    assert listed.body["results"] == [lic]
    assert listed.body["total_entries"] == 1


async def test_unknown_and_malformed_ids_are_404(licensing) -> None:
    assert (await licensing.get(f"/licenses/{uuid4()}")).status == 404
    assert (await licensing.get("/licenses/nope")).status == 404
    assert (await licensing.patch(f"/licenses/{uuid4()}", licensing.operator, {"name": "X"})).status == 404
    assert (await licensing.delete(f"/licenses/{uuid4()}", licensing.operator)).status == 404


async def test_index_sorts_filters_and_pages(licensing) -> None:
    await create(licensing, name="Apache 2.0", url="https://l.test/b", external_id="2")
    await create(licensing, name="Apachezz", url="https://l.test/a", expiry="relative_date", days_valid=3)
    await create(licensing, name="MIT", url="https://l.test/c", external_id="1")
    await create(
        licensing,
        name="Yearly",
        url="https://l.test/d",
        expiry="absolute_date",
        expires_at="2031-01-01T00:00:00Z",
    )

    async def names(query: str) -> list[str]:
        reply = await licensing.get(f"/licenses?{query}")
        assert reply.status == 200, reply
        return [r["name"] for r in reply.body["results"]]

    assert await names("") == ["Apache 2.0", "Apachezz", "MIT", "Yearly"]
    assert await names("order=desc") == ["Yearly", "MIT", "Apachezz", "Apache 2.0"]
    assert await names("sort=url") == ["Apachezz", "Apache 2.0", "MIT", "Yearly"]
    assert await names("sort=url&order=desc") == ["Yearly", "MIT", "Apache 2.0", "Apachezz"]
    assert (await names("sort=external_id"))[:2] == ["MIT", "Apache 2.0"]
    assert (await names("sort=expires_at"))[0] == "Yearly"
    assert await names("name=apa") == ["Apache 2.0", "Apachezz"]
    assert await names("name=APACHEZ") == ["Apachezz"]
    assert await names("name=%25") == []
    assert await names("expiry=relative_date") == ["Apachezz"]
    assert await names("expiry=absolute_date&name=y") == ["Yearly"]
    page = await licensing.get("/licenses?per_page=3&page=2")
    assert [r["name"] for r in page.body["results"]] == ["Yearly"]
    assert (page.body["total_entries"], page.body["total_pages"], page.body["previous_page"]) == (4, 2, 1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=description", "sort"),
        ("expiry=forever", "expiry"),
        ("per_page=0", "per_page"),
        ("name=" + "x" * 201, "name"),
    ],
)
async def test_index_refuses_bad_queries(licensing, query, field) -> None:
    reply = await licensing.get(f"/licenses?{query}")
    assert reply.status == 422 and field in reply.errors


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
async def test_staff_update_some_fields_and_keep_the_rest(licensing, method) -> None:
    lic = await create(licensing, description="d", external_id="e")
    reply = await getattr(licensing, method)(lic["path"], licensing.operator, {"license": {"uses": 5}})
    assert reply.status == 200, reply
    assert reply.body["uses"] == 5
    assert {k: reply.body[k] for k in ("name", "url", "description", "external_id")} == {
        k: lic[k] for k in ("name", "url", "description", "external_id")
    }


async def test_an_echoed_license_updates_cleanly(licensing) -> None:
    lic = await create(licensing)
    echoed = lic | {"description": "new", "url": "https://licenses.test/moved"}
    reply = await licensing.put(lic["path"], licensing.operator, {"license": echoed})
    assert reply.status == 200, reply
    assert (reply.body["description"], reply.body["url"]) == ("new", "https://licenses.test/moved")


async def test_the_terms_rules_judge_the_license_as_stored(licensing) -> None:
    lic = await create(licensing)
    reply = await licensing.patch(lic["path"], licensing.operator, {"expiry": "absolute_date"})
    assert reply.status == 422 and "expires_at" in reply.errors
    reply = await licensing.patch(lic["path"], licensing.operator, {"expiry": "relative_date"})
    assert reply.status == 422 and "days_valid" in reply.errors
    ok = await licensing.patch(lic["path"], licensing.operator, {"expiry": "relative_date", "days_valid": 9})
    assert ok.status == 200, ok
    reply = await licensing.patch(lic["path"], licensing.operator, {"days_valid": 0})
    assert reply.status == 422 and "days_valid" in reply.errors


@pytest.mark.parametrize("field", ["name", "url", "expiry", "uses", "days_valid", "description"])
async def test_required_fields_cannot_be_nulled(licensing, field) -> None:
    lic = await create(licensing)
    reply = await licensing.patch(lic["path"], licensing.operator, {field: None})
    assert reply.status == 422 and reply.errors == {field: ["can't be blank"]}


async def test_optional_fields_can_be_nulled(licensing) -> None:
    lic = await create(licensing, external_id="x", expires_at="2031-01-01T00:00:00Z")
    reply = await licensing.patch(lic["path"], licensing.operator, {"external_id": None, "expires_at": None})
    assert reply.status == 200 and reply.body["external_id"] is None and reply.body["expires_at"] is None


async def test_renaming_onto_a_taken_name_is_409(licensing) -> None:
    first, second = await create(licensing), await create(licensing)
    reply = await licensing.patch(second["path"], licensing.operator, {"name": first["name"].lower()})
    assert reply.status == 409 and reply.errors == {"name": ["has already been taken"]}


async def test_an_empty_update_changes_nothing(licensing) -> None:
    lic = await create(licensing)
    reply = await licensing.patch(lic["path"], licensing.operator, {})
    assert reply.status == 200 and reply.body == lic


async def test_extra_fields_on_update_are_422(licensing) -> None:
    lic = await create(licensing)
    reply = await licensing.patch(lic["path"], licensing.operator, {"owner": "me"})
    assert reply.status == 422 and "owner" in reply.errors


# --- delete ---------------------------------------------------------------------------------


async def test_staff_delete_an_unoffered_license(licensing) -> None:
    lic = await create(licensing)
    reply = await licensing.delete(lic["path"], licensing.operator)
    assert reply.status == 200 and reply.body == lic
    assert (await licensing.get(lic["path"])).status == 404


async def test_an_offered_license_cannot_be_deleted(licensing) -> None:
    lic = await create(licensing)
    product = await licensing.product()
    offered = await licensing.post(f"/products/{product}/licenses", licensing.isv, {"license_id": lic["id"]})
    assert offered.status == 201, offered
    reply = await licensing.delete(lic["path"], licensing.admin)
    assert reply.status == 409
    assert "offered under 1 product" in reply.body["message"]
    assert (await licensing.get(offered.body["path"])).status == 200
