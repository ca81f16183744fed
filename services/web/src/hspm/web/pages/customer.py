"""The customer's pages: platforms and their agent keys, deploying a build and following the
instance's state live, entitlements and voucher redemption."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hspm.web.api import ApiError
from hspm.web.pages.auth import require_signed_in
from hspm.web.pages.forms import compact, optional, submit
from hspm.web.pages.ids import path_uuid, uuid_or_none
from hspm.web.render import api, form, page, redirect, text

# States in which an agent has not settled yet: the instance's row keeps polling.
SETTLED = frozenset({"running", "stopped", "failed", "deleted"})


async def platforms(request: web.Request, **extra: Any) -> web.Response:
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    found = await api(request).get("/platforms", {"per_page": "100"})
    status = int(extra.pop("status", 200))
    context = {"platforms": found.get("results", []), "values": {}, "errors": {}, "detail": None}
    return page(request, "customer/platforms.html", status, **(context | extra))


async def create_platform(request: web.Request) -> web.Response:
    values = {"name": text(await form(request), "name", 300)}

    async def again(status: int, errors: dict[str, list[str]], detail: str | None) -> web.Response:
        return await platforms(request, status=status, values=values, errors=errors, detail=detail)

    return await submit(
        api(request).post("/platforms", values),
        again,
        lambda made: redirect(request, f"/platforms/{made['id']}"),
    )


async def platform(request: web.Request, **extra: Any) -> web.Response:
    """A platform: its instances (live), its agent keys, the form to register one."""
    pid, client = path_uuid(request, "platform_id"), api(request)
    found, instances, agent_keys = await asyncio.gather(
        client.get(f"/platforms/{pid}"),
        client.get(f"/platforms/{pid}/instances", {"per_page": "100"}),
        client.get(f"/platforms/{pid}/keys", {"per_page": "100"}),
    )
    status = int(extra.pop("status", 200))
    context = {
        "platform": found,
        "instances": instances.get("results", []),
        "keys": agent_keys.get("results", []),
        "settled": SETTLED,
        "values": {},
        "errors": {},
        "detail": None,
    }
    return page(request, "customer/platform.html", status, **(context | extra))


async def add_key(request: web.Request) -> web.Response:
    pid, data = path_uuid(request, "platform_id"), await form(request)
    values = {"name": text(data, "name", 200), "public_key": text(data, "public_key", 1000)}

    async def again(status: int, errors: dict[str, list[str]], detail: str | None) -> web.Response:
        return await platform(request, status=status, values=values, errors=errors, detail=detail)

    return await submit(
        api(request).post(f"/platforms/{pid}/keys", compact(values)),
        again,
        lambda _: redirect(request, f"/platforms/{pid}"),
    )


async def revoke_key(request: web.Request) -> web.Response:
    pid, kid = path_uuid(request, "platform_id"), path_uuid(request, "key_id")
    await api(request).delete(f"/platforms/{pid}/keys/{kid}")
    return redirect(request, f"/platforms/{pid}")


async def instance_fragment(request: web.Request) -> web.Response:
    """One instance's row, polled by htmx until the agent reports a settled state."""
    iid = path_uuid(request, "instance_id")
    found = await api(request).get(f"/instances/{iid}")
    return page(request, "customer/_instance.html", i=found, settled=SETTLED)


async def instance(request: web.Request) -> web.Response:
    iid = path_uuid(request, "instance_id")
    found = await api(request).get(f"/instances/{iid}")
    return page(request, "customer/instance.html", i=found, settled=SETTLED)


async def deploy_form(request: web.Request, **extra: Any) -> web.Response:
    """Pick a platform and a published build of the product."""
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    product_id = uuid_or_none(request.query.get("product_id")) or uuid_or_none(extra.pop("product_id", None))
    if product_id is None:
        raise web.HTTPNotFound(reason="Choose a product to deploy from its page.")
    client = api(request)
    prod, builds, mine = await asyncio.gather(
        client.get(f"/products/{product_id}"),
        client.get(f"/products/{product_id}/builds", {"status": "published", "per_page": "50"}),
        client.get("/platforms", {"per_page": "100"}),
    )
    status = int(extra.pop("status", 200))
    context = {
        "product": prod,
        "builds": builds.get("results", []),
        "platforms": mine.get("results", []),
        "detail": None,
    }
    return page(request, "customer/deploy.html", status, **(context | extra))


async def deploy(request: web.Request) -> web.Response:
    data = await form(request)
    platform_id, build_id = uuid_or_none(text(data, "platform_id")), uuid_or_none(text(data, "build_id"))
    product_id = text(data, "product_id", 64)
    if platform_id is None or build_id is None:
        return await deploy_form(
            request, status=422, product_id=product_id, detail="Choose a platform and a build."
        )
    try:
        made = await api(request).post(f"/platforms/{platform_id}/instances", {"build_id": build_id})
    except ApiError as error:
        if error.status in (402, 403, 409, 422):
            return await deploy_form(request, status=422, product_id=product_id, detail=error.detail)
        raise
    return redirect(request, f"/instances/{made['id']}")


async def entitlements(request: web.Request, **extra: Any) -> web.Response:
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    client = api(request)
    found = await client.get("/entitlements", {"per_page": "100"})
    rows = found.get("results", [])
    ids = sorted({str(e["product_id"]) for e in rows if e.get("product_id")})
    products = await asyncio.gather(*(optional(client.get(f"/products/{pid}")) for pid in ids))
    names = {pid: p["name"] for pid, p in zip(ids, products, strict=True) if p}
    status = int(extra.pop("status", 200))
    context = {
        "entitlements": rows,
        "names": names,
        "values": {},
        "errors": {},
        "detail": None,
        "redeemed": request.query.get("redeemed") == "1",
    }
    return page(request, "customer/entitlements.html", status, **(context | extra))


async def redeem(request: web.Request) -> web.Response:
    code = text(await form(request), "code", 64)
    if not code or not all(c.isalnum() or c == "-" for c in code):
        return await entitlements(
            request, status=422, values={"code": code}, errors={"code": ["enter the voucher's code"]}
        )
    try:
        await api(request).post(f"/vouchers/{code}/redeem")
    except ApiError as error:
        if error.status in (404, 409, 410, 422):
            return await entitlements(
                request, status=422, values={"code": code}, errors={"code": [error.detail]}
            )
        raise
    return redirect(request, "/entitlements", {"redeemed": "1"})
