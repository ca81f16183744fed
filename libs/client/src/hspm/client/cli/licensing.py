"""``hspm license check`` (may I run this product?) and ``hspm report usage``."""

from __future__ import annotations

import argparse
from typing import Any

from hspm.client.api import ApiError
from hspm.client.cli.common import Context, command, group, hint, uuid_arg
from hspm.client.cli.output import CliError, Exit, record, table
from hspm.client.cli.products import unknown_product

CLAIM_FIELDS = ("entitlement_id", "authorization_count", "expires_at", "url")
HIDDEN = frozenset({"url", "path"})


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    license_ = group(groups, "license", "license checks")
    check = command(license_, "check", "is PRODUCT licensed for you? (exit 0 yes, 1 no)", check_command)
    check.add_argument("product", type=uuid_arg, metavar="PRODUCT")
    check.add_argument("--platform", type=uuid_arg, help="the platform asking (for sharing reports)")
    report = group(groups, "report", "usage reports (auditors)")
    usage = command(report, "usage", "license checks by product and period", usage_command)
    usage.add_argument("--product", type=uuid_arg)
    usage.add_argument("--vendor", type=uuid_arg)
    usage.add_argument("--from", dest="since", metavar="DATE", help="from this day (YYYY-MM-DD)")
    usage.add_argument("--to", dest="until", metavar="DATE", help="to this day (YYYY-MM-DD)")
    usage.add_argument("--group-by", help="product, vendor or claimant")
    usage.add_argument("--period", help="day, week or month")
    usage.add_argument("--csv", action="store_true", help="print the CSV the marketplace makes")


async def check_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    body = {"platform_id": args.platform} if args.platform else {}
    try:
        with hint(404, unknown_product(args.product)):
            claim = await ctx.api.put(f"/authorizations/products/{args.product}", body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        detail = exc.detail
        ctx.show(
            {"licensed": False, "product_id": args.product, "detail": detail},
            lambda: f"Not licensed: {detail}\n",
        )
        return Exit.FAILED
    ctx.show(
        {"licensed": True, "product_id": args.product, "claim": claim},
        lambda: "Licensed.\n" + record(claim, CLAIM_FIELDS),
    )
    return Exit.OK


def report_query(args: argparse.Namespace) -> dict[str, str]:
    """The report's filters as the API names them."""
    pairs = (
        ("product_id", args.product),
        ("vendor_id", args.vendor),
        ("from", args.since),
        ("to", args.until),
        ("group_by", args.group_by),
        ("period", args.period),
    )
    return {k: v for k, v in pairs if v}


def report_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns the report has (they depend on its grouping), links and nested parts aside."""
    first = rows[0] if rows else {}
    return [k for k, v in first.items() if k not in HIDDEN and not isinstance(v, dict)]


async def usage_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    query = report_query(args)
    if args.csv:
        if args.json:
            raise CliError("--csv and --json: choose one", Exit.USAGE)
        text = await ctx.api.call("GET", "/usage_reports", query=query | {"format": "csv"}, accept="text/csv")
        ctx.write(str(text or ""))
        return Exit.OK
    rows: list[dict[str, Any]] = [r async for r in ctx.api.pages("/usage_reports", query)]
    columns = report_columns(rows)
    ctx.show(rows, lambda: table(rows, columns, "(no usage in this period)"))
    return Exit.OK
