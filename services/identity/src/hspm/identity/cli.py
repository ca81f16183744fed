"""Operator commands, run as ``python -m hspm.identity.cli COMMAND``.

- ``create-admin --name NAME``: create a user holding the built-in Administrator role and
  print one line of JSON, ``{"user_id": ..., "token": ...}``, with a 30-day API token.
  Reads the service's own HSPM_* settings (database, signing key, public URL) and applies
  the migrations first, so it works on an empty database.
- ``generate-key``: print a new EC P-256 signing key (PEM) for ``HSPM_SIGNING_KEY``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

from hspm.common import db
from hspm.common.logging import configure_logging
from hspm.identity.config import Settings
from hspm.identity.signing import TokenIssuer, generate_private_key_pem
from hspm.identity.users import service as users

ADMIN_TOKEN_DAYS = 30


async def create_admin(name: str, settings: Settings) -> dict[str, str]:
    """Create the administrator and its API token; returns what the command prints."""
    if not settings.signing_key.get_secret_value():
        raise SystemExit("HSPM_SIGNING_KEY (PEM, EC P-256) is required")
    issuer = TokenIssuer(settings.signing_key.get_secret_value(), settings.public_url)
    await db.ensure_database(settings.database_url)
    pool = await db.create_pool(settings.database_url, 1, 2)
    try:
        await db.migrate(
            pool,
            {
                "common": db.load_migrations("hspm.common"),
                "identity": db.load_migrations("hspm.identity", settings.migrations_dir),
            },
        )
        async with pool.acquire() as conn, conn.transaction():
            user, record = await users.create_administrator(conn, name, ADMIN_TOKEN_DAYS)
    finally:
        await pool.close()
    token = issuer.issue(user["id"], record["id"], "api", record["expires_at"])
    return {"user_id": str(user["id"]), "token": token}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hspm.identity.cli", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    admin = sub.add_parser("create-admin", help="create an administrator and print an API token (JSON)")
    admin.add_argument("--name", required=True, help="the administrator's name")
    sub.add_parser("generate-key", help="print a new EC P-256 signing key (PEM)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "generate-key":
        sys.stdout.write(generate_private_key_pem())
    elif args.command == "create-admin":
        settings = Settings()
        # Standard output is the command's result, read by scripts (the devstack parses
        # it): the migrations' and the service's log lines go to standard error.
        configure_logging(settings.service_name, settings.log_level, settings.log_json, sys.stderr)
        created = asyncio.run(create_admin(args.name, settings))
        sys.stdout.write(orjson.dumps(created).decode() + "\n")


if __name__ == "__main__":
    main()
