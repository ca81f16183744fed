"""The ISV's pages: their products, create and edit, logo and screenshots, builds by form or
by ``marketplace.json`` upload (each error at its field), live validation, decisions, usage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from hspm.web import keys
from hspm.web.api import ApiError
from hspm.web.pages.auth import require_signed_in
from hspm.web.pages.forms import as_int, compact, optional, submit
from hspm.web.pages.ids import path_uuid
from hspm.web.render import api, form, page, redirect, text

PRODUCT_FIELDS = ("name", "description", "uri", "support_url", "mime_type", "locale")
BUILD_FIELDS = ("version", "container_registry", "container_repository", "container_tag", "release_notes")
MAX_UPLOAD = 8 * 1024 * 1024


async def home(request: web.Request) -> web.Response:
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    body = {"user_id": request[keys.session].user_id, "per_page": 100, "sort": "name"}
    found = await api(request).post("/products/search", body)
    return page(request, "vendor/home.html", products=found.get("results", []))


async def new_product(request: web.Request) -> web.Response:
    if (to_login := require_signed_in(request)) is not None:
        return to_login
    return page(request, "vendor/product_form.html", values={}, errors={}, detail=None, product=None)


def _product_form_again(
    request: web.Request, values: dict[str, str], product: dict[str, Any] | None
) -> Callable[[int, dict[str, list[str]], str | None], web.Response]:
    """The product form shown again with what was typed and each error at its field."""

    def again(status: int, errors: dict[str, list[str]], detail: str | None) -> web.Response:
        return page(
            request,
            "vendor/product_form.html",
            status,
            values=values,
            errors=errors,
            detail=detail,
            product=product,
        )

    return again


async def create_product(request: web.Request) -> web.Response:
    data = await form(request)
    values = {k: text(data, k) for k in PRODUCT_FIELDS}

    again = _product_form_again(request, values, None)

    return await submit(
        api(request).post("/products", compact(values)),
        again,
        lambda made: redirect(request, f"/vendor/products/{made['id']}"),
    )


async def manage(request: web.Request, **extra: Any) -> web.Response:
    """A product's workshop: details, images, builds with their state, decisions, usage."""
    pid, client = path_uuid(request, "product_id"), api(request)
    prod, builds, shots, cases, usage = await asyncio.gather(
        client.get(f"/products/{pid}"),
        client.get(f"/products/{pid}/builds", {"per_page": "50"}),
        client.get(f"/products/{pid}/screenshots"),
        optional(client.get("/reviews", {"product_id": pid, "per_page": "20"})),
        optional(client.get("/usage_reports", {"group_by": "period", "product_id": pid})),
    )
    context = {
        "product": prod,
        "builds": builds.get("results", []),
        "screenshots": shots.get("results", []),
        "cases": (cases or {}).get("results", []),
        "usage": (usage or {}).get("results", []),
        "values": {k: prod.get(k) for k in PRODUCT_FIELDS},
        "build_values": {"container_registry": "", "memory_maximum": "256", "task_name": "web"},
        "errors": {},
        "build_errors": {},
        "import_errors": {},
        "detail": None,
    }
    status = int(extra.pop("status", 200))
    return page(request, "vendor/manage.html", status, **(context | extra))


async def update_product(request: web.Request) -> web.Response:
    pid, data = path_uuid(request, "product_id"), await form(request)
    values = {k: text(data, k) for k in PRODUCT_FIELDS}

    again = _product_form_again(request, values, {"id": pid})

    body = {k: (v or None) for k, v in values.items()} | {"name": values["name"]}
    return await submit(
        api(request).patch(f"/products/{pid}", body),
        again,
        lambda _: redirect(request, f"/vendor/products/{pid}"),
    )


async def edit_product(request: web.Request) -> web.Response:
    pid = path_uuid(request, "product_id")
    prod = await api(request).get(f"/products/{pid}")
    values = {k: prod.get(k) for k in PRODUCT_FIELDS}
    return page(request, "vendor/product_form.html", values=values, errors={}, detail=None, product=prod)


def _upload(data: Any, name: str) -> web.FileField | None:
    value = data.get(name)
    return value if isinstance(value, web.FileField) else None


async def upload_image(request: web.Request) -> web.Response:
    """The logo (``kind=logo``) or a new screenshot with its caption, passed on as multipart."""
    pid, data = path_uuid(request, "product_id"), await form(request)
    kind, upload = text(data, "kind"), _upload(data, "image")
    if upload is None:
        return await manage(request, status=422, detail="Choose an image file to upload.")
    body = aiohttp.FormData()
    field = "logo" if kind == "logo" else "image"
    body.add_field(field, upload.file.read(MAX_UPLOAD), filename="upload", content_type=upload.content_type)
    if kind != "logo":
        body.add_field("caption", text(data, "caption", 500))
    method, path = (
        ("PUT", f"/products/{pid}/logo") if kind == "logo" else ("POST", f"/products/{pid}/screenshots")
    )
    try:
        await api(request).send(method, path, body)
    except ApiError as error:
        if error.status in (400, 413, 415, 422):
            return await manage(request, status=422, detail=error.detail, errors=error.field_errors)
        raise
    return redirect(request, f"/vendor/products/{pid}")


def _ports(value: str) -> list[int | str]:
    """``8080, 9090`` as numbers; anything else as typed, for the API to name at its field."""
    return [int(p) if p.isdigit() else p for p in (q.strip() for q in value.split(",")) if p]


async def create_build(request: web.Request) -> web.Response:
    """A build from the form: the draft, one default configuration with one task, then submit."""
    pid, data, client = path_uuid(request, "product_id"), await form(request), api(request)
    values = {k: text(data, k) for k in (*BUILD_FIELDS, "task_name", "memory_maximum", "ports")}
    try:
        made = await client.post(f"/products/{pid}/builds", compact({k: values[k] for k in BUILD_FIELDS}))
        base = f"/products/{pid}/builds/{made['id']}"
        config = await client.post(f"{base}/configurations", {"name": "default", "default": True})
        task = compact(
            {"name": values["task_name"] or "web", "memory_maximum": as_int(values["memory_maximum"])}
        )
        if values["ports"]:
            task["ports"] = _ports(values["ports"])
        await client.post(f"{base}/configurations/{config['id']}/tasks", task)
        await client.post(f"{base}/submit")
    except ApiError as error:
        if error.status in (400, 409, 422):
            return await manage(
                request, status=422, build_values=values, build_errors=error.field_errors, detail=error.detail
            )
        raise
    return redirect(request, f"/products/{pid}/builds/{made['id']}")


async def import_build(request: web.Request) -> web.Response:
    """A build from an uploaded ``marketplace.json``; its errors are listed at their paths."""
    pid, data, client = path_uuid(request, "product_id"), await form(request), api(request)
    upload = _upload(data, "document")
    if upload is None:
        return await manage(
            request, status=422, import_errors={"document": ["choose a marketplace.json file"]}
        )
    raw = upload.file.read(MAX_UPLOAD)
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return await manage(request, status=422, import_errors={"document": [f"is not JSON: {exc}"]})
    try:
        made = await client.send("POST", f"/products/{pid}/builds/import", raw, "application/json")
        if text(data, "submit") == "yes":
            await client.post(f"/products/{pid}/builds/{made['id']}/submit")
    except ApiError as error:
        if error.status in (400, 409, 413, 422):
            errors = error.field_errors or {"document": [error.detail]}
            return await manage(request, status=422, import_errors=errors)
        raise
    return redirect(request, f"/products/{pid}/builds/{made['id']}")


async def submit_build(request: web.Request) -> web.Response:
    pid, bid = path_uuid(request, "product_id"), path_uuid(request, "build_id")
    try:
        await api(request).post(f"/products/{pid}/builds/{bid}/submit")
    except ApiError as error:
        if error.status in (409, 422):
            return await manage(request, status=409, detail=error.detail)
        raise
    return redirect(request, f"/products/{pid}/builds/{bid}")
