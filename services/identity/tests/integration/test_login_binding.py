"""Login CSRF and tokens in URLs: the OIDC state is bound to the browser that started the
login, and the session token reaches the UI through a one-time code, never a query string.

Also ``POST /session``, the spec's way to begin a login for a provider.
"""

from __future__ import annotations

import hashlib
from http.cookies import SimpleCookie
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
from yarl import URL

PUBLIC_URL = "http://marketplace.test"
UI_URL = "https://ui.example/app?x=1"
COOKIE = "hspm_login"


def _set_cookie(reply: Any) -> Any:
    """The login cookie a response sets (a ``Morsel``)."""
    jar: SimpleCookie = SimpleCookie()
    for value in reply.headers.getall("Set-Cookie", []):
        jar.load(value)
    assert COOKIE in jar, reply.headers
    return jar[COOKIE]


def _forget_cookies(api: Any) -> None:
    api.client.session.cookie_jar.clear()


async def _users(api: Any) -> int:
    return int((await api.get("/users", api.admin)).body["total_entries"])


async def _verify(api: Any, token: str) -> dict[str, Any]:
    jwks = (await api.get("/.well-known/jwks.json")).body
    [jwk] = [k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="hspm", issuer=PUBLIC_URL
    )
    return claims


class TestStateIsBoundToTheBrowser:
    async def test_redirect_sets_a_short_lived_httponly_lax_cookie(self, identity, oidc):
        r = await identity.get(f"/identity_providers/{oidc.idp['id']}/redirect")
        assert r.status == 302, r
        cookie = _set_cookie(r)
        assert len(cookie.value) >= 32
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert cookie["path"] == "/sessions"
        assert 0 < int(cookie["max-age"]) <= 600
        assert not cookie["secure"]  # the public URL is plain http here
        # Only a hash of it is kept, beside the state.
        digest = hashlib.sha256(cookie.value.encode()).digest()
        stored = await (await identity.db()).fetchval("SELECT browser_hash FROM oidc_logins")
        assert stored == digest

    async def test_cookie_is_secure_behind_https(self, fresh_db, start_identity, oidc_for):
        async with start_identity(fresh_db, public_url="https://marketplace.test/api") as api:
            oidc = await oidc_for(api)
            r = await api.get(f"/identity_providers/{oidc.idp['id']}/redirect")
            cookie = _set_cookie(r)
            assert cookie["secure"] is True
            assert cookie["path"] == "/api/sessions"

    async def test_callback_without_the_cookie_is_refused_and_creates_nothing(self, identity, oidc):
        # Login CSRF: the attacker's own code and state, opened in the victim's browser.
        callback = oidc.consent(await oidc.begin(), "attacker-sub", name="Attacker")
        _forget_cookies(identity)
        r = await identity.get("/sessions", params=callback)
        assert r.status == 400, r
        assert r.content_type == "application/problem+json"
        assert "browser" in r.body["detail"]
        assert oidc.fake.token_requests == []  # refused before the code was even spent
        assert await _users(identity) == 0

    async def test_callback_with_another_browsers_cookie_is_refused(self, identity, oidc):
        attackers = oidc.consent(await oidc.begin(), "attacker-sub", name="Attacker")
        await oidc.begin()  # the victim's own login, in the victim's browser (its cookie)
        r = await identity.get("/sessions", params=attackers)
        assert r.status == 400, r
        assert oidc.fake.token_requests == []
        assert await _users(identity) == 0

    async def test_a_refused_callback_does_not_spend_the_login(self, identity, oidc):
        r = await identity.get(f"/identity_providers/{oidc.idp['id']}/redirect")
        cookie, query = _set_cookie(r), dict(URL(r.headers["Location"]).query)
        _forget_cookies(identity)
        callback = oidc.consent(query, "patient-sub")
        wrong = await identity.get("/sessions", params=callback, headers={"Cookie": f"{COOKIE}=not-mine"})
        assert wrong.status == 400, wrong
        right = await identity.get(
            "/sessions", params=callback, headers={"Cookie": f"{COOKIE}={cookie.value}"}
        )
        assert right.status == 200, right
        assert await _users(identity) == 1

    async def test_the_right_browser_logs_in_and_the_cookie_is_cleared(self, identity, oidc):
        r = await oidc.login("right-sub", name="Right")
        assert r.status == 200, r
        cleared = _set_cookie(r)
        assert cleared.value == "" and int(cleared["max-age"]) == 0
        assert r.headers["Cache-Control"] == "no-store"


class TestTokenHandOver:
    """With a UI the browser lands on ``ui_url#code=...``; the UI trades the code by POST."""

    async def test_redirect_has_no_token_in_its_query_and_the_code_buys_it(
        self, fresh_db, start_identity, oidc_for
    ):
        async with start_identity(fresh_db, ui_url=UI_URL) as api:
            oidc = await oidc_for(api)
            r = await oidc.login("ui-sub", name="Via UI")
            assert r.status == 302, r
            location = URL(r.headers["Location"])
            assert str(location.with_query(None).with_fragment(None)) == "https://ui.example/app"
            assert dict(location.query) == {"x": "1"}  # the UI's own query, nothing added
            assert "jwt" not in r.headers["Location"] and "eyJ" not in r.headers["Location"]
            fragment = dict(URL("?" + location.fragment).query)
            assert set(fragment) == {"code"}
            traded = await api.post("/sessions/token", None, {"code": fragment["code"]})
            assert traded.status == 200, traded
            assert traded.body["authorization"] == f"Bearer {traded.body['jwt']}"
            assert traded.headers["Cache-Control"] == "no-store"
            claims = await _verify(api, traded.body["jwt"])
            assert claims["kind"] == "session"
            assert await api.session(claims["sid"]) is not None

    async def test_code_is_single_use_and_stored_hashed(self, fresh_db, start_identity, oidc_for):
        async with start_identity(fresh_db, ui_url=UI_URL) as api:
            oidc = await oidc_for(api)
            location = URL((await oidc.login("once-sub")).headers["Location"])
            code = dict(URL("?" + location.fragment).query)["code"]
            stored = await (await api.db()).fetch("SELECT code_hash FROM login_codes")
            assert [r["code_hash"] for r in stored] == [hashlib.sha256(code.encode()).digest()]
            assert (await api.post("/sessions/token", None, {"session": {"code": code}})).status == 200
            again = await api.post("/sessions/token", None, {"code": code})
            assert again.status == 400, again
            assert "jwt" not in again.body
            assert await (await api.db()).fetchval("SELECT count(*) FROM login_codes") == 0

    async def test_code_expires(self, fresh_db, start_identity, oidc_for):
        async with start_identity(fresh_db, ui_url=UI_URL) as api:
            oidc = await oidc_for(api)
            location = URL((await oidc.login("late-sub")).headers["Location"])
            code = dict(URL("?" + location.fragment).query)["code"]
            ttl = await (await api.db()).fetchval("SELECT expires_at - created_at FROM login_codes")
            assert 0 < ttl.total_seconds() <= 120
            await (await api.db()).execute("UPDATE login_codes SET expires_at = now() - interval '1 second'")
            late = await api.post("/sessions/token", None, {"code": code})
            assert late.status == 400, late

    async def test_code_of_a_revoked_session_buys_nothing(self, fresh_db, start_identity, oidc_for):
        async with start_identity(fresh_db, ui_url=UI_URL) as api:
            oidc = await oidc_for(api)
            location = URL((await oidc.login("revoked-sub")).headers["Location"])
            code = dict(URL("?" + location.fragment).query)["code"]
            await (await api.db()).execute("UPDATE sessions SET revoked_at = now()")
            assert (await api.post("/sessions/token", None, {"code": code})).status == 400

    @pytest.mark.parametrize("body", [{"code": "made-up"}, {"code": ""}, {}, {"code": "x" * 5000}])
    async def test_unknown_or_malformed_codes_are_refused(self, identity, body):
        r = await identity.post("/sessions/token", None, body)
        assert r.status in (400, 422), r
        assert r.content_type == "application/problem+json"

    async def test_without_a_ui_the_callback_answers_json(self, identity, oidc):
        # API clients that start a login without a UI keep the JSON answer.
        r = await oidc.login("api-sub")
        assert r.status == 200, r
        assert set(r.body) >= {"jwt", "authorization", "expires_at"}


class TestPostSession:
    """``POST /session`` with ``provider_id`` begins a login, as the spec's client does."""

    @pytest.mark.parametrize("wrapped", [False, True])
    async def test_begins_a_login_bound_to_the_browser(self, identity, oidc, wrapped):
        body: dict[str, Any] = {"provider_id": oidc.idp["id"]}
        r = await identity.post("/session", None, {"session": body} if wrapped else body)
        assert r.status == 303, r
        location = URL(r.headers["Location"])
        assert str(location.with_query(None)) == f"{oidc.fake.base}/authorize"
        assert location.query["redirect_uri"] == f"{PUBLIC_URL}/sessions"
        assert _set_cookie(r)["httponly"] is True
        oidc.consent(dict(location.query), "posted-sub", name="Posted")
        done = await identity.get("/sessions", params=oidc.last_callback)
        assert done.status == 200, done
        assert (await _verify(identity, done.body["jwt"]))["kind"] == "session"

    async def test_unknown_or_disabled_provider_is_404(self, identity, oidc):
        assert (await identity.post("/session", None, {"provider_id": str(uuid4())})).status == 404
        await identity.post(f"{oidc.idp['path']}/disable", identity.admin)
        assert (await identity.post("/session", None, {"provider_id": oidc.idp["id"]})).status == 404

    @pytest.mark.parametrize(
        "body", [{}, {"provider_id": "not-a-uuid"}, {"provider_id": str(UUID(int=1)), "x": 1}]
    )
    async def test_bad_bodies_are_422(self, identity, body):
        r = await identity.post("/session", None, body)
        assert r.status == 422, r
        assert await (await identity.db()).fetchval("SELECT count(*) FROM oidc_logins") == 0
