"""``python -m hspm.identity seed-demo``: the demo personas, idempotently, with working tokens."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path
from uuid import UUID

import jwt
import orjson
import pytest

from hspm.common import permissions
from hspm.identity.tokens import generate_private_key_pem

pytestmark = pytest.mark.integration

ACCOUNTS = Path(__file__).resolve().parents[4] / "tools" / "oidc-provider" / "accounts.json"
PUBLIC_URL = "http://marketplace.test"
ISSUER = "http://127.0.0.1:9090"
PERSONA_ROLES = {
    "admin": UUID("00000000-0000-4000-8000-000000000001"),
    "operator": UUID("00000000-0000-4000-8000-000000000002"),
    "isv": UUID("00000000-0000-4000-8000-000000000003"),
    "customer": UUID("00000000-0000-4000-8000-000000000004"),
    "auditor": UUID("00000000-0000-4000-8000-000000000005"),
}
CUSTOMER = PERSONA_ROLES["customer"]


async def _seed(database_url: str, signing_key: str, tokens_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HSPM_", "OTEL_"))}
    env |= {"HSPM_DATABASE_URL": database_url, "HSPM_SIGNING_KEY": signing_key, "HSPM_PUBLIC_URL": PUBLIC_URL}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hspm.identity",
        "seed-demo",
        "--accounts",
        str(ACCOUNTS),
        "--oidc-issuer",
        ISSUER,
        "--client-id",
        "marketplace",
        "--client-secret",
        "demo-secret",
        "--tokens-file",
        str(tokens_file),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, (out + err).decode()
    tokens: dict[str, str] = await asyncio.to_thread(_read_json, tokens_file)
    return tokens


def _read_json(path: Path) -> dict:
    return orjson.loads(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestSeedDemo:
    async def test_personas_tokens_and_idempotence(self, fresh_db, start_identity, tmp_path):
        key = generate_private_key_pem()
        first = await _seed(fresh_db, key, tmp_path / "first" / "tokens.json")
        assert set(first) == set(PERSONA_ROLES)
        assert await asyncio.to_thread(_mode, tmp_path / "first" / "tokens.json") == 0o600
        second = await _seed(fresh_db, key, tmp_path / "second.json")

        async with start_identity(fresh_db, key) as api:
            jwks = (await api.get("/.well-known/jwks.json")).body
            verifier = jwt.PyJWK(jwks["keys"][0]).key
            users = (await api.get("/users", api.admin, params={"per_page": "100"})).body
            assert users["total_entries"] == len(PERSONA_ROLES)
            accounts = {a["login"]: a for a in (await asyncio.to_thread(_read_json, ACCOUNTS))["accounts"]}
            [idp] = (await api.get("/identity_providers", api.admin)).body["results"]
            assert (idp["issuer"], idp["client_id"], idp["enabled"]) == (ISSUER, "marketplace", True)

            for persona, role_id in PERSONA_ROLES.items():
                a = jwt.decode(
                    first[persona], verifier, algorithms=["ES256"], audience="hspm", issuer=PUBLIC_URL
                )
                b = jwt.decode(
                    second[persona], verifier, algorithms=["ES256"], audience="hspm", issuer=PUBLIC_URL
                )
                # Seeding again finds the same user, and mints a fresh token for it.
                assert a["sub"] == b["sub"]
                assert a["sid"] != b["sid"]
                assert a["kind"] == "api"
                user = (await api.get(f"/users/{a['sub']}", api.admin)).body
                assert (user["name"], user["email"]) == (
                    accounts[persona]["name"],
                    accounts[persona]["email"],
                )
                [linked] = (await api.get(f"/users/{a['sub']}/identities", api.admin)).body["results"]
                assert (linked["sub"], linked["identity_provider_id"]) == (accounts[persona]["id"], idp["id"])
                expected = api.role_keys[role_id] | api.role_keys[CUSTOMER]
                for sid in (a["sid"], b["sid"]):
                    session = await api.session(sid)
                    assert session is not None
                    assert (session["user_id"], set(session["permissions"])) == (a["sub"], expected)

            admin_session = await api.session(
                jwt.decode(first["admin"], options={"verify_signature": False})["sid"]
            )
            assert permissions.MANAGE in admin_session["permissions"]
