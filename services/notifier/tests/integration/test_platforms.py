"""Platforms and agent keys over HTTP, for every persona: own, another's, staff, anonymous."""

from __future__ import annotations

import base64
from uuid import uuid4

import pytest

from hspm.common.testing import user


async def test_a_customer_creates_lists_and_reads_own_platforms(notifier) -> None:
    uid = notifier.customer.user_id
    made = await notifier.post(f"/users/{uid}/platforms", notifier.customer, {"platform": {"name": "Prod"}})
    assert made.status == 201, made
    assert made.body["user_id"] == str(uid) and made.body["name"] == "Prod"
    assert made.headers["Location"] == made.body["url"]
    assert made.body["path"] == f"/users/{uid}/platforms/{made.body['id']}"
    await notifier.platform(notifier.other_customer)

    nested = await notifier.get(f"/users/{uid}/platforms", notifier.customer)
    shortcut = await notifier.get("/platforms", notifier.customer)
    assert [p["id"] for p in nested.body["results"]] == [made.body["id"]]
    assert [p["id"] for p in shortcut.body["results"]] == [made.body["id"]]
    shown = await notifier.get(f"/platforms/{made.body['id']}", notifier.customer)
    assert shown.status == 200 and shown.body["name"] == "Prod"


async def test_another_users_platforms_are_hidden_or_forbidden(notifier) -> None:
    theirs = await notifier.platform(notifier.other_customer)
    me = notifier.customer
    assert (await notifier.get(f"/platforms/{theirs['id']}", me)).status == 404
    assert (await notifier.get(f"/users/{theirs['user_id']}/platforms/{theirs['id']}", me)).status == 404
    assert (await notifier.get(f"/users/{theirs['user_id']}/platforms", me)).status == 403
    assert (await notifier.patch(f"/platforms/{theirs['id']}", me, {"platform": {"name": "x"}})).status == 404
    assert (await notifier.delete(f"/platforms/{theirs['id']}", me)).status == 404
    made = await notifier.post(f"/users/{theirs['user_id']}/platforms", me, {"platform": {"name": "squat"}})
    assert made.status == 403
    # Asking for it under my own user id does not reach it either.
    assert (await notifier.get(f"/users/{me.user_id}/platforms/{theirs['id']}", me)).status == 404


async def test_staff_see_and_manage_every_platform_auditors_only_read(notifier) -> None:
    theirs = await notifier.platform(notifier.customer)
    listed = await notifier.get("/platforms", notifier.operator)
    assert [p["id"] for p in listed.body["results"]] == [theirs["id"]]
    assert (await notifier.get(f"/platforms/{theirs['id']}", notifier.auditor)).status == 200
    assert (
        await notifier.patch(f"/platforms/{theirs['id']}", notifier.auditor, {"platform": {"name": "a"}})
    ).status == 403
    renamed = await notifier.patch(
        f"/platforms/{theirs['id']}", notifier.operator, {"platform": {"name": "Ops"}}
    )
    assert renamed.status == 200 and renamed.body["name"] == "Ops"
    made = await notifier.post(
        "/platforms",
        notifier.operator,
        {"platform": {"name": "For C", "user_id": str(notifier.customer.user_id)}},
    )
    assert made.status == 201 and made.body["user_id"] == str(notifier.customer.user_id)
    gone = await notifier.delete(f"/platforms/{theirs['id']}", notifier.admin)
    assert gone.status == 200 and gone.body["id"] == theirs["id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/platforms"),
        ("POST", "/platforms"),
        ("GET", "/platforms/{pid}"),
        ("PATCH", "/platforms/{pid}"),
        ("DELETE", "/platforms/{pid}"),
        ("GET", "/platforms/{pid}/keys"),
        ("POST", "/platforms/{pid}/keys"),
        ("GET", "/platforms/{pid}/instances"),
        ("POST", "/platforms/{pid}/instances"),
        ("GET", "/platforms/recalls"),
    ],
)
async def test_anonymous_callers_get_401(notifier, method: str, path: str) -> None:
    platform = await notifier.platform()
    body = {"platform": {"name": "x"}} if method in ("POST", "PATCH") else None
    kw = {"json": body} if body is not None else {}
    reply = await notifier.request(method, path.format(pid=platform["id"]), None, **kw)
    assert reply.status == 401, reply


async def test_platform_names_are_unique_per_user_in_any_case(notifier) -> None:
    await notifier.platform(name="Production")
    again = await notifier.post("/platforms", notifier.customer, {"platform": {"name": "production"}})
    assert again.status == 409 and again.errors == {"name": ["has already been taken"]}
    # Another user may use the same name.
    assert (
        await notifier.post("/platforms", notifier.other_customer, {"platform": {"name": "Production"}})
    ).status == 201
    other = await notifier.platform(name="Staging")
    clash = await notifier.patch(
        f"/platforms/{other['id']}", notifier.customer, {"platform": {"name": "PRODUCTION"}}
    )
    assert clash.status == 409


@pytest.mark.parametrize(
    "body",
    [
        {"platform": {}},
        {"platform": {"name": ""}},
        {"platform": {"name": "x" * 201}},
        {"platform": {"name": "ok", "colour": "red"}},
        {"platform": {"name": "ok", "user_id": "not-a-uuid"}},
    ],
)
async def test_invalid_platform_bodies_are_422(notifier, body) -> None:
    reply = await notifier.post("/platforms", notifier.customer, body)
    assert reply.status == 422, reply


async def test_keys_are_added_listed_and_revoked_by_the_owner_only(notifier) -> None:
    platform = await notifier.platform()
    key_id, private = await notifier.key(platform["id"])
    listed = await notifier.get(f"/platforms/{platform['id']}/keys", notifier.customer)
    assert [k["id"] for k in listed.body["results"]] == [str(key_id)]
    assert listed.body["results"][0]["fingerprint"].startswith("sha256:")
    assert (await notifier.get(f"/platforms/{platform['id']}/keys", notifier.other_customer)).status == 404
    assert (
        await notifier.delete(f"/platforms/{platform['id']}/keys/{key_id}", notifier.other_customer)
    ).status == 404
    assert (
        await notifier.delete(f"/platforms/{platform['id']}/keys/{key_id}", notifier.auditor)
    ).status == 403
    revoked = await notifier.delete(f"/platforms/{platform['id']}/keys/{key_id}", notifier.customer)
    assert revoked.status == 200 and revoked.body["revoked_at"] is not None


async def test_keys_must_be_ed25519_and_registered_once(notifier) -> None:
    platform = await notifier.platform()
    path = f"/platforms/{platform['id']}/keys"
    for bad in ("", "not base64!", base64.b64encode(b"short").decode(), "-----BEGIN PUBLIC KEY-----\nxx\n"):
        assert (await notifier.post(path, notifier.customer, {"key": {"public_key": bad}})).status == 422, bad
    raw = base64.b64encode(bytes(range(32))).decode()
    assert (await notifier.post(path, notifier.customer, {"key": {"public_key": raw}})).status == 201
    assert (await notifier.post(path, notifier.customer, {"key": {"public_key": raw}})).status == 409


async def test_a_scoped_token_without_platform_keys_manages_nothing(notifier) -> None:
    scoped = user()
    scoped = type(scoped)(**{**scoped.__dict__, "scopes": frozenset({"instances.read"})})
    reply = await notifier.post("/platforms", scoped, {"platform": {"name": "x"}})
    assert reply.status == 403
    assert (await notifier.get(f"/platforms/{uuid4()}", scoped)).status == 404
