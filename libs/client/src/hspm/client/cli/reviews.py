"""``hspm review list|show|approve|reject|request-changes``: curation's review cases."""

from __future__ import annotations

import argparse
from typing import Any

from hspm.client.cli.common import Context, command, group, hint, uuid_arg
from hspm.client.cli.output import Exit, record, table

COLUMNS = ("id", "state", "version", "product_id", "build_id", "attention", "updated_at")
FIELDS = (
    "id",
    "state",
    "version",
    "product_id",
    "build_id",
    "attention",
    "attention_reason",
    "allowed_decisions",
    "current_run_id",
    "submitted_at",
    "updated_at",
    "url",
)
# Command name → the API's decision; reject and request-changes need a reason.
DECISIONS = {"approve": "approve", "reject": "reject", "request-changes": "request_changes"}


def unknown_case(case_id: str) -> str:
    return f"unknown review {case_id}: `hspm review list` shows the cases you may see"


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = group(groups, "review", "list review cases and decide them (curators)")
    listing = command(commands, "list", "the review queue (yours, or all for curators)", list_command)
    listing.add_argument("--state", help="only cases in this state (e.g. awaiting_review)")
    listing.add_argument("--product", type=uuid_arg, help="only this product's cases")
    listing.add_argument("--build", type=uuid_arg, help="only this build's case")
    listing.add_argument("--limit", type=int, default=100)
    show = command(commands, "show", "a case with its provenance and latest run", show_command)
    show.add_argument("case", type=uuid_arg, metavar="REVIEW")
    for name, decision in DECISIONS.items():
        decide = command(commands, name, f"decide a case: {decision.replace('_', ' ')}", decide_command)
        decide.add_argument("case", type=uuid_arg, metavar="REVIEW")
        decide.add_argument("--reason", required=decision != "approve", help="why (shown to the ISV)")
        decide.set_defaults(decision=decision)


async def list_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    query = {
        k: v for k, v in (("state", args.state), ("product_id", args.product), ("build_id", args.build)) if v
    }
    rows = [c async for c in ctx.api.pages("/reviews", query, limit=max(args.limit, 1))]
    ctx.show(rows, lambda: table(rows, COLUMNS, "(no review cases)"))
    return Exit.OK


def _human(case: dict[str, Any]) -> str:
    text = record(case, FIELDS)
    for step in case.get("provenance") or []:
        moved = f"{step.get('from_state') or '-'} -> {step.get('to_state')}"
        text += f"  {step.get('at')}  {moved}  {step.get('remark') or ''}".rstrip() + "\n"
    return text


async def show_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    with hint(404, unknown_case(args.case)):
        case = await ctx.api.get(f"/reviews/{args.case}")
    ctx.show(case, lambda: _human(case))
    return Exit.OK


async def decide_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    body: dict[str, Any] = {"decision": args.decision}
    if args.reason:
        body["reason"] = args.reason
    with hint(404, unknown_case(args.case)):
        case = await ctx.api.post(f"/reviews/{args.case}/decisions", body)
    ctx.show(case, lambda: f"Review {case['id']} is now {case['state']}.\n")
    return Exit.OK
