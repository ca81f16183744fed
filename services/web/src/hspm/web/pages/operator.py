"""The operator's pages: the review queue with full reports and decisions, badges,
publication (publish, unpublish, embargo), recalls and who has acknowledged them."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hspm.web.api import Api, ApiError
from hspm.web.pages.auth import require_signed_in
from hspm.web.pages.forms import compact, optional, submit
from hspm.web.pages.ids import path_uuid, uuid_or_none
from hspm.web.render import api, form, page, redirect, text

QUEUE_STATES = ("awaiting_review", "validating", "submitted", "changes_requested", "published", "rejected")
SEVERITIES = ("low", "moderate", "high", "critical")


async def queue(request: web.Request) -> web.Response:
    """Cases by state, those that need attention first."""
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    state = request.query.get("state", "awaiting_review")
    state = state if state in QUEUE_STATES else "awaiting_review"
    cases = await api(request).get("/reviews", {"state": state, "per_page": "100"})
    results = sorted(
        cases.get("results", []), key=lambda c: (not c.get("attention"), c.get("submitted_at") or "")
    )
    return page(request, "operator/queue.html", cases=results, state=state, states=QUEUE_STATES)


async def case(request: web.Request, **extra: Any) -> web.Response:
    """A case in full: the build, the latest run rule by rule, provenance, the decision form."""
    cid, client = path_uuid(request, "case_id"), api(request)
    found, history, badges = await asyncio.gather(
        client.get(f"/reviews/{cid}"),
        client.get(f"/reviews/{cid}/provenance", {"per_page": "100"}),
        client.get("/badges", {"per_page": "100"}),
    )
    base = f"/products/{found['product_id']}/builds/{found['build_id']}"
    prod, bld, runs = await asyncio.gather(
        client.get(f"/products/{found['product_id']}"), client.get(base), client.get(f"{base}/validations")
    )
    run = runs["results"][0] if runs.get("results") else None
    context = {
        "case": found,
        "product": prod,
        "build": bld,
        "run": run,
        "history": history.get("results", []),
        "badges": badges.get("results", []),
        "errors": {},
        "detail": None,
    }
    status = int(extra.pop("status", 200))
    return page(request, "operator/case.html", status, **(context | extra))


async def decide(request: web.Request) -> web.Response:
    cid, data = path_uuid(request, "case_id"), await form(request)
    body = compact({"decision": text(data, "decision"), "reason": text(data, "reason", 2000)})
    badge_ids = [b for b in (uuid_or_none(v) for v in data.getall("badge_ids", [])) if b]
    if badge_ids:
        body["badge_ids"] = badge_ids

    async def again(status: int, errors: dict[str, list[str]], detail: str | None) -> web.Response:
        return await case(request, status=status, errors=errors, detail=detail)

    try:
        await api(request).post(f"/reviews/{cid}/decisions", body)
    except ApiError as error:
        if error.status in (400, 409, 422):
            return await again(422, error.field_errors, error.detail)
        raise
    return redirect(request, f"/operator/reviews/{cid}", {"decided": body["decision"]})


async def publication(request: web.Request, **extra: Any) -> web.Response:
    """Publish (now or embargoed until a moment), unpublish, award and withdraw badges."""
    pid, client = path_uuid(request, "product_id"), api(request)
    prod, awarded, badges = await asyncio.gather(
        client.get(f"/products/{pid}"),
        client.get(f"/products/{pid}/badges"),
        client.get("/badges", {"per_page": "100"}),
    )
    status = int(extra.pop("status", 200))
    context = {
        "product": prod,
        "awarded": awarded.get("results", []),
        "badges": badges.get("results", []),
        "detail": None,
    }
    return page(request, "operator/publication.html", status, **(context | extra))


async def publish(request: web.Request) -> web.Response:
    pid, data = path_uuid(request, "product_id"), await form(request)
    action, client = text(data, "action"), api(request)
    if action == "unpublish":
        call = client.post(f"/products/{pid}/unpublish")
    else:
        when = text(data, "visible_at")
        call = client.post(f"/products/{pid}/publish", {"visible_at": f"{when}:00Z"} if when else {})

    async def again(status: int, errors: dict[str, list[str]], detail: str | None) -> web.Response:
        return await publication(request, status=status, detail=detail)

    try:
        await call
    except ApiError as error:
        if error.status in (400, 409, 422):
            return await again(422, error.field_errors, error.detail)
        raise
    return redirect(request, f"/operator/products/{pid}")


async def badge(request: web.Request) -> web.Response:
    pid, data = path_uuid(request, "product_id"), await form(request)
    bid = uuid_or_none(text(data, "badge_id"))
    if bid is None:
        return await publication(request, status=422, detail="Choose a badge.")
    client = api(request)
    if text(data, "action") == "withdraw":
        await client.delete(f"/products/{pid}/badges/{bid}")
    else:
        try:
            await client.post(f"/products/{pid}/badges", {"badge_id": bid})
        except ApiError as error:
            if error.status in (409, 422):
                return await publication(request, status=422, detail=error.detail)
            raise
    return redirect(request, f"/operator/products/{pid}")


async def recalls(request: web.Request, **extra: Any) -> web.Response:
    """Recalls with the platforms that have and have not acknowledged each."""
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    client = api(request)
    found, notices = await asyncio.gather(
        client.get("/recalls", {"per_page": "50"}),
        optional(client.get("/platforms/recalls", {"per_page": "100"})),
    )
    by_recall: dict[str, list[dict[str, Any]]] = {}
    for notice in (notices or {}).get("results", []):
        by_recall.setdefault(str(notice.get("recall_id")), []).append(notice)
    names = await _names(
        client,
        {f"/products/{r['product_id']}" for r in found.get("results", [])}
        | {f"/platforms/{n['platform_id']}" for ns in by_recall.values() for n in ns},
    )
    context = {
        "recalls": found.get("results", []),
        "notices": by_recall,
        "names": names,
        "severities": SEVERITIES,
        # A product's page links here with its id, so the form starts filled in.
        "values": {"product_id": uuid_or_none(request.query.get("product_id")) or ""},
        "errors": {},
        "detail": None,
    }
    status = int(extra.pop("status", 200))
    return page(request, "operator/recalls.html", status, **(context | extra))


async def create_recall(request: web.Request) -> web.Response:
    data = await form(request)
    values = {k: text(data, k, 2000) for k in ("product_id", "versions", "severity", "reason")}

    async def again(status: int, errors: dict[str, list[str]], detail: str | None) -> web.Response:
        return await recalls(request, status=status, values=values, errors=errors, detail=detail)

    return await submit(
        api(request).post("/recalls", compact(values)),
        again,
        lambda _: redirect(request, "/operator/recalls"),
    )


async def _names(client: Api, paths: set[str]) -> dict[str, str]:
    """The names of the products and platforms a page mentions by id (fetched at once)."""
    ordered = sorted(paths)
    found = await asyncio.gather(*(optional(client.get(path)) for path in ordered))
    return {path.rsplit("/", 1)[1]: str(doc["name"]) for path, doc in zip(ordered, found, strict=True) if doc}
