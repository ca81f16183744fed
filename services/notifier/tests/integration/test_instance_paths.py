"""The spec's nested instance paths, /users/{user_id}/platforms/{platform_id}/instances[/{id}],
beside the global shortcuts: the same rules for every persona, and a path that names
another user or another platform than the instance's reaches nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4


async def nested(notifier, platform: dict[str, Any]) -> str:
    return f"/users/{platform['user_id']}/platforms/{platform['id']}/instances"


async def test_the_owner_manages_instances_under_the_nested_paths(notifier) -> None:
    _, bid = await notifier.published_build()
    platform = await notifier.platform()
    base = await nested(notifier, platform)
    made = await notifier.post(base, notifier.customer, {"instance": {"build_id": str(bid)}})
    assert made.status == 201, made
    assert made.body["platform_id"] == platform["id"] and made.headers["Location"] == made.body["url"]
    iid = made.body["id"]
    listed = await notifier.get(base, notifier.customer)
    assert listed.status == 200 and [i["id"] for i in listed.body["results"]] == [iid]
    assert listed.body["total_entries"] == 1 and listed.body["current_page"] == 1
    shown = await notifier.get(f"{base}/{iid}", notifier.customer)
    assert shown.status == 200 and shown.body["id"] == iid
    report = {
        "instance": {"launch_bindings": {"url": "https://a.local"}, "deployed_at": "2030-01-01T00:00:00Z"}
    }
    patched = await notifier.patch(f"{base}/{iid}", notifier.customer, report)
    assert patched.status == 200 and patched.body["deployed_at"].startswith("2030-01-01")
    put = await notifier.put(f"{base}/{iid}", notifier.customer, {"instance": {"desired_state": "stopped"}})
    assert put.status == 200 and put.body["desired_state"] == "stopped"
    gone = await notifier.delete(f"{base}/{iid}", notifier.customer)
    assert gone.status == 200 and gone.body["id"] == iid
    assert (await notifier.get(f"/instances/{iid}", notifier.customer)).status == 404
    kinds = [e["event_type"] for e in await notifier.stream(platform["id"])]
    assert kinds == ["created", "updated", "updated", "destroyed"]


async def test_a_path_naming_another_user_or_platform_reaches_nothing(notifier) -> None:
    _, bid = await notifier.published_build()
    platform, sibling = await notifier.platform(), await notifier.platform()
    base = await nested(notifier, platform)
    made = await notifier.post(base, notifier.customer, {"instance": {"build_id": str(bid)}})
    iid, me = made.body["id"], notifier.customer
    elsewhere = (
        f"/users/{notifier.other_customer.user_id}/platforms/{platform['id']}/instances",  # not its user
        f"/users/{uuid4()}/platforms/{platform['id']}/instances",
        f"/users/{me.user_id}/platforms/{sibling['id']}/instances",  # the owner's other platform
    )
    for collection in elsewhere:
        item = f"{collection}/{iid}"
        assert (await notifier.get(item, me)).status == 404, item
        assert (await notifier.patch(item, me, {"instance": {"desired_state": "stopped"}})).status == 404
        assert (await notifier.delete(item, me)).status == 404
    for collection in elsewhere[:2]:
        assert (await notifier.get(collection, me)).status == 404
        assert (await notifier.post(collection, me, {"instance": {"build_id": str(bid)}})).status == 404
    assert (await notifier.get(f"{base}/{iid}", me)).body["desired_state"] == "running"
    assert [e["event_type"] for e in await notifier.stream(platform["id"])] == ["created"]
    assert await notifier.stream(sibling["id"]) == []


async def test_every_persona_under_the_nested_paths(notifier) -> None:
    _, bid = await notifier.published_build()
    platform = await notifier.platform()
    base = await nested(notifier, platform)
    iid = (await notifier.post(base, notifier.customer, {"instance": {"build_id": str(bid)}})).body["id"]
    item, stop = f"{base}/{iid}", {"instance": {"desired_state": "stopped"}}
    other = notifier.other_customer
    assert (await notifier.get(base, other)).status == 404
    assert (await notifier.get(item, other)).status == 404
    assert (await notifier.post(base, other, {"instance": {"build_id": str(bid)}})).status == 404
    assert (await notifier.patch(item, other, stop)).status == 404
    assert (await notifier.delete(item, other)).status == 404
    assert (await notifier.get(base)).status == 401 and (await notifier.get(item)).status == 401
    assert (await notifier.delete(item)).status == 401
    assert [i["id"] for i in (await notifier.get(base, notifier.auditor)).body["results"]] == [iid]
    assert (await notifier.get(item, notifier.auditor)).status == 200
    assert (await notifier.patch(item, notifier.auditor, stop)).status == 404
    assert (await notifier.patch(item, notifier.operator, stop)).status == 200
    assert (await notifier.delete(item, notifier.operator)).status == 200
