"""Instances over HTTP: only deployable builds, by digest; every change on the stream."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hspm.common.events import catalog, curation, licensing


async def test_the_owner_deploys_a_published_build_by_digest_and_the_agent_is_told(notifier) -> None:
    _, bid = await notifier.published_build()
    platform = await notifier.platform()
    made = await notifier.post(
        f"/platforms/{platform['id']}/instances", notifier.customer, {"instance": {"build_id": str(bid)}}
    )
    assert made.status == 201, made
    assert made.body["image"] == "registry.test/isv/app@sha256:" + "ab" * 32
    assert made.body["desired_state"] == "running" and made.body["launch_bindings"] == {}
    stream = await notifier.stream(platform["id"])
    assert [(e["seq"], e["resource_type"], e["event_type"]) for e in stream] == [(1, "instance", "created")]
    model = stream[0]["model"]["instance"]
    assert model["build"]["id"] == str(bid) and model["platform"]["user"]["id"] == str(
        notifier.customer.user_id
    )


async def test_updates_reports_and_deletes_are_streamed_in_order(notifier) -> None:
    _, bid = await notifier.published_build()
    platform = await notifier.platform()
    made = await notifier.post(
        f"/platforms/{platform['id']}/instances", notifier.customer, {"instance": {"build_id": str(bid)}}
    )
    iid = made.body["id"]
    reported = await notifier.patch(
        f"/instances/{iid}",
        notifier.customer,
        {"instance": {"launch_bindings": {"url": "https://app.local"}, "deployed_at": "2030-01-01T00:00:00Z",
                      "reported_state": "running", "errors": []}},
    )  # fmt: skip
    assert reported.status == 200, reported
    assert reported.body["launch_bindings"] == {"url": "https://app.local"}
    assert reported.body["deployed_at"].startswith("2030-01-01") and reported.body["reported_at"]
    stopped = await notifier.put(
        f"/instances/{iid}", notifier.customer, {"instance": {"desired_state": "stopped"}}
    )
    assert stopped.body["desired_state"] == "stopped"
    gone = await notifier.delete(f"/instances/{iid}", notifier.customer)
    assert gone.status == 200 and gone.body["id"] == iid
    assert (await notifier.get(f"/instances/{iid}", notifier.customer)).status == 404
    kinds = [e["event_type"] for e in await notifier.stream(platform["id"])]
    assert kinds == ["created", "updated", "updated", "destroyed"]


async def test_instances_for_every_persona(notifier) -> None:
    _, bid = await notifier.published_build()
    platform = await notifier.platform()
    made = await notifier.post(
        f"/platforms/{platform['id']}/instances", notifier.customer, {"instance": {"build_id": str(bid)}}
    )
    iid, path = made.body["id"], f"/platforms/{platform['id']}/instances"
    other = notifier.other_customer
    assert (await notifier.get(f"/instances/{iid}", other)).status == 404
    assert (await notifier.get(path, other)).status == 404
    assert (await notifier.post(path, other, {"instance": {"build_id": str(bid)}})).status == 404
    assert (
        await notifier.patch(f"/instances/{iid}", other, {"instance": {"desired_state": "stopped"}})
    ).status == 404
    assert (await notifier.delete(f"/instances/{iid}", other)).status == 404
    assert (await notifier.get(f"/instances/{iid}")).status == 401
    listed = await notifier.get(path, notifier.auditor)
    assert [i["id"] for i in listed.body["results"]] == [iid]
    assert (
        await notifier.patch(
            f"/instances/{iid}", notifier.auditor, {"instance": {"desired_state": "stopped"}}
        )
    ).status == 404
    assert (
        await notifier.patch(
            f"/instances/{iid}", notifier.operator, {"instance": {"desired_state": "stopped"}}
        )
    ).status == 200


async def test_invalid_instance_bodies_are_422_and_change_nothing(notifier) -> None:
    _, bid = await notifier.published_build()
    platform = await notifier.platform()
    path = f"/platforms/{platform['id']}/instances"
    for body in (
        {"instance": {}},
        {"instance": {"build_id": "nope"}},
        {"instance": {"build_id": str(bid), "desired_state": "dancing"}},
        {"instance": {"build_id": str(bid), "platform_id": str(uuid4())}},
        {"instance": {"build_id": str(bid), "launch_bindings": {"x": "y" * 20_000}}},
    ):
        assert (await notifier.post(path, notifier.customer, body)).status == 422, body
    assert await notifier.stream(platform["id"]) == []


async def test_unpublished_unlisted_or_undigested_builds_are_refused(notifier) -> None:
    platform = await notifier.platform()
    path = f"/platforms/{platform['id']}/instances"

    async def deploy(build_id):
        return await notifier.post(path, notifier.customer, {"instance": {"build_id": str(build_id)}})

    assert (await deploy(uuid4())).errors == {"build_id": ["is not a published build"]}
    _, unlisted = await notifier.published_build(listed=False)
    assert (await deploy(unlisted)).errors == {"build_id": ["belongs to a product that is not listed"]}
    _, undigested = await notifier.published_build(digest=None)
    assert (await deploy(undigested)).errors == {"build_id": ["has no approved image digest yet"]}
    pid, withdrawn = await notifier.published_build()
    await notifier.deliver(catalog.BuildWithdrawn(build_id=withdrawn, product_id=pid, status="recalled"))
    assert (await deploy(withdrawn)).status == 422
    pid2, unpublished = await notifier.published_build()
    await notifier.deliver(catalog.ProductUnpublished(product_id=pid2))
    assert (await deploy(unpublished)).status == 422
    assert await notifier.stream(platform["id"]) == []


async def test_a_licensed_product_needs_a_valid_entitlement_of_the_platform_owner(notifier) -> None:
    pid, bid = await notifier.published_build()
    offer = await notifier.offer(pid)
    platform = await notifier.platform()
    path = f"/platforms/{platform['id']}/instances"
    body = {"instance": {"build_id": str(bid)}}
    assert (await notifier.post(path, notifier.customer, body)).status == 403
    await notifier.entitle(notifier.other_customer, pid, offer)  # someone else's does not count
    assert (await notifier.post(path, notifier.customer, body)).status == 403
    eid = await notifier.entitle(notifier.customer, pid, offer)
    assert (await notifier.post(path, notifier.customer, body)).status == 201
    await notifier.deliver(
        licensing.EntitlementRevoked(entitlement_id=eid, user_id=notifier.customer.user_id, product_id=pid)
    )
    assert (await notifier.post(path, notifier.customer, body)).status == 403
    await notifier.deliver(
        licensing.LicenseWithdrawn(product_license_id=offer, product_id=pid, license_id=uuid4())
    )
    assert (await notifier.post(path, notifier.customer, body)).status == 201


async def test_notices_reach_the_platforms_that_run_the_product_or_belong_to_the_owner(notifier) -> None:
    pid, bid = await notifier.published_build()
    runs = await notifier.platform()
    idle = await notifier.platform()
    await notifier.post(
        f"/platforms/{runs['id']}/instances", notifier.customer, {"instance": {"build_id": str(bid)}}
    )
    new_build = uuid4()
    await notifier.deliver(
        catalog.BuildPublished(build_id=new_build, product_id=pid, published_at=datetime.now(UTC))
    )
    await notifier.deliver(
        licensing.EntitlementGranted(
            entitlement_id=uuid4(), user_id=notifier.customer.user_id, product_id=pid,
            product_license_id=uuid4(), license_id=uuid4(), valid_from=datetime.now(UTC),
            valid_until=None, source="voucher",
        )
    )  # fmt: skip
    assert [(e["resource_type"], e["event_type"]) for e in await notifier.stream(runs["id"])] == [
        ("instance", "created"),
        ("build", "published"),
        ("entitlement", "granted"),
    ]
    assert [(e["resource_type"], e["event_type"]) for e in await notifier.stream(idle["id"])] == [
        ("entitlement", "granted")
    ]


async def test_recalls_are_critical_notices_acknowledged_and_listed_for_staff(notifier) -> None:
    pid, bid = await notifier.published_build()
    runs = await notifier.platform()
    await notifier.platform()  # runs nothing: not told
    await notifier.post(
        f"/platforms/{runs['id']}/instances", notifier.customer, {"instance": {"build_id": str(bid)}}
    )
    rid, fixed = uuid4(), uuid4()
    await notifier.deliver(
        curation.RecallIssued(
            recall_id=rid, product_id=pid, build_ids=[bid], versions="<1.0.1", severity="critical",
            reason="CVE", fixed_build_id=fixed, deadline=datetime(2030, 1, 1, tzinfo=UTC),
        )
    )  # fmt: skip
    notice = (await notifier.stream(runs["id"]))[-1]
    assert (notice["resource_type"], notice["event_type"]) == ("product", "security_notice")
    assert notice["model"]["recall"]["fixed_build"] == {"id": str(fixed)}
    assert notice["model"]["recall"]["affected_builds"] == [str(bid)]

    pending = await notifier.get("/platforms/recalls?pending=true", notifier.auditor)
    assert pending.status == 200 and [n["platform_id"] for n in pending.body["results"]] == [runs["id"]]
    assert pending.body["results"][0]["notified_at"] is not None
    assert (await notifier.get("/platforms/recalls", notifier.customer)).status == 403
    ack_path = f"/platforms/{runs['id']}/recalls/{rid}/acknowledgement"
    assert (await notifier.post(ack_path, notifier.other_customer)).status == 404
    acked = await notifier.post(ack_path, notifier.customer)
    assert acked.status == 200 and acked.body["acknowledged_at"] is not None
    assert (await notifier.get("/platforms/recalls?pending=true", notifier.operator)).body["results"] == []
