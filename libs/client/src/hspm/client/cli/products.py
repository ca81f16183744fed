"""``hspm product list|show|create|edit|publish|unpublish``: products in the catalog."""

from __future__ import annotations

import argparse
from typing import Any

from hspm.client.cli.common import Context, command, group, hint, uuid_arg
from hspm.client.cli.output import CliError, Exit, record, table

COLUMNS = ("id", "name", "status", "published_at", "updated_at")
FIELDS = (
    "id",
    "name",
    "description",
    "status",
    "uri",
    "support_url",
    "mime_type",
    "locale",
    "user_id",
    "published_at",
    "visible_at",
    "created_at",
    "updated_at",
    "url",
)
# The fields ``create`` and ``edit`` take, as --options.
EDITABLE = ("description", "uri", "support_url", "mime_type", "locale", "external_id")


def unknown_product(product_id: str) -> str:
    return f"unknown product {product_id}: `hspm product list --mine` shows yours"


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = group(groups, "product", "list, show, create, edit and publish products")
    listing = command(commands, "list", "list products (the catalog's, or --mine)", list_command)
    listing.add_argument("--mine", action="store_true", help="only your own products, drafts included")
    listing.add_argument("--search", metavar="TEXT", help="full-text search")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    show = command(commands, "show", "show one product", show_command)
    show.add_argument("product", type=uuid_arg, metavar="PRODUCT")
    create = command(commands, "create", "create a product (a draft until published)", create_command)
    create.add_argument("name")
    _editable(create)
    edit = command(commands, "edit", "change a product's fields", edit_command)
    edit.add_argument("product", type=uuid_arg, metavar="PRODUCT")
    edit.add_argument("--name")
    _editable(edit)
    publish = command(commands, "publish", "list a product in the catalog (operators)", publish_command)
    publish.add_argument("product", type=uuid_arg, metavar="PRODUCT")
    publish.add_argument(
        "--visible-at", metavar="WHEN", help="embargo: shown from this ISO 8601 time, not at once"
    )
    unpublish = command(commands, "unpublish", "return a product to draft (operators)", unpublish_command)
    unpublish.add_argument("product", type=uuid_arg, metavar="PRODUCT")


def _editable(parser: argparse.ArgumentParser) -> None:
    for name in EDITABLE:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name)


def fields_of(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The product fields given on the command line (absent ones are left alone)."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


async def my_user_id(ctx: Context) -> str:
    """The signed-in caller's user id (``/status``)."""
    ctx.need_token()
    status = await ctx.api.get("/status")
    return str(status["user"]["id"])


async def list_command(ctx: Context, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CliError("--limit must be at least 1", Exit.USAGE)
    query: dict[str, str | int] = {}
    if args.mine:
        query["user_id"] = await my_user_id(ctx)
    if args.search:
        query["text"] = args.search
    rows = [p async for p in ctx.api.pages("/products", query, limit=args.limit)]
    ctx.show(rows, lambda: table(rows, COLUMNS, "(no products)"))
    return Exit.OK


async def show_command(ctx: Context, args: argparse.Namespace) -> int:
    with hint(404, unknown_product(args.product)):
        product = await ctx.api.get(f"/products/{args.product}")
    ctx.show(product, lambda: record(product, FIELDS))
    return Exit.OK


async def create_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    body = {"name": args.name} | fields_of(args, EDITABLE)
    product = await ctx.api.post("/products", body)
    ctx.show(product, lambda: f"Created product {product['id']} ({product['name']}).\n")
    return Exit.OK


async def edit_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    body = fields_of(args, ("name", *EDITABLE))
    if not body:
        raise CliError(
            "nothing to change: give at least one --option (see `hspm product edit -h`)", Exit.USAGE
        )
    with hint(404, unknown_product(args.product)):
        product = await ctx.api.patch(f"/products/{args.product}", body)
    ctx.show(product, lambda: f"Updated product {product['id']}.\n" + record(product, FIELDS))
    return Exit.OK


async def publish_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    body = {} if args.visible_at is None else {"visible_at": args.visible_at}
    with hint(404, unknown_product(args.product)):
        product = await ctx.api.post(f"/products/{args.product}/publish", body)
    when = product.get("visible_at") or product.get("published_at")
    ctx.show(product, lambda: f"Published product {product['id']}, shown from {when}.\n")
    return Exit.OK


async def unpublish_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    with hint(404, unknown_product(args.product)):
        product = await ctx.api.post(f"/products/{args.product}/unpublish", {})
    ctx.show(product, lambda: f"Product {product['id']} is a draft again.\n")
    return Exit.OK
