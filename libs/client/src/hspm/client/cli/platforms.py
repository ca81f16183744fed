"""``hspm platform list|create|show|keys`` and ``hspm instance list|create|show|delete``:
a customer's platforms, their agents' keys, and the builds deployed on them."""

from __future__ import annotations

import argparse
from pathlib import Path

from hspm.client.cli.common import Context, command, group, hint, uuid_arg
from hspm.client.cli.output import CliError, Exit, record, table

PLATFORM_COLUMNS = ("id", "name", "created_at")
PLATFORM_FIELDS = ("id", "name", "user_id", "created_at", "updated_at", "url")
KEY_COLUMNS = ("id", "name", "fingerprint", "created_at", "revoked_at")
INSTANCE_COLUMNS = ("id", "product_id", "build_id", "desired_state", "reported_state", "deployed_at")
INSTANCE_FIELDS = (
    "id",
    "platform_id",
    "product_id",
    "build_id",
    "image",
    "desired_state",
    "reported_state",
    "errors",
    "deployed_at",
    "reported_at",
    "created_at",
    "updated_at",
    "url",
)
MAX_KEY_BYTES = 1000


def unknown_platform(platform_id: str) -> str:
    return f"unknown platform {platform_id}: `hspm platform list` shows yours"


def unknown_instance(instance_id: str) -> str:
    return f"unknown instance {instance_id}: `hspm instance list --platform ID` shows a platform's"


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    platforms = group(groups, "platform", "your platforms and their agents' keys")
    command(platforms, "list", "list your platforms", list_platforms)
    create = command(platforms, "create", "create a platform", create_platform)
    create.add_argument("name")
    show = command(platforms, "show", "show a platform", show_platform)
    show.add_argument("platform", type=uuid_arg, metavar="PLATFORM")
    keys = command(platforms, "keys", "list a platform's agent keys, add or revoke one", platform_keys)
    keys.add_argument("platform", type=uuid_arg, metavar="PLATFORM")
    change = keys.add_mutually_exclusive_group()
    change.add_argument("--add", type=Path, metavar="PUBLIC_KEY_FILE", help="register an Ed25519 public key")
    change.add_argument("--revoke", type=uuid_arg, metavar="KEY", help="revoke a key (its agents disconnect)")
    keys.add_argument("--name", default="", help="a name for the added key")
    instances = group(groups, "instance", "builds deployed on your platforms")
    listing = command(instances, "list", "list a platform's instances", list_instances)
    listing.add_argument("--platform", type=uuid_arg, required=True)
    deploy = command(instances, "create", "deploy a published build on a platform", create_instance)
    deploy.add_argument("--platform", type=uuid_arg, required=True)
    deploy.add_argument("--build", type=uuid_arg, required=True)
    deploy.add_argument("--stopped", action="store_true", help="create it stopped rather than running")
    for name, action, summary in (
        ("show", show_instance, "show an instance"),
        ("delete", delete_instance, "delete an instance (its agent stops it)"),
    ):
        one = command(instances, name, summary, action)
        one.add_argument("instance", type=uuid_arg, metavar="INSTANCE")


async def list_platforms(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    rows = [p async for p in ctx.api.pages("/platforms")]
    ctx.show(rows, lambda: table(rows, PLATFORM_COLUMNS, "(no platforms: `hspm platform create NAME`)"))
    return Exit.OK


async def create_platform(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    platform = await ctx.api.post("/platforms", {"name": args.name})
    ctx.show(platform, lambda: f"Created platform {platform['id']} ({platform['name']}).\n")
    return Exit.OK


async def show_platform(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    with hint(404, unknown_platform(args.platform)):
        platform = await ctx.api.get(f"/platforms/{args.platform}")
    ctx.show(platform, lambda: record(platform, PLATFORM_FIELDS))
    return Exit.OK


def read_public_key(path: Path) -> str:
    """The key file's text (base64 of the 32 raw bytes, or PEM); the marketplace checks it."""
    try:
        text = path.read_text(encoding="utf-8")[: MAX_KEY_BYTES + 1].strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the public key {path}: {exc}", Exit.USAGE) from exc
    if not text or len(text) > MAX_KEY_BYTES:
        raise CliError(
            f"{path} holds no public key (base64 or PEM, at most {MAX_KEY_BYTES} bytes)", Exit.USAGE
        )
    if "PRIVATE KEY" in text:
        raise CliError(f"{path} is a private key: give the public half only", Exit.USAGE)
    return text


async def platform_keys(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    at = f"/platforms/{args.platform}/keys"
    with hint(404, unknown_platform(args.platform)):
        if args.add:
            key = await ctx.api.post(at, {"name": args.name, "public_key": read_public_key(args.add)})
            ctx.show(key, lambda: f"Added key {key['id']} (fingerprint {key['fingerprint']}).\n")
            return Exit.OK
        if args.revoke:
            key = await ctx.api.delete(f"{at}/{args.revoke}")
            ctx.show(key, lambda: f"Revoked key {args.revoke}.\n")
            return Exit.OK
        rows = (await ctx.api.get(at)).get("results", [])
    ctx.show(rows, lambda: table(rows, KEY_COLUMNS, "(no keys: `hspm platform keys ID --add FILE`)"))
    return Exit.OK


async def list_instances(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    with hint(404, unknown_platform(args.platform)):
        rows = [i async for i in ctx.api.pages(f"/platforms/{args.platform}/instances")]
    ctx.show(rows, lambda: table(rows, INSTANCE_COLUMNS, "(no instances)"))
    return Exit.OK


async def create_instance(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    body = {"build_id": args.build, "desired_state": "stopped" if args.stopped else "running"}
    with hint(
        404, f"unknown platform {args.platform} or build {args.build}: `hspm platform list` shows yours"
    ):
        instance = await ctx.api.post(f"/platforms/{args.platform}/instances", body)
    ctx.show(instance, lambda: f"Created instance {instance['id']} ({instance['desired_state']}).\n")
    return Exit.OK


async def show_instance(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    with hint(404, unknown_instance(args.instance)):
        instance = await ctx.api.get(f"/instances/{args.instance}")
    ctx.show(instance, lambda: record(instance, INSTANCE_FIELDS))
    return Exit.OK


async def delete_instance(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    with hint(404, unknown_instance(args.instance)):
        instance = await ctx.api.delete(f"/instances/{args.instance}")
    ctx.show(instance, lambda: f"Deleted instance {args.instance}.\n")
    return Exit.OK
