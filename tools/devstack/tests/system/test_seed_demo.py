"""The demo seed against a real identity behind a real gateway: personas, tokens, idempotence.

Only identity and the gateway run (no OIDC provider, registry or other service): the
seed needs nothing else, and the stack starts in a few seconds.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
import pytest
import pytest_asyncio

from hspm.common import permissions
from hspm.common.auth import Principal
from hspm.common.testing import as_headers, unique
from hspm.devstack.stack import OIDC_CLIENT_ID, OIDC_DIR, Stack
from hspm.devstack.testing import drop_stack_state, start_stack

ACCOUNTS = OIDC_DIR / "accounts.json"
# Built-in role ids (identity's migration 0001) for each demo persona.
PERSONA_ROLES = {
    "admin": "00000000-0000-4000-8000-000000000001",
    "operator": "00000000-0000-4000-8000-000000000002",
    "isv": "00000000-0000-4000-8000-000000000003",
    "customer": "00000000-0000-4000-8000-000000000004",
    "auditor": "00000000-0000-4000-8000-000000000005",
}
CUSTOMER = PERSONA_ROLES["customer"]
GATEWAY = Principal(kind="service", name="gateway", permissions=frozenset())


@pytest_asyncio.fixture(scope="module")
async def identity_stack(
    tmp_path_factory: pytest.TempPathFactory, pg_dsn: str, amqp_url: str
) -> AsyncIterator[Stack]:
    running = await start_stack(
        tmp_path_factory.mktemp("seed"), unique("seed"), pg_dsn, amqp_url, parts=("identity", "gateway")
    )
    yield running
    await running.stop()
    await drop_stack_state(running.config)


def _read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Client:
    """Calls through the gateway with a bearer token, and identity's own session lookup."""

    def __init__(self, http: aiohttp.ClientSession, stack: Stack) -> None:
        self.http = http
        self.stack = stack

    async def get(self, path: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.stack.config.gateway_url + path, headers=headers) as resp:
            assert resp.status == 200, (path, resp.status, await resp.text())
            return await resp.json()

    async def session(self, session_id: str) -> Any:
        """The gateway's view of a session (what identity tells it for a bearer token)."""
        identity = f"http://127.0.0.1:{self.stack.config.ports['identity']}"
        headers = as_headers(GATEWAY, self.stack.internal_secret)
        async with self.http.get(f"{identity}/internal/sessions/{session_id}", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


class TestSeedDemo:
    async def test_personas_tokens_and_idempotence(self, identity_stack: Stack) -> None:
        state = identity_stack.config.state_dir
        first = _read_json(await identity_stack.seed())
        assert set(first) == set(PERSONA_ROLES)
        assert _mode(state / "dev-tokens.json") == 0o600
        assert _mode(state / "bootstrap-admin.json") == 0o600
        bootstrap = _read_json(state / "bootstrap-admin.json")
        second = _read_json(await identity_stack.seed())
        # The kept administrator still works, so no second one was made.
        assert _read_json(state / "bootstrap-admin.json") == bootstrap

        async with aiohttp.ClientSession() as http:
            api = Client(http, identity_stack)
            admin = first["admin"]
            jwks = await api.get("/.well-known/jwks.json")
            verifier = jwt.PyJWK(jwks["keys"][0]).key
            users = await api.get("/users?per_page=100", admin)
            # The personas and the one bootstrap administrator.
            assert users["total_entries"] == len(PERSONA_ROLES) + 1
            [bootstrapper] = [u for u in users["results"] if u["id"] == bootstrap["user_id"]]
            assert bootstrapper["name"] == "Bootstrap administrator"
            accounts = {a["login"]: a for a in _read_json(ACCOUNTS)["accounts"]}
            [idp] = (await api.get("/identity_providers", admin))["results"]
            assert (idp["issuer"], idp["client_id"], idp["enabled"]) == (
                identity_stack.config.oidc_issuer,
                OIDC_CLIENT_ID,
                True,
            )
            assert (idp["name"], idp["scopes"]) == ("Local development", "openid email profile roles")
            role_keys = {
                role_id: permissions.granted(
                    permissions.normalize((await api.get(f"/roles/{role_id}", admin))["permissions"])
                )
                for role_id in PERSONA_ROLES.values()
            }

            issuer = identity_stack.config.gateway_url
            for persona, role_id in PERSONA_ROLES.items():
                a = jwt.decode(first[persona], verifier, algorithms=["ES256"], audience="hspm", issuer=issuer)
                b = jwt.decode(
                    second[persona], verifier, algorithms=["ES256"], audience="hspm", issuer=issuer
                )
                # Seeding again finds the same user, and mints a fresh token for it.
                assert a["sub"] == b["sub"]
                assert a["sid"] != b["sid"]
                assert a["kind"] == "api"
                user = await api.get(f"/users/{a['sub']}", admin)
                assert (user["name"], user["email"]) == (
                    accounts[persona]["name"],
                    accounts[persona]["email"],
                )
                [linked] = (await api.get(f"/users/{a['sub']}/identities", admin))["results"]
                assert (linked["sub"], linked["identity_provider_id"]) == (accounts[persona]["id"], idp["id"])
                expected = role_keys[role_id] | role_keys[CUSTOMER]
                for sid in (a["sid"], b["sid"]):
                    session = await api.session(sid)
                    assert (session["user_id"], set(session["permissions"])) == (a["sub"], expected)

            admin_sid = jwt.decode(admin, options={"verify_signature": False})["sid"]
            assert permissions.MANAGE in (await api.session(admin_sid))["permissions"]

    async def test_a_refused_kept_administrator_token_is_replaced(self, identity_stack: Stack) -> None:
        state = identity_stack.config.state_dir
        before = _read_json(await identity_stack.seed())
        (state / "bootstrap-admin.json").write_bytes(orjson.dumps({"user_id": "x", "token": "not-a-token"}))
        after = _read_json(await identity_stack.seed())
        kept = _read_json(state / "bootstrap-admin.json")
        assert kept["token"] != "not-a-token"
        assert _mode(state / "bootstrap-admin.json") == 0o600
        async with aiohttp.ClientSession() as http:
            api = Client(http, identity_stack)
            status = await api.get("/status", kept["token"])
            assert status["user"]["id"] == kept["user_id"]
            # The personas are the same users as before.
            for persona in PERSONA_ROLES:
                was = jwt.decode(before[persona], options={"verify_signature": False})["sub"]
                now = jwt.decode(after[persona], options={"verify_signature": False})["sub"]
                assert was == now
