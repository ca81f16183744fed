"""Builds: create, read, update, delete, submit, asset, visibility and curation's decisions."""

from __future__ import annotations

import hashlib
import io
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest

from hspm.catalog.builds.consumers import on_build_review_changed
from hspm.catalog.keys import settings_key
from hspm.common.events import curation


async def product(catalog: Any, owner: Any, listed: bool = True, mime_type: str | None = None) -> str:
    """A product straight in SQL (the products API is written elsewhere)."""
    pid = uuid4()
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, mime_type, published_at, visible_at) "
        "VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END, CASE WHEN $5 THEN now() END)",
        pid,
        owner.user_id,
        f"P {pid.hex[:8]}",
        mime_type,
        listed,
    )
    return str(pid)


async def build(catalog: Any, pid: str, who: Any, **fields: Any) -> dict[str, Any]:
    r = await catalog.post(f"/products/{pid}/builds", who, {"build": {"version": "1.0.0", **fields}})
    assert r.status == 201, r
    return r.body  # type: ignore[no-any-return]


async def publish(catalog: Any, bid: str) -> None:
    await (await catalog.db()).execute(
        "UPDATE builds SET published_at = now(), status = 'published' WHERE id = $1", UUID(bid)
    )


async def review(catalog: Any, bid: str, pid: str, state: str, **kw: Any) -> None:
    """Deliver curation's event the way the consumer does: one transaction, the service's codecs."""
    event = curation.BuildReviewChanged(build_id=UUID(bid), product_id=UUID(pid), state=state, **kw)
    conn = await asyncpg.connect(catalog.dsn)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )
        async with conn.transaction():
            await on_build_review_changed(conn, event)
    finally:
        await conn.close()


# --- create -----------------------------------------------------------------------------------


async def test_owner_creates_a_draft_build(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    r = await catalog.post(
        f"/products/{pid}/builds",
        catalog.isv,
        {
            "build": {
                "version": "1.2.3-rc.1",
                "software_version": "2024.1",
                "container_registry": "registry.example.org:5000",
                "container_repository": "acme/cds-app",
                "container_tag": "v1.2.3",
                "image_digest": "sha256:" + "a" * 64,
                "release_notes": "First.",
                "permissions": {"network": True},
            }
        },
    )
    assert r.status == 201, r
    b = r.body
    assert b["status"] == "draft" and b["published_at"] is None and b["asset_available"] is False
    assert b["path"] == f"/products/{pid}/builds/{b['id']}"
    assert r.headers["Location"] == b["url"] == "http://marketplace.test" + b["path"]
    for key in (
        "id",
        "product_id",
        "version",
        "software_version",
        "release_notes",
        "permissions",
        "container_registry",
        "container_repository",
        "container_tag",
        "image_digest",
        "validated_at",
        "created_at",
        "updated_at",
    ):
        assert key in b
    row = await (await catalog.db()).fetchrow(
        "SELECT version_core, version_pre FROM builds WHERE id = $1", UUID(b["id"])
    )
    assert row["version_core"] == [1, 2, 3] and row["version_pre"] is not None


async def test_bare_body_and_non_semver_version(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, {"version": "2024-spring"})
    assert r.status == 201, r
    row = await (await catalog.db()).fetchrow(
        "SELECT version_core FROM builds WHERE id = $1", UUID(r.body["id"])
    )
    assert row["version_core"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "latest"),
        ("version", "Nightly"),
        ("version", ""),
        ("container_registry", "https://registry.example.org"),
        ("container_repository", "Acme/App"),
        ("container_repository", "acme//app"),
        ("container_tag", "-bad"),
        ("container_tag", "x" * 129),
        ("image_digest", "sha256:abc"),
        ("permissions", "all"),
        ("unknown", 1),
    ],
)
async def test_bad_build_fields_are_422_naming_the_field(catalog, field: str, value: Any) -> None:
    pid = await product(catalog, catalog.isv)
    body = {"version": "1.0.0", field: value}
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, {"build": body})
    assert r.status == 422, r
    assert field in r.errors


async def test_version_is_unique_per_product(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    await build(catalog, pid, catalog.isv)
    r = await catalog.post(f"/products/{pid}/builds", catalog.isv, {"build": {"version": "1.0.0"}})
    assert r.status == 422 and "version" in r.errors, r
    other = await product(catalog, catalog.isv)
    assert (await catalog.post(f"/products/{other}/builds", catalog.isv, {"version": "1.0.0"})).status == 201


async def test_who_may_create(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    body = {"build": {"version": "1.0.0"}}
    assert (await catalog.post(f"/products/{pid}/builds", None, body)).status == 401
    assert (await catalog.post(f"/products/{pid}/builds", None, "not json at all")).status == 401
    assert (await catalog.post(f"/products/{pid}/builds", catalog.other_isv, body)).status == 403
    assert (await catalog.post(f"/products/{pid}/builds", catalog.customer, body)).status == 403
    r = await catalog.post(f"/products/{pid}/builds", catalog.operator, {"build": {"version": "2.0.0"}})
    assert r.status == 201, r
    draft = await product(catalog, catalog.isv, listed=False)
    assert (await catalog.post(f"/products/{draft}/builds", catalog.other_isv, body)).status == 404
    assert (await catalog.post(f"/products/{uuid4()}/builds", catalog.admin, body)).status == 404
    assert (await catalog.post("/products/nope/builds", catalog.admin, body)).status == 404


async def test_read_only_fields_are_ignored(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(
        catalog,
        pid,
        catalog.isv,
        status="published",
        published_at="2020-01-01T00:00:00Z",
        validated_at="2020-01-01",
    )
    assert b["status"] == "draft" and b["published_at"] is None and b["validated_at"] is None
    echoed = dict(b, status="published", published_at="2020-01-01T00:00:00Z", release_notes="Edited")
    r = await catalog.put(b["path"], catalog.isv, {"build": echoed})
    assert r.status == 200, r
    assert (
        r.body["status"] == "draft" and r.body["published_at"] is None and r.body["release_notes"] == "Edited"
    )


# --- read and visibility --------------------------------------------------------------------


async def test_drafts_are_hidden_from_others(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    for who in (None, catalog.customer, catalog.other_isv):
        assert (await catalog.get(b["path"], who)).status == 404
        assert (await catalog.get(f"/products/{pid}/builds", who)).body["total_entries"] == 0
    for who in (catalog.isv, catalog.operator, catalog.admin):
        assert (await catalog.get(b["path"], who)).status == 200
        assert (await catalog.get(f"/products/{pid}/builds", who)).body["total_entries"] == 1
    await publish(catalog, b["id"])
    r = await catalog.get(b["path"])
    assert r.status == 200 and r.body["status"] == "published"


async def test_builds_of_hidden_products_are_hidden(catalog) -> None:
    pid = await product(catalog, catalog.isv, listed=False)
    b = await build(catalog, pid, catalog.isv)
    await publish(catalog, b["id"])
    assert (await catalog.get(b["path"])).status == 404
    assert (await catalog.get(f"/products/{pid}/builds")).status == 404
    assert (await catalog.get(b["path"], catalog.isv)).status == 200


async def test_build_under_the_wrong_product_or_bad_id_is_404(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    other = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    assert (await catalog.get(f"/products/{other}/builds/{b['id']}", catalog.admin)).status == 404
    assert (await catalog.get(f"/products/{pid}/builds/not-a-uuid", catalog.admin)).status == 404
    assert (await catalog.get(f"/products/{pid}/builds/{uuid4()}", catalog.admin)).status == 404


async def test_index_sorts_by_semver_precedence_and_pages(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    versions = [
        "1.10.0",
        "1.2.0",
        "1.0.0-alpha.beta",
        "1.0.0",
        "1.0.0-alpha.10",
        "1.0.0-alpha.2",
        "1.0.0-alpha",
        "1.0.0-beta",
        "2.0.0",
    ]
    for v in versions:
        await build(catalog, pid, catalog.isv, version=v)
    r = await catalog.get(f"/products/{pid}/builds?per_page=100", catalog.isv)
    assert [b["version"] for b in r.body["results"]] == [
        "1.0.0-alpha",
        "1.0.0-alpha.2",
        "1.0.0-alpha.10",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    r = await catalog.get(f"/products/{pid}/builds?order=desc&per_page=2&page=1", catalog.isv)
    assert [b["version"] for b in r.body["results"]] == ["2.0.0", "1.10.0"]
    assert r.body["total_entries"] == 9 and r.body["total_pages"] == 5
    assert r.body["previous_page"] is None and r.body["next_page"] == 2
    last = await catalog.get(f"/products/{pid}/builds?per_page=2&page=5", catalog.isv)
    assert (
        len(last.body["results"]) == 1 and last.body["next_page"] is None and last.body["previous_page"] == 4
    )
    past = await catalog.get(f"/products/{pid}/builds?per_page=2&page=9", catalog.isv)
    assert past.body["results"] == []
    assert (await catalog.get(f"/products/{pid}/builds?sort=bogus", catalog.isv)).status == 422
    assert (await catalog.get(f"/products/{pid}/builds?page=0", catalog.isv)).status == 422


async def test_index_filters_and_other_sorts(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    a = await build(catalog, pid, catalog.isv, version="1.0.0")
    await build(catalog, pid, catalog.isv, version="1.0.1")
    await publish(catalog, a["id"])
    r = await catalog.get(f"/products/{pid}/builds?version=1.0.1", catalog.isv)
    assert [b["version"] for b in r.body["results"]] == ["1.0.1"]
    r = await catalog.get(f"/products/{pid}/builds?status=published", catalog.isv)
    assert [b["version"] for b in r.body["results"]] == ["1.0.0"]
    r = await catalog.get(f"/products/{pid}/builds?sort=created_at&order=desc", catalog.isv)
    assert [b["version"] for b in r.body["results"]] == ["1.0.1", "1.0.0"]
    r = await catalog.get(f"/products/{pid}/builds?sort=published_at", catalog.isv)
    assert [b["version"] for b in r.body["results"]] == ["1.0.0", "1.0.1"]
    assert (await catalog.get(f"/products/{pid}/builds")).body["total_entries"] == 1


# --- update, delete, submit -------------------------------------------------------------------


async def test_update_rules(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    await build(catalog, pid, catalog.isv, version="9.9.9")
    assert (await catalog.patch(b["path"], None, {"release_notes": "x"})).status == 401
    assert (await catalog.patch(b["path"], catalog.other_isv, {"release_notes": "x"})).status == 404
    assert (await catalog.patch(b["path"], catalog.isv, {"version": "9.9.9"})).errors.keys() == {"version"}
    assert (await catalog.patch(b["path"], catalog.isv, {"container_tag": "bad tag"})).status == 422
    r = await catalog.patch(b["path"], catalog.operator, {"build": {"version": "3.0.0"}})
    assert r.status == 200 and r.body["version"] == "3.0.0"
    core = await (await catalog.db()).fetchval("SELECT version_core FROM builds WHERE id = $1", UUID(b["id"]))
    assert core == [3, 0, 0]
    await publish(catalog, b["id"])
    assert (await catalog.patch(b["path"], catalog.other_isv, {"release_notes": "x"})).status == 403
    assert (await catalog.patch(b["path"], catalog.isv, {"release_notes": "x"})).status == 409


async def test_delete_returns_the_build_and_emits(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    await publish(catalog, b["id"])
    assert (await catalog.delete(b["path"])).status == 401
    assert (await catalog.delete(b["path"], catalog.other_isv)).status == 403
    mark = await catalog.outbox_mark()
    r = await catalog.delete(b["path"], catalog.isv)
    assert r.status == 200 and r.body["id"] == b["id"], r
    assert (await catalog.get(b["path"], catalog.isv)).status == 404
    events = await catalog.events(mark)
    assert [(t, e["build_id"]) for t, e in events] == [("catalog.build.deleted", b["id"])]


async def test_delete_cascades_packaging(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    c = await catalog.post(b["path"] + "/configurations", catalog.isv, {"name": "web"})
    assert (await catalog.post(c.body["path"] + "/tasks", catalog.isv, {"name": "web"})).status == 201
    assert (await catalog.delete(b["path"], catalog.operator)).status == 200
    db = await catalog.db()
    assert await db.fetchval("SELECT count(*) FROM configurations") == 0
    assert await db.fetchval("SELECT count(*) FROM tasks") == 0


async def test_submit_sends_the_full_snapshot(catalog) -> None:
    pid = await product(catalog, catalog.isv, mime_type="application/smart.v1")
    b = await build(
        catalog,
        pid,
        catalog.isv,
        container_repository="acme/app",
        container_tag="v1",
        container_registry="ghcr.io",
        image_digest="sha256:" + "b" * 64,
    )
    i = await catalog.post(
        "/interfaces", catalog.admin, {"name": "FHIR R4", "uri": "http://hl7.org/fhir/R4", "version": "4.0.1"}
    )
    c = await catalog.post(b["path"] + "/configurations", catalog.isv, {"name": "default", "default": True})
    t = await catalog.post(
        c.body["path"] + "/tasks",
        catalog.isv,
        {
            "name": "web",
            "memory_minimum": 128,
            "memory_maximum": 512,
            "instances_minimum": 1,
            "instances_maximum": 3,
            "ports": [8080],
            "options": ["--prod"],
            "cron": "*/5 * * * *",
            "environment": [{"key": "CLIENT_ID", "description": "SMART client", "required": True}],
        },
    )
    assert t.status == 201, t
    e = await catalog.post(b["path"] + "/exposures", catalog.isv, {"interface_id": i.body["id"]})
    await catalog.post(e.body["path"] + "/parameters", catalog.isv, {"name": "FHIR_URL"})
    await catalog.put(b["path"] + "/asset", catalog.isv, data=b"<xml/>", headers={"Content-Type": "text/xml"})
    assert (await catalog.post(b["path"] + "/submit", None)).status == 401
    assert (await catalog.post(b["path"] + "/submit", catalog.other_isv)).status == 404
    mark = await catalog.outbox_mark()
    r = await catalog.post(b["path"] + "/submit", catalog.isv)
    assert r.status == 200 and r.body["status"] == "submitted", r
    [(kind, ev)] = await catalog.events(mark)
    assert kind == "catalog.build.submitted"
    assert ev["owner_id"] == str(catalog.isv.user_id) and ev["mime_type"] == "application/smart.v1"
    assert (ev["registry"], ev["repository"], ev["tag"], ev["digest"]) == (
        "ghcr.io",
        "acme/app",
        "v1",
        "sha256:" + "b" * 64,
    )
    assert ev["has_asset"] is True
    [conf] = ev["configurations"]
    assert conf["default"] is True and conf["name"] == "default"
    [task] = conf["tasks"]
    assert task["memory_maximum"] == 512 and task["ports"] == [8080] and task["cron"] == "*/5 * * * *"
    assert task["instances_maximum"] == 3 and task["options"] == ["--prod"]
    assert task["environment"][0]["key"] == "CLIENT_ID" and task["environment"][0]["required"] is True
    assert ev["exposures"] == [
        {
            "interface_id": i.body["id"],
            "interface_uri": "http://hl7.org/fhir/R4",
            "interface_name": "FHIR R4",
            "parameters": ["FHIR_URL"],
        }
    ]
    # Submitted: neither the build nor its packaging can change, and it cannot be resubmitted.
    assert (await catalog.post(b["path"] + "/submit", catalog.isv)).status == 409
    assert (await catalog.patch(b["path"], catalog.isv, {"release_notes": "x"})).status == 409
    assert (await catalog.post(b["path"] + "/configurations", catalog.isv, {"name": "x"})).status == 409
    assert (await catalog.put(b["path"] + "/asset", catalog.isv, data=b"x")).status == 409


# --- asset --------------------------------------------------------------------------------------


async def test_asset_upload_download_delete(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    url = b["path"] + "/asset"
    assert (await catalog.get(url, catalog.isv)).status == 404
    assert (await catalog.put(url, None, data=b"abc")).status == 401
    assert (await catalog.put(url, catalog.other_isv, data=b"abc")).status == 404
    r = await catalog.put(
        url + "?name=rule.cql", catalog.isv, data=b"library X", headers={"Content-Type": "text/cql"}
    )
    assert r.status == 200 and r.body["asset_available"] is True, r
    sha = await (await catalog.db()).fetchval("SELECT asset_sha256 FROM builds WHERE id = $1", UUID(b["id"]))
    assert sha == hashlib.sha256(b"library X").hexdigest()
    got = await catalog.get(url, catalog.isv)
    assert got.status == 200 and got.raw == b"library X"
    assert got.headers["Content-Disposition"] == 'attachment; filename="rule.cql"'
    assert got.headers["Content-Type"].startswith("text/cql")
    assert (await catalog.get(url)).status == 404  # a draft build's asset is the draft's
    await publish(catalog, b["id"])
    assert (await catalog.get(url)).status == 200
    await (await catalog.db()).execute("UPDATE builds SET status = 'draft' WHERE id = $1", UUID(b["id"]))
    assert (await catalog.delete(url, catalog.customer)).status == 403
    assert (await catalog.delete(url, catalog.isv)).status == 204
    assert (await catalog.get(url, catalog.isv)).status == 404
    assert (await catalog.delete(url, catalog.isv)).status == 404


async def test_asset_too_large_is_413(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    limit = catalog.client.app[settings_key].max_asset_bytes
    r = await catalog.put(b["path"] + "/asset", catalog.isv, data=io.BytesIO(b"x" * (limit + 1)))
    assert r.status == 413, r
    assert (await catalog.get(b["path"], catalog.isv)).body["asset_available"] is False
    assert (await catalog.put(b["path"] + "/asset", catalog.isv, data=b"")).errors.keys() == {"asset"}


# --- curation's decisions ----------------------------------------------------------------------


async def test_approval_publishes_and_emits(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    await review(catalog, b["id"], pid, "validating")
    assert (await catalog.get(b["path"], catalog.isv)).body["status"] == "validating"
    mark = await catalog.outbox_mark()
    await review(catalog, b["id"], pid, "approved", validated=True)
    r = await catalog.get(b["path"])
    assert r.status == 200, r
    assert r.body["status"] == "published" and r.body["published_at"] and r.body["validated_at"]
    [(kind, ev)] = await catalog.events(mark)
    assert kind == "catalog.build.published" and ev["build_id"] == b["id"] and ev["product_id"] == pid


async def test_rejection_reopens_and_withdrawal_retires(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    await review(catalog, b["id"], pid, "rejected", reason="known vulnerability")
    r = await catalog.get(b["path"], catalog.isv)
    assert r.body["status"] == "rejected" and r.body["status_reason"] == "known vulnerability"
    assert (await catalog.patch(b["path"], catalog.isv, {"release_notes": "fixed"})).status == 200
    await review(catalog, b["id"], pid, "published")
    mark = await catalog.outbox_mark()
    await review(catalog, b["id"], pid, "recalled", reason="harm")
    [(kind, ev)] = await catalog.events(mark)
    assert kind == "catalog.build.withdrawn" and ev["status"] == "recalled" and ev["reason"] == "harm"
    row = await (await catalog.db()).fetchrow(
        "SELECT status, withdrawn_at FROM builds WHERE id = $1", UUID(b["id"])
    )
    assert row["status"] == "recalled" and row["withdrawn_at"] is not None


async def test_unknown_build_review_is_ignored(catalog) -> None:
    mark = await catalog.outbox_mark()
    await review(catalog, str(uuid4()), str(uuid4()), "approved")
    assert await catalog.events(mark) == []


@pytest.mark.parametrize("sent_back", ["rejected", "changes_requested", "auto_rejected"])
async def test_a_build_sent_back_can_be_edited_and_resubmitted(catalog, sent_back: str) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    assert (await catalog.post(b["path"] + "/submit", catalog.isv)).status == 200
    await review(catalog, b["id"], pid, "validating")
    assert (await catalog.patch(b["path"], catalog.isv, {"release_notes": "x"})).status == 409
    await review(catalog, b["id"], pid, sent_back, reason="Declare the memory limit.")
    assert (await catalog.patch(b["path"], catalog.isv, {"release_notes": "Fixed."})).status == 200
    assert (await catalog.post(b["path"] + "/configurations", catalog.isv, {"name": "web"})).status == 201
    mark = await catalog.outbox_mark()
    r = await catalog.post(b["path"] + "/submit", catalog.isv)
    assert r.status == 200 and r.body["status"] == "submitted", r
    [(kind, ev)] = await catalog.events(mark)
    assert kind == "catalog.build.submitted" and [c["name"] for c in ev["configurations"]] == ["web"]
    await review(catalog, b["id"], pid, "awaiting_review")
    r = await catalog.patch(b["path"], catalog.isv, {"release_notes": "y"})
    assert r.status == 409 and "changes_requested" in r.body["detail"], r


async def test_curations_published_after_approval_does_not_publish_again(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    await review(catalog, b["id"], pid, "approved", validated=True)
    first = (await catalog.get(b["path"], catalog.isv)).body["published_at"]
    mark = await catalog.outbox_mark()
    await review(catalog, b["id"], pid, "published")
    r = await catalog.get(b["path"], catalog.isv)
    assert r.body["status"] == "published" and r.body["published_at"] == first
    assert await catalog.events(mark) == []


async def test_approval_awards_the_badges(catalog) -> None:
    pid = await product(catalog, catalog.isv)
    b = await build(catalog, pid, catalog.isv)
    made = [
        (await catalog.post("/badges", catalog.operator, {"name": name, "description": "Endorsed."})).body
        for name in ("smart-certified", "us-core")
    ]
    r = await catalog.post(
        f"/products/{pid}/badges", catalog.operator, {"badge_id": made[1]["id"], "reason": "Earlier."}
    )
    assert r.status == 201, r
    unknown = uuid4()
    await review(
        catalog,
        b["id"],
        pid,
        "approved",
        reason="Passed the SMART suite.",
        badge_ids=[UUID(made[0]["id"]), unknown, UUID(made[1]["id"])],
    )
    r = await catalog.get(f"/products/{pid}/badges", None)
    awards = {a["badge_id"]: a for a in r.body["results"]}
    assert set(awards) == {made[0]["id"], made[1]["id"]}
    assert awards[made[0]["id"]]["reason"] == "Passed the SMART suite."
    assert awards[made[0]["id"]]["awarded_by"] is None
    assert awards[made[1]["id"]]["reason"] == "Earlier."  # the existing award is kept
    # Badges come only with approval.
    other = await build(catalog, pid, catalog.isv, version="2.0.0")
    badge = (await catalog.post("/badges", catalog.operator, {"name": "third", "description": "x"})).body
    await review(catalog, other["id"], pid, "published", badge_ids=[UUID(badge["id"])])
    r = await catalog.get(f"/products/{pid}/badges", None)
    assert badge["id"] not in {a["badge_id"] for a in r.body["results"]}
