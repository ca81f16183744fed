"""``hspm build submit|show``: submit a build from its ``marketplace.json`` and follow its
validation to an exit code a CI pipeline can branch on (docs/cli.md, "Exit codes").

Submitting is one import (``POST /products/{id}/builds/import``): the catalog checks the
document, creates the build already submitted, and curation opens its review case, which
the validator's run moves on. Following it is polling that case and its latest run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from hspm.client.api import ApiError, error_from
from hspm.client.cli.common import Context, command, group, hint, uuid_arg
from hspm.client.cli.output import CliError, Exit, record
from hspm.client.cli.products import unknown_product
from hspm.client.cli.progress import (
    Snapshot,
    describe,
    document_issues,
    failure_report,
    progress_line,
    success_report,
)

MAX_DOCUMENT_BYTES = 512 * 1024  # the catalog's own limit: refused here before uploading
POLL_SECONDS = 1.0
BUILD_FIELDS = (
    "id",
    "product_id",
    "version",
    "status",
    "container_registry",
    "container_repository",
    "container_tag",
    "image_digest",
    "submitted_at",
    "validated_at",
    "published_at",
    "url",
)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = group(groups, "build", "submit builds and follow their validation")
    submit = command(commands, "submit", "submit a build from its marketplace.json", submit_command)
    submit.add_argument("document", type=Path, metavar="MARKETPLACE_JSON")
    submit.add_argument("--product", type=uuid_arg, help="the product (default: the document's product.uuid)")
    submit.add_argument("--version", help="the build's version (default: the image's tag)")
    submit.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow validation to its verdict (default) or return once submitted",
    )
    submit.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the verdict (900)")
    show = command(commands, "show", "show a build and its latest validation", show_command)
    show.add_argument("build", type=uuid_arg, metavar="BUILD")
    show.add_argument("--product", type=uuid_arg, required=True)


def read_document(path: Path) -> Any:
    """The marketplace.json, parsed; a missing, huge or malformed file is a usage error."""
    try:
        raw = path.read_bytes()[: MAX_DOCUMENT_BYTES + 1]
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", Exit.USAGE) from exc
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise CliError(f"{path} is larger than {MAX_DOCUMENT_BYTES // 1024} KiB", Exit.USAGE)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise CliError(f"{path} is not JSON: {exc}", Exit.USAGE) from exc


def product_of(document: Any, given: str | None) -> str:
    """``--product``, else the document's ``product.uuid``."""
    if given:
        return given
    product = document.get("product") if isinstance(document, dict) else None
    found = product.get("uuid") if isinstance(product, dict) else None
    try:
        return uuid_arg(str(found))
    except argparse.ArgumentTypeError:
        raise CliError("the document names no product.uuid: give --product", Exit.USAGE) from None


async def _import(ctx: Context, product_id: str, document: Any, version: str | None) -> dict[str, Any]:
    query = {"version": version} if version else None
    try:
        with hint(404, unknown_product(product_id)):
            build: dict[str, Any] = await ctx.api.post(
                f"/products/{product_id}/builds/import", document, query
            )
    except ApiError as exc:
        if exc.status != 422:
            raise
        lines = document_issues(exc.body) or [f"  {k}: {'; '.join(v)}" for k, v in exc.errors.items()]
        raise CliError("\n".join(["marketplace.json was refused:", *lines]), Exit.FAILED) from exc
    return build


async def snapshot(ctx: Context, product_id: str, build_id: str) -> Snapshot:
    """The build's review case state and latest validation run, as they are now.

    Curation hears of a submitted build by an event: until its case is open there are no
    runs to ask for (and curation does not know the build yet, a 404 that means "wait").
    """
    cases = await ctx.api.get("/reviews", {"build_id": build_id, "per_page": 1})
    if not cases.get("results"):
        return Snapshot(None, None)
    status, runs = await ctx.api.send(
        "GET", f"/products/{product_id}/builds/{build_id}/validations", query={"per_page": 1}
    )
    if status == 404:
        runs = {}
    elif status >= 400:
        raise error_from(status, runs)
    latest = runs["results"][0] if isinstance(runs, dict) and runs.get("results") else None
    return Snapshot(cases["results"][0]["state"], latest)


async def follow(ctx: Context, product_id: str, build_id: str, timeout: float) -> Snapshot:
    """Poll until validation has decided, showing progress: one rewritten line on a TTY,
    a plain line per change otherwise (CI logs)."""
    loop = asyncio.get_running_loop()
    started, tick, last = loop.time(), 0, ""
    live = ctx.err.isatty() and not ctx.as_json
    while True:
        snap = await snapshot(ctx, product_id, build_id)
        elapsed = loop.time() - started
        if live:
            ctx.err.write(progress_line(snap, elapsed, tick))
            ctx.err.flush()
        elif describe(snap) != last:
            ctx.note(f"[{int(elapsed):>4}s] {describe(snap)}")
        last, tick = describe(snap), tick + 1
        if snap.settled:
            break
        if elapsed >= timeout:
            _end_line(ctx, live)
            raise CliError(
                f"no verdict after {int(timeout)}s (last: {last}); `hspm build show {build_id} "
                f"--product {product_id}` shows it later",
                Exit.TIMEOUT,
            )
        await asyncio.sleep(POLL_SECONDS)
    _end_line(ctx, live)
    return snap


def _end_line(ctx: Context, live: bool) -> None:
    if live:
        ctx.err.write("\n")
        ctx.err.flush()


async def submit_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    document = read_document(args.document)
    product_id = product_of(document, args.product)
    if args.timeout <= 0:
        raise CliError("--timeout must be positive", Exit.USAGE)
    build = await _import(ctx, product_id, document, args.version)
    ctx.note(f"Submitted build {build['id']} (version {build.get('version')}) of product {product_id}.")
    for warning in document_issues({"issues": build.get("warnings") or []}):
        ctx.note(f"warning: {warning.strip()}")
    if not args.wait:
        ctx.show({"build": build}, lambda: record(build, BUILD_FIELDS))
        return Exit.OK
    snap = await follow(ctx, product_id, build["id"], args.timeout)
    code = snap.exit_code
    result = {"build": build, "review_state": snap.state, "validation": snap.run, "passed": code == Exit.OK}
    ctx.show(result, lambda: success_report(snap) if code == Exit.OK else failure_report(snap))
    return code


async def show_command(ctx: Context, args: argparse.Namespace) -> int:
    where = f"/products/{args.product}/builds/{args.build}"
    unknown = (
        f"unknown build {args.build} of product {args.product}: check both ids (`hspm product list --mine`)"
    )
    with hint(404, unknown):
        build = await ctx.api.get(where)
    snap = await snapshot(ctx, args.product, args.build)
    doc = {"build": build, "review_state": snap.state, "validation": snap.run}
    ctx.show(doc, lambda: record(build, BUILD_FIELDS) + f"review:    {describe(snap)}\n")
    return Exit.OK
