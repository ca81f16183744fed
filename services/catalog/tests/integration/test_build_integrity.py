"""Issue 9, integrity: builds pinned to the validated digest, retired builds off the market,
and dry-run snapshots of builds still being edited."""

from __future__ import annotations

from importlib import resources
from typing import Any
from uuid import UUID

import orjson
import pytest

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
IMAGE = {
    "container_registry": "registry.example.org:5000",
    "container_repository": "acme/app",
    "container_tag": "v1",
}


async def draft(catalog: Any, pid: str, version: str = "1.0.0", **fields: Any) -> dict[str, Any]:
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, {"build": {"version": version, **fields}})
    assert r.status == 201, r
    return r.body  # type: ignore[no-any-return]


async def submitted(catalog: Any, pid: str, **fields: Any) -> dict[str, Any]:
    b = await draft(catalog, pid, **(IMAGE | fields))
    r = await catalog.post(b["path"] + "/submit", catalog.isv)
    assert r.status == 200, r
    return r.body  # type: ignore[no-any-return]


async def exported(catalog: Any, b: dict[str, Any], who: Any = None) -> Any:
    return await catalog.get(b["path"] + "/marketplace.json", who)


# --- finding 1: the validated digest is pinned and published --------------------------------------


async def test_digest_pinning_approval_publishes_the_validated_digest(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = await submitted(catalog, pid)
    assert b["image_digest"] is None and b["image"] == "registry.example.org:5000/acme/app:v1"
    await catalog.review(b["id"], pid, "validating")
    await catalog.review(b["id"], pid, "awaiting_review", validated=True, image_digest=D1)
    r = await catalog.get(b["path"], catalog.isv)
    assert r.body["image_digest"] == D1 and r.body["image"] == f"registry.example.org:5000/acme/app@{D1}"
    # Approval without a digest keeps the pinned one; publication names exactly it.
    await catalog.review(b["id"], pid, "approved")
    for who in (None, catalog.customer, catalog.isv):
        r = await catalog.get(b["path"], who)
        assert r.status == 200 and r.body["status"] == "published", r
        assert r.body["image_digest"] == D1
        assert r.body["image"] == f"registry.example.org:5000/acme/app@{D1}"
        assert r.body["container_tag"] == "v1"  # the tag stays on record, but names nothing
    listed = await catalog.get(f"/products/{pid}/builds")
    assert [x["image"] for x in listed.body["results"]] == [f"registry.example.org:5000/acme/app@{D1}"]
    doc = orjson.loads((await exported(catalog, b)).raw)
    assert doc["product"]["build"]["binary"] == {
        "registry": "https://registry.example.org:5000",
        "image": f"registry.example.org:5000/acme/app@{D1}",
    }
    # Whatever the tag points at later, a later move without a digest changes nothing.
    await catalog.review(b["id"], pid, "published")
    r = await catalog.get(b["path"])
    assert r.body["image_digest"] == D1 and orjson.loads((await exported(catalog, b)).raw) == doc


async def test_digest_pinning_resubmission_pins_the_new_digest(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = await submitted(catalog, pid)
    await catalog.review(b["id"], pid, "changes_requested", validated=True, image_digest=D1, reason="Fix it.")
    assert (await catalog.get(b["path"], catalog.isv)).body["image_digest"] == D1
    # The ISV pushes fixed bytes under the same tag and resubmits: the validator must
    # resolve the tag again, not re-check the bytes it pinned last time.
    assert (await catalog.patch(b["path"], catalog.isv, {"release_notes": "Fixed."})).status == 200
    mark = await catalog.outbox_mark()
    r = await catalog.post(b["path"] + "/submit", catalog.isv)
    assert r.status == 200 and r.body["image_digest"] is None, r
    [snapshot] = [e for t, e in await catalog.events(mark) if t == "catalog.build.submitted"]
    assert (snapshot["tag"], snapshot["digest"]) == ("v1", None)
    await catalog.review(b["id"], pid, "awaiting_review", validated=True, image_digest=D2)
    await catalog.review(b["id"], pid, "approved")
    r = await catalog.get(b["path"])
    assert r.body["image_digest"] == D2 and r.body["image"].endswith(f"@{D2}")


async def test_digest_pinning_survives_a_build_echoed_back_whole(catalog: Any) -> None:
    """The reference UI sends the whole build back on update: the pinned digest is no
    declaration of the owner's, and a resubmission still drops it."""
    pid = await catalog.sql_product(catalog.isv)
    b = await submitted(catalog, pid)
    await catalog.review(b["id"], pid, "changes_requested", image_digest=D1, reason="Fix it.")
    whole = (await catalog.get(b["path"], catalog.isv)).body
    r = await catalog.put(b["path"], catalog.isv, {"build": dict(whole, release_notes="Fixed.")})
    assert r.status == 200 and r.body["image_digest"] == D1, r
    r = await catalog.post(b["path"] + "/submit", catalog.isv)
    assert r.status == 200 and r.body["image_digest"] is None, r
    # A digest the owner sends that differs is theirs, and stays.
    await catalog.review(b["id"], pid, "changes_requested", image_digest=D1, reason="Again.")
    assert (await catalog.patch(b["path"], catalog.isv, {"image_digest": D2})).status == 200
    r = await catalog.post(b["path"] + "/submit", catalog.isv)
    assert r.status == 200 and r.body["image_digest"] == D2, r


async def test_digest_pinning_keeps_a_digest_the_isv_declared(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = await submitted(catalog, pid, image_digest=D1)
    assert b["image"] == f"registry.example.org:5000/acme/app@{D1}"
    await catalog.review(b["id"], pid, "rejected", reason="No.")
    r = await catalog.post(b["path"] + "/submit", catalog.isv)
    assert r.status == 200 and r.body["image_digest"] == D1, r


async def test_digest_pinning_refuses_a_malformed_digest(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = await submitted(catalog, pid)
    with pytest.raises(ValueError, match="digest"):
        await catalog.review(b["id"], pid, "approved", image_digest="sha256:short")
    r = await catalog.get(b["path"], catalog.isv)
    assert r.body["status"] == "submitted" and r.body["image_digest"] is None


async def test_digest_pinning_export_of_an_imported_build(catalog: Any) -> None:
    examples = resources.files("hspm.catalog.marketplace") / "examples"
    raw = (examples / "cds-hooks.json").read_bytes()
    doc = orjson.loads(raw)
    pid = doc["product"]["uuid"]
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, published_at, visible_at) "
        "VALUES ($1, $2, 'CDS', now(), now())",
        UUID(pid),
        catalog.isv.user_id,
    )
    r = await catalog.request(
        "POST",
        f"/products/{pid}/builds/import",
        catalog.isv,
        data=raw,
        headers={"Content-Type": "application/json"},
    )
    assert r.status == 201, r
    b = r.body
    await catalog.review(b["id"], pid, "approved", validated=True, image_digest=D1)
    r = await catalog.get(b["path"])
    assert r.body["image"] == f"index.docker.io/northwind/sepsis-hooks@{D1}"
    binary = orjson.loads((await exported(catalog, b)).raw)["product"]["build"]["binary"]
    assert binary["image"] == f"index.docker.io/northwind/sepsis-hooks@{D1}"
    # The document as submitted stays as submitted.
    assert (await catalog.get(b["path"] + "/marketplace.json?raw=true", catalog.isv)).raw == raw


# --- finding 2: recalled and withdrawn builds leave the market --------------------------------------


@pytest.mark.parametrize("retired", ["withdrawn", "recalled"])
async def test_recalled_and_withdrawn_builds_are_not_offered(catalog: Any, retired: str) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = await draft(catalog, pid, **IMAGE)
    put = await catalog.put(
        b["path"] + "/asset", catalog.isv, data=b"<xml/>", headers={"Content-Type": "text/xml"}
    )
    assert put.status == 200, put
    assert (await catalog.post(b["path"] + "/submit", catalog.isv)).status == 200
    await catalog.review(b["id"], pid, "approved", validated=True, image_digest=D1)
    for who in (None, catalog.customer):
        assert (await catalog.get(b["path"], who)).status == 200
        assert (await catalog.get(b["path"] + "/asset", who)).status == 200
    await catalog.review(b["id"], pid, retired, reason="Harmful.")
    for who in (None, catalog.customer, catalog.other_isv):
        assert (await catalog.get(b["path"], who)).status == 404
        assert (await catalog.get(f"/products/{pid}/builds", who)).body["total_entries"] == 0
        assert (await catalog.get(b["path"] + "/asset", who)).status == 404
        assert (await exported(catalog, b, who)).status == 404
        assert (await catalog.get(b["path"] + "/configurations", who)).status == 404
    for who in (catalog.isv, catalog.operator, catalog.auditor):
        r = await catalog.get(b["path"], who)
        assert r.status == 200 and r.body["status"] == retired and r.body["status_reason"] == "Harmful.", r
        listed = await catalog.get(f"/products/{pid}/builds", who)
        assert [x["status"] for x in listed.body["results"]] == [retired]
        assert (await exported(catalog, b, who)).status == 200
    assert (await catalog.get(b["path"] + "/asset", catalog.isv)).raw == b"<xml/>"
    # Auditors read what was on the market, not drafts.
    other = await draft(catalog, pid, version="2.0.0")
    assert (await catalog.get(other["path"], catalog.auditor)).status == 404


async def test_deprecated_builds_stay_offered(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = await submitted(catalog, pid)
    await catalog.review(b["id"], pid, "approved", image_digest=D1)
    await catalog.review(b["id"], pid, "deprecated", reason="Use 2.0.")
    r = await catalog.get(b["path"])
    assert r.status == 200 and r.body["status"] == "deprecated"


async def test_recalled_builds_leave_the_interface_search_counts(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    i = await catalog.post(
        "/interfaces", catalog.admin, {"name": "FHIR R4", "uri": "urn:fhir", "version": "4"}
    )
    b = await draft(catalog, pid, **IMAGE)
    assert (
        await catalog.post(b["path"] + "/exposures", catalog.isv, {"interface_id": i.body["id"]})
    ).status == 201
    assert (await catalog.post(b["path"] + "/submit", catalog.isv)).status == 200
    await catalog.review(b["id"], pid, "approved", image_digest=D1)
    db = await catalog.db()
    count = "SELECT published_builds FROM product_interfaces WHERE product_id = $1"
    assert await db.fetchval(count, UUID(pid)) == 1
    await catalog.review(b["id"], pid, "recalled", reason="Harm.")
    assert await db.fetchval(count, UUID(pid)) == 0
    # A recall is final in curation's machine: a "published" arriving later is an older
    # message redelivered, and counts nothing again (test_review_order.py).
    await catalog.review(b["id"], pid, "published")
    assert await db.fetchval(count, UUID(pid)) == 0


# --- finding 8: dry runs see every change of a build still being edited ------------------------------


async def test_draft_changes_emit_build_draft_changed(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    mark = await catalog.outbox_mark()
    b = await draft(catalog, pid, **IMAGE)
    [(kind, ev)] = await catalog.events(mark)
    assert kind == "catalog.build.draft_changed" and ev["build_id"] == b["id"] and ev["tag"] == "v1"
    assert ev["owner_id"] == str(catalog.isv.user_id) and ev["configurations"] == []

    mark = await catalog.outbox_mark()
    c = await catalog.post(b["path"] + "/configurations", catalog.isv, {"name": "web", "default": True})
    t = await catalog.post(c.body["path"] + "/tasks", catalog.isv, {"name": "web", "memory_maximum": 256})
    assert t.status == 201, t
    await catalog.patch(t.body["path"], catalog.isv, {"memory_maximum": 512})
    await catalog.patch(b["path"], catalog.isv, {"container_tag": "v2"})
    events = await catalog.events(mark)
    assert [k for k, _ in events] == ["catalog.build.draft_changed"] * 4
    last = events[-1][1]
    assert last["tag"] == "v2" and last["configurations"][0]["tasks"][0]["memory_maximum"] == 512

    # Reading emits nothing; a submitted build is curation's and emits no draft changes.
    mark = await catalog.outbox_mark()
    await catalog.get(b["path"], catalog.isv)
    assert await catalog.events(mark) == []
    await catalog.post(b["path"] + "/submit", catalog.isv)
    assert [k for k, _ in await catalog.events(mark)] == ["catalog.build.submitted"]


async def test_draft_changes_of_a_build_sent_back_emit_too(catalog: Any) -> None:
    pid = await catalog.sql_product(catalog.isv)
    b = await submitted(catalog, pid)
    await catalog.review(b["id"], pid, "changes_requested", reason="Declare memory.")
    mark = await catalog.outbox_mark()
    r = await catalog.put(
        b["path"] + "/asset", catalog.isv, data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert r.status == 200, r
    [(kind, ev)] = await catalog.events(mark)
    assert kind == "catalog.build.draft_changed" and ev["has_asset"] is True
