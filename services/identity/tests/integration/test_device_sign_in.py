"""Device sign-in (the command line's ``hspm login``): a device asks for codes, a signed-in
person approves the user code, and the device's poll trades its device code for a session
of that person, once. Polling too fast is told to slow down; codes expire; API tokens
cannot approve; only hashes of the codes are stored.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest

from hspm.common.auth import Principal
from hspm.identity.sessions import service as device_service

PUBLIC_URL = "http://marketplace.test"
START = "/device_authorizations"
TOKEN = "/device_authorizations/token"
APPROVE = "/device_authorizations/approve"
LOOKUP = "/device_authorizations/lookup"


def _sha(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def _start(api: Any, name: str = "hspm command line") -> dict[str, Any]:
    r = await api.post(START, None, {"client_name": name})
    assert r.status == 201, r
    return r.body  # type: ignore[no-any-return]


async def _signed_in(api: Any, kind: str = "session") -> Principal:
    """A person with a live login session (or an API token, ``kind="api"``) in the database."""
    person = await api.make_user()
    sid = uuid4()
    await (await api.db()).execute(
        "INSERT INTO sessions (id, user_id, kind, expires_at) VALUES ($1, $2, $3, $4)",
        sid,
        UUID(person["id"]),
        kind,
        datetime.now(UTC) + timedelta(hours=1),
    )
    return Principal(kind="user", user_id=UUID(person["id"]), session_id=sid, name=person["name"])


async def _poll(api: Any, device_code: str) -> Any:
    return await api.post(TOKEN, None, {"device_code": device_code})


async def _allow_next_poll(api: Any) -> None:
    """Pretend the interval has passed since the last poll (no test waits on a clock)."""
    await (await api.db()).execute(
        "UPDATE device_authorizations SET last_polled_at = last_polled_at - interval '1 hour'"
    )


class TestStart:
    async def test_gives_codes_and_where_to_approve_them(self, identity):
        doc = await _start(identity)
        assert len(doc["device_code"]) >= 43  # 32 random bytes, URL-safe
        code = doc["user_code"]
        assert len(code) == 9 and code[4] == "-" and code.replace("-", "").isalpha()
        assert doc["verification_uri"] == f"{PUBLIC_URL}/ui/device"
        assert doc["verification_uri_complete"] == f"{PUBLIC_URL}/ui/device?user_code={code}"
        assert doc["expires_in"] == 600 and doc["interval"] == 5

    async def test_stores_only_hashes(self, identity):
        doc = await _start(identity)
        row = await (await identity.db()).fetchrow("SELECT * FROM device_authorizations")
        assert row["device_hash"] == _sha(doc["device_code"])
        assert row["user_code_hash"] == _sha(doc["user_code"].replace("-", ""))
        stored = " ".join(str(v) for v in row.values())
        assert doc["device_code"] not in stored and doc["user_code"].replace("-", "") not in stored

    @pytest.mark.parametrize("body", [{}, {"client_name": ""}, {"client_name": "x" * 101}, {"x": 1}, []])
    async def test_a_bad_body_is_refused_and_stores_nothing(self, identity, body):
        r = await identity.post(START, None, body)
        assert r.status == 422, r
        assert await (await identity.db()).fetchval("SELECT count(*) FROM device_authorizations") == 0


class TestApproveAndRedeem:
    async def test_approved_code_gives_the_approvers_session_once(self, identity):
        doc = await _start(identity)
        person = await _signed_in(identity)
        assert (await _poll(identity, doc["device_code"])).body["error"] == "authorization_pending"
        # Typed by a person: any case, spaces for the dash.
        typed = doc["user_code"].lower().replace("-", " ")
        r = await identity.post(APPROVE, person, {"user_code": typed, "approve": True})
        assert r.status == 204, r
        await _allow_next_poll(identity)
        r = await _poll(identity, doc["device_code"])
        assert r.status == 200, r
        assert r.body["authorization"] == f"Bearer {r.body['jwt']}"
        assert r.body["user"]["id"] == str(person.user_id)
        claims = jwt.decode(r.body["jwt"], options={"verify_signature": False})
        assert claims["sub"] == str(person.user_id) and claims["kind"] == "session"
        assert await identity.session(claims["sid"]) is not None
        # One use: the device code is spent.
        again = await _poll(identity, doc["device_code"])
        assert again.status == 400 and again.body["error"] == "expired_token"

    async def test_denied_code_tells_the_device_and_gives_nothing(self, identity):
        doc = await _start(identity)
        person = await _signed_in(identity)
        r = await identity.post(APPROVE, person, {"user_code": doc["user_code"], "approve": False})
        assert r.status == 204, r
        r = await _poll(identity, doc["device_code"])
        assert r.status == 400 and r.body["error"] == "access_denied"
        assert await (await identity.db()).fetchval("SELECT count(*) FROM sessions") == 1

    async def test_a_decided_code_cannot_be_decided_again(self, identity):
        doc = await _start(identity)
        person, other = await _signed_in(identity), await _signed_in(identity)
        approve = {"user_code": doc["user_code"], "approve": True}
        assert (await identity.post(APPROVE, person, approve)).status == 204
        r = await identity.post(APPROVE, other, {"user_code": doc["user_code"], "approve": True})
        assert r.status == 404, r
        approver = await (await identity.db()).fetchval("SELECT approver_id FROM device_authorizations")
        assert approver == person.user_id

    async def test_the_approval_page_can_show_the_client(self, identity):
        doc = await _start(identity, "ci runner 7")
        person = await _signed_in(identity)
        r = await identity.post(LOOKUP, person, {"user_code": doc["user_code"].lower()})
        assert r.status == 200, r
        assert r.body["client_name"] == "ci runner 7" and r.body["user_code"] == doc["user_code"]
        assert (await identity.post(LOOKUP, person, {"user_code": "BCDF-GHJK"})).status == 404
        assert (await identity.post(LOOKUP, None, {"user_code": doc["user_code"]})).status == 401


class TestRefusals:
    @pytest.mark.parametrize("code", ["BCDF-GHJK", "AAAA-AAAA", "short", "ÄÖÜ-ÄÖÜ", "B" * 20])
    async def test_unknown_or_malformed_codes_are_404(self, identity, code):
        await _start(identity)
        person = await _signed_in(identity)
        r = await identity.post(APPROVE, person, {"user_code": code, "approve": True})
        assert r.status == 404, r
        assert (
            await (await identity.db()).fetchval(
                "SELECT count(*) FROM device_authorizations WHERE approved IS NOT NULL"
            )
            == 0
        )

    async def test_an_api_token_cannot_approve(self, identity):
        doc = await _start(identity)
        robot = await _signed_in(identity, kind="api")
        r = await identity.post(APPROVE, robot, {"user_code": doc["user_code"], "approve": True})
        assert r.status == 403, r
        assert (await identity.post(LOOKUP, robot, {"user_code": doc["user_code"]})).status == 403
        assert (await _poll(identity, doc["device_code"])).body["error"] == "authorization_pending"

    async def test_anonymous_cannot_approve(self, identity):
        doc = await _start(identity)
        r = await identity.post(APPROVE, None, {"user_code": doc["user_code"], "approve": True})
        assert r.status == 401, r

    async def test_an_expired_code_can_be_neither_approved_nor_redeemed(self, identity):
        doc = await _start(identity)
        person = await _signed_in(identity)
        await (await identity.db()).execute(
            "UPDATE device_authorizations SET expires_at = now() - interval '1 second'"
        )
        r = await identity.post(APPROVE, person, {"user_code": doc["user_code"], "approve": True})
        assert r.status == 404, r
        r = await _poll(identity, doc["device_code"])
        assert r.status == 400 and r.body["error"] == "expired_token"
        assert await (await identity.db()).fetchval("SELECT count(*) FROM device_authorizations") == 0

    async def test_an_unknown_device_code_gets_nothing(self, identity):
        r = await _poll(identity, "not-a-device-code")
        assert r.status == 400 and r.body["error"] == "expired_token"


class TestPollingIsBounded:
    async def test_pending_sign_ins_are_bounded(self, identity, monkeypatch):
        monkeypatch.setattr(device_service, "MAX_PENDING_DEVICE_SIGN_INS", 2)
        await _start(identity)
        await _start(identity)
        r = await identity.post(START, None, {"client_name": "one too many"})
        assert r.status == 429, r
        assert await (await identity.db()).fetchval("SELECT count(*) FROM device_authorizations") == 2
        # Expired ones are swept first, making room again.
        await (await identity.db()).execute("UPDATE device_authorizations SET expires_at = now()")
        await _start(identity)

    async def test_polling_within_the_interval_is_told_to_slow_down(self, identity):
        doc = await _start(identity)
        assert (await _poll(identity, doc["device_code"])).body["error"] == "authorization_pending"
        r = await _poll(identity, doc["device_code"])
        assert r.status == 400 and r.body["error"] == "slow_down"
        interval = await (await identity.db()).fetchval("SELECT interval_seconds FROM device_authorizations")
        assert interval == 10
        await _allow_next_poll(identity)
        assert (await _poll(identity, doc["device_code"])).body["error"] == "authorization_pending"
