"""``python -m hspm.identity.cli create-admin``: an operator's first administrator, and a token
that works at once (the devstack bootstraps with exactly this command and output)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from uuid import UUID

import asyncpg
import jwt
import orjson

from hspm.common import permissions
from hspm.common.events.identity import UserCreated
from hspm.identity.signing import generate_private_key_pem

PUBLIC_URL = "http://marketplace.test"
ADMINISTRATOR = UUID("00000000-0000-4000-8000-000000000001")


async def _create_admin(database_url: str, signing_key: str, name: str) -> str:
    """Run the command as an operator would, with the service's own HSPM_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HSPM_", "OTEL_"))}
    env |= {"HSPM_DATABASE_URL": database_url, "HSPM_SIGNING_KEY": signing_key, "HSPM_PUBLIC_URL": PUBLIC_URL}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hspm.identity.cli",
        "create-admin",
        "--name",
        name,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, (out + err).decode()
    return out.decode()


class TestCreateAdmin:
    async def test_prints_a_token_whose_session_holds_the_administrator_role(self, fresh_db, start_identity):
        key = generate_private_key_pem()
        out = await _create_admin(fresh_db, key, "Ops Admin")

        [line] = out.splitlines()
        printed = orjson.loads(line)
        assert set(printed) == {"user_id", "token"}
        claims = jwt.decode(printed["token"], options={"verify_signature": False})
        assert (claims["sub"], claims["kind"], claims["iss"]) == (printed["user_id"], "api", PUBLIC_URL)
        user_id, session_id = UUID(printed["user_id"]), UUID(claims["sid"])

        conn = await asyncpg.connect(fresh_db)
        try:
            session = await conn.fetchrow("SELECT * FROM sessions WHERE id = $1", session_id)
            appointed = {
                r["role_id"]
                for r in await conn.fetch("SELECT role_id FROM appointments WHERE user_id = $1", user_id)
            }
            name = await conn.fetchval("SELECT name FROM users WHERE id = $1", user_id)
        finally:
            await conn.close()
        assert session is not None
        assert (session["user_id"], session["kind"], session["scopes"]) == (user_id, "api", ["*"])
        assert session["revoked_at"] is None
        assert abs(session["expires_at"] - session["created_at"] - timedelta(days=30)) < timedelta(minutes=5)
        assert ADMINISTRATOR in appointed
        assert name == "Ops Admin"

        # The service on that database signs with the same key and acts for the token at once.
        async with start_identity(fresh_db, key) as api:
            jwks = (await api.get("/.well-known/jwks.json")).body
            verified = jwt.decode(
                printed["token"],
                jwt.PyJWK(jwks["keys"][0]).key,
                algorithms=["ES256"],
                audience="hspm",
                issuer=PUBLIC_URL,
            )
            assert verified["sid"] == str(session_id)
            doc = await api.session(session_id)
            assert doc is not None
            assert (doc["user_id"], doc["name"], doc["kind"], doc["scopes"]) == (
                str(user_id),
                "Ops Admin",
                "api",
                None,
            )
            assert permissions.MANAGE in doc["permissions"]
            events = [t for t, body in await api.outbox() if body.get("user_id") == str(user_id)]
            assert events == [UserCreated.TYPE]

    async def test_each_run_makes_another_administrator(self, fresh_db, start_identity):
        key = generate_private_key_pem()
        first = orjson.loads(await _create_admin(fresh_db, key, "First"))
        second = orjson.loads(await _create_admin(fresh_db, key, "Second"))
        assert first["user_id"] != second["user_id"]
        async with start_identity(fresh_db, key) as api:
            for printed in (first, second):
                sid = jwt.decode(printed["token"], options={"verify_signature": False})["sid"]
                doc = await api.session(sid)
                assert doc is not None
                assert permissions.MANAGE in doc["permissions"]
