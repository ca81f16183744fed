"""Operator commands: serve, bootstrap an administrator, seed the demo personas."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson

from hspm.common import db
from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.logging import configure_logging
from hspm.common.runner import run_app
from hspm.common.tracing import configure_tracing
from hspm.identity import models, service, store
from hspm.identity.app import create_app
from hspm.identity.config import Settings
from hspm.identity.tokens import TokenIssuer, generate_private_key_pem

# Built-in role ids (migration 0001) for each demo persona.
PERSONA_ROLES = {
    "admin": UUID("00000000-0000-4000-8000-000000000001"),
    "operator": UUID("00000000-0000-4000-8000-000000000002"),
    "isv": UUID("00000000-0000-4000-8000-000000000003"),
    "customer": UUID("00000000-0000-4000-8000-000000000004"),
    "auditor": UUID("00000000-0000-4000-8000-000000000005"),
}
_SEEDER = Principal(kind="service", name="identity-cli", permissions=frozenset({"everything.manage"}))


def serve() -> None:
    settings = Settings()
    configure_logging("identity", settings.log_level, settings.log_json)
    configure_tracing("identity")
    run_app(create_app(settings), settings)


async def _open(settings: Settings) -> asyncpg.Pool:
    await db.ensure_database(settings.database_url)
    pool = await db.create_pool(settings.database_url, 1, 2)
    await db.migrate(
        pool, {"common": db.load_migrations("hspm.common"), "identity": db.load_migrations("hspm.identity")}
    )
    return pool


async def _issue_api_token(conn: Conn, issuer: TokenIssuer, user_id: UUID, name: str, days: int) -> str:
    expires = datetime.now(UTC) + timedelta(days=days)
    row = await store.insert_session(conn, uuid4(), user_id, "api", expires, name=name, scopes=["*"])
    return issuer.issue(user_id, row["id"], "api", expires)


async def create_admin(name: str) -> None:
    """Create a user holding the Administrator role and print an API token for it."""
    settings = Settings()
    issuer = TokenIssuer(settings.signing_key.get_secret_value(), settings.public_url)
    pool = await _open(settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            user = await service.register_user(conn, uuid4(), {"name": name})
            await store.insert_appointment(conn, uuid4(), PERSONA_ROLES["admin"], user["id"], None)
            token = await _issue_api_token(conn, issuer, user["id"], "bootstrap", 30)
    finally:
        await pool.close()
    sys.stdout.write(orjson.dumps({"user_id": str(user["id"]), "token": token}).decode() + "\n")


async def _ensure_idp(conn: Conn, issuer: str, client_id: str, client_secret: str) -> UUID:
    existing = await store.get_identity_provider_by_issuer(conn, issuer)
    if existing is not None:
        await store.update_identity_provider(
            conn, existing["id"], {"client_id": client_id, "client_secret": client_secret}
        )
        return UUID(str(existing["id"]))
    body = models.IdentityProviderCreate(
        name="Local development",
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        scopes="openid email profile roles",
    )
    row = await service.create_identity_provider(conn, _SEEDER, body)
    return UUID(str(row["id"]))


async def _ensure_persona(conn: Conn, idp_id: UUID, account: dict[str, Any], persona: str) -> UUID:
    identity = await store.find_identity(conn, idp_id, account["id"])
    if identity is not None:
        user_id = UUID(str(identity["user_id"]))
    else:
        fields = {
            "name": account["name"],
            "first_name": account.get("given_name"),
            "last_name": account.get("family_name"),
            "email": account.get("email"),
        }
        user = await service.register_user(conn, uuid4(), {k: v for k, v in fields.items() if v})
        user_id = user["id"]
        await store.insert_identity(
            conn,
            uuid4(),
            {
                "user_id": user_id,
                "identity_provider_id": idp_id,
                "sub": account["id"],
                "email": account.get("email"),
            },
        )
    role_id = PERSONA_ROLES[persona]
    # appoint_defaults ignores an existing appointment, so re-seeding is harmless.
    await store.appoint_defaults(conn, [(uuid4(), role_id)], user_id, None)
    return user_id


async def seed_demo(args: argparse.Namespace) -> None:
    """Idempotently create the local IdP, one user per persona, and a demo API token each."""
    settings = Settings()
    issuer = TokenIssuer(settings.signing_key.get_secret_value(), settings.public_url)
    accounts_doc = orjson.loads(Path(args.accounts).read_bytes())
    accounts = accounts_doc["accounts"] if isinstance(accounts_doc, dict) else accounts_doc
    pool = await _open(settings)
    tokens: dict[str, str] = {}
    try:
        async with pool.acquire() as conn, conn.transaction():
            idp_id = await _ensure_idp(conn, args.oidc_issuer, args.client_id, args.client_secret)
            for account in accounts:
                persona = account["login"]
                if persona not in PERSONA_ROLES:
                    continue
                user_id = await _ensure_persona(conn, idp_id, account, persona)
                tokens[persona] = await _issue_api_token(conn, issuer, user_id, "demo", 90)
    finally:
        await pool.close()
    out = Path(args.tokens_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(tokens, option=orjson.OPT_INDENT_2))
    out.chmod(0o600)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hspm.identity")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP service (default)")
    admin = sub.add_parser("create-admin", help="create an administrator and print an API token")
    admin.add_argument("--name", required=True)
    sub.add_parser("generate-key", help="print a new EC P-256 signing key (PEM)")
    seed = sub.add_parser("seed-demo", help="seed the demo personas and write their API tokens")
    seed.add_argument("--accounts", required=True, help="the local OIDC provider's accounts.json")
    seed.add_argument("--oidc-issuer", required=True)
    seed.add_argument("--client-id", required=True)
    seed.add_argument("--client-secret", required=True)
    seed.add_argument("--tokens-file", required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command in (None, "serve"):
        serve()
    elif args.command == "generate-key":
        sys.stdout.write(generate_private_key_pem())
    elif args.command == "create-admin":
        asyncio.run(create_admin(args.name))
    elif args.command == "seed-demo":
        asyncio.run(seed_demo(args))
