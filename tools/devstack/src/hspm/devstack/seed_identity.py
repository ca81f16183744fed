"""The demo personas, seeded through identity's public API like any other client.

``make up`` and the system tests' private stacks need one user per persona of the local
OpenID Connect provider (``tools/oidc-provider/accounts.json``), each linked to its
account there, holding its built-in role, and an API token each in
``<state_dir>/dev-tokens.json``. The seed asks identity for all of it over HTTP,
through the gateway, as an administrator:

- bootstrap: the administrator's token is kept in ``<state_dir>/bootstrap-admin.json``
  and reused while it works; otherwise identity's operator command ``create-admin``
  (run by the caller, who knows identity's environment) makes a new one;
- the local provider is registered (or its credentials brought up to date);
- each persona's user is found through the identity linking it to its account, or
  created and linked; its role is appointed and a fresh API token minted.

Running it again finds the same users and appointments and only mints new tokens.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from hspm.devstack.api import TAKEN, ApiError, GatewayApi
from hspm.devstack.private import write_private

BOOTSTRAP_FILE = "bootstrap-admin.json"
TOKENS_FILE = "dev-tokens.json"
BOOTSTRAP_NAME = "Bootstrap administrator"
# The persona the seed itself calls as, in ``GatewayApi.tokens``.
ADMIN = "bootstrap"
PROVIDER_NAME = "Local development"
PROVIDER_SCOPES = "openid email profile roles"
TOKEN_NAME = "demo"
TOKEN_DAYS = 90
# Each persona (the account's login) holds the built-in role of this name.
PERSONA_ROLES = {
    "admin": "Administrator",
    "operator": "Operator",
    "isv": "ISV",
    "customer": "Customer",
    "auditor": "Auditor",
}
ALREADY_APPOINTED = "already holds this role"
# Persona users get ids derived from the provider and the account: a run interrupted
# between creating a user and linking it finds that user again instead of adding another.
USER_IDS = uuid.UUID("5f0c1d9e-2b7a-4f4e-9a51-6f3c2e8d7b10")

# Runs identity's ``create-admin`` and returns its output: one line of JSON with the new
# administrator's ``user_id`` and ``token``.
CreateAdmin = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class LocalProvider:
    """The development OpenID Connect provider, as identity is to know it."""

    issuer: str
    client_id: str
    client_secret: str
    accounts: Path  # its accounts.json


@dataclass(frozen=True)
class Persona:
    """One demo account of the local provider."""

    login: str
    sub: str  # the account id: the ``sub`` of its ID tokens
    name: str
    first_name: str | None
    last_name: str | None
    email: str | None

    @property
    def user_fields(self) -> dict[str, str]:
        fields = {
            "name": self.name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
        }
        return {k: v for k, v in fields.items() if v}


def personas(accounts_json: bytes) -> list[Persona]:
    """The accounts that are demo personas (a login with a built-in role), in file order."""
    doc = orjson.loads(accounts_json)
    accounts: list[dict[str, Any]] = doc["accounts"] if isinstance(doc, dict) else doc
    return [
        Persona(
            login=a["login"],
            sub=a["id"],
            name=a["name"],
            first_name=a.get("given_name"),
            last_name=a.get("family_name"),
            email=a.get("email"),
        )
        for a in accounts
        if a["login"] in PERSONA_ROLES
    ]


def persona_user_id(provider_id: str, persona: Persona) -> str:
    """The id the seed gives the persona's user: the same on every run (see USER_IDS)."""
    return str(uuid.uuid5(USER_IDS, f"{provider_id} {persona.sub}"))


async def seed_identity(
    gateway_url: str, state_dir: Path, provider: LocalProvider, create_admin: CreateAdmin
) -> Path:
    """Seed (or bring up to date) the personas; returns the tokens file it wrote."""
    people = personas(await asyncio.to_thread(provider.accounts.read_bytes))
    tokens: dict[str, str] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        api = GatewayApi(http, gateway_url, {})
        api.tokens[ADMIN] = await _bootstrap_token(api, state_dir / BOOTSTRAP_FILE, create_admin)
        provider_id = await _ensure_provider(api, provider)
        linked = await _linked_users(api, provider_id)
        for persona in people:
            user_id = linked.get(persona.sub) or await _create_user(api, provider_id, persona)
            await _appoint(api, await _role_id(api, PERSONA_ROLES[persona.login]), user_id)
            tokens[persona.login] = await _api_token(api, user_id)
    out = state_dir / TOKENS_FILE
    await asyncio.to_thread(write_private, out, orjson.dumps(tokens, option=orjson.OPT_INDENT_2))
    return out


async def _bootstrap_token(api: GatewayApi, kept: Path, create_admin: CreateAdmin) -> str:
    """The kept administrator token while identity still knows it, else a new one."""
    token = await asyncio.to_thread(_read_token, kept)
    if token is not None:
        api.tokens[ADMIN] = token
        status, body = await api.send("GET", "/status", ADMIN)
        # A token from a dropped database or an old signing key is refused (401).
        if status == 200 and body.get("user"):
            return token
    output = await create_admin()
    admin = orjson.loads(output.strip().splitlines()[-1])
    await asyncio.to_thread(write_private, kept, orjson.dumps(admin))
    return str(admin["token"])


def _read_token(path: Path) -> str | None:
    return str(orjson.loads(path.read_bytes())["token"]) if path.exists() else None


async def _ensure_provider(api: GatewayApi, provider: LocalProvider) -> str:
    """The local provider's id; its credentials may have changed since the last run."""
    credentials = {
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "scopes": PROVIDER_SCOPES,
    }
    found = await api.find("/identity_providers", ADMIN, issuer=provider.issuer)
    if found is not None:
        await api.ok("PATCH", f"/identity_providers/{found['id']}", ADMIN, credentials)
        return str(found["id"])
    body = {"name": PROVIDER_NAME, "issuer": provider.issuer, **credentials}
    return str((await api.ok("POST", "/identity_providers", ADMIN, body))["id"])


async def _linked_users(api: GatewayApi, provider_id: str) -> dict[str, str]:
    """Account (``sub``) → user, for every identity linked at the provider.

    Identity offers no lookup by subject, so every user's identities are read once; a
    development stack has a handful of users.
    """
    linked: dict[str, str] = {}
    async for user in api.each("/users", ADMIN):
        async for identity in api.each(f"/users/{user['id']}/identities", ADMIN):
            if identity["identity_provider_id"] == provider_id:
                linked[identity["sub"]] = str(user["id"])
    return linked


async def _create_user(api: GatewayApi, provider_id: str, persona: Persona) -> str:
    """A new user for ``persona``, linked to its account (the first login finds it)."""
    user_id = persona_user_id(provider_id, persona)
    body = {"id": user_id, **persona.user_fields}
    status, reply = await api.call("POST", "/users", ADMIN, body, ok=(201, 422))
    # Taken: made by a run that stopped before linking it (see USER_IDS).
    if status == 422 and TAKEN not in json.dumps(reply.get("errors", {}).get("id")):
        raise ApiError(f"POST /users for {persona.login}: 422 {json.dumps(reply)[:2000]}")
    identity = {"identity_provider_id": provider_id, "sub": persona.sub, "email": persona.email}
    await api.ok("POST", f"/users/{user_id}/identities", ADMIN, identity)
    return user_id


async def _role_id(api: GatewayApi, name: str) -> str:
    role = await api.find(f"/roles?name={quote(name)}", ADMIN, name=name)
    if role is None:
        raise ApiError(f"identity has no built-in role {name!r}")
    return str(role["id"])


async def _appoint(api: GatewayApi, role_id: str, user_id: str) -> None:
    """Appoint the user to the role; an earlier run's appointment stands."""
    body = {"entity_id": user_id, "entity_type": "User"}
    path = f"/roles/{role_id}/appointments"
    status, reply = await api.call("POST", path, ADMIN, body, ok=(201, 422))
    if status == 422 and ALREADY_APPOINTED not in json.dumps(reply):
        raise ApiError(f"POST {path}: 422 {json.dumps(reply)[:2000]}")


async def _api_token(api: GatewayApi, user_id: str) -> str:
    body = {"name": TOKEN_NAME, "scopes": ["*"], "expires_in_days": TOKEN_DAYS}
    return str((await api.ok("POST", f"/users/{user_id}/api_tokens", ADMIN, body))["token"])
