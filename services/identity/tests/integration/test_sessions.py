"""Sessions: OIDC login, the gateway's session lookup, /status, logout and the JWKS."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from hspm.common import permissions
from hspm.common.auth import Principal, service_principal

PUBLIC_URL = "http://marketplace.test"
CUSTOMER_ROLE = "00000000-0000-4000-8000-000000000004"
STATUS_KEYS = {"message", "product", "database"}


async def _verify(identity, token: str) -> dict:
    """Check a Marketplace token the way the gateway does: ES256 against the JWKS."""
    jwks = (await identity.get("/.well-known/jwks.json")).body
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [k for k in jwks["keys"] if k["kid"] == kid]
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="hspm", issuer=PUBLIC_URL)


def _principal(user_id: str, session_id: str, keys=()) -> Principal:
    return Principal(
        kind="user", user_id=UUID(user_id), session_id=UUID(session_id), permissions=frozenset(keys)
    )


class TestOidcLogin:
    async def test_redirect_carries_pkce_state_and_nonce(self, identity, oidc):
        query = await oidc.begin()
        assert query["response_type"] == "code"
        assert query["client_id"] == oidc.fake.client_id
        assert query["redirect_uri"] == f"{PUBLIC_URL}/sessions"
        assert query["scope"].split()[0] == "openid"
        assert query["code_challenge_method"] == "S256"
        assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32

    async def test_first_login_creates_user_identity_and_session(self, identity, oidc):
        r = await oidc.login(
            "new-sub", name="Nora New", given_name="Nora", family_name="New", email="nora@example.org"
        )
        assert r.status == 200, r
        assert r.body["authorization"] == f"Bearer {r.body['jwt']}"
        claims = await _verify(identity, r.body["jwt"])
        assert claims["kind"] == "session"
        user = (await identity.get(f"/users/{claims['sub']}", identity.admin)).body
        assert (user["name"], user["first_name"], user["last_name"], user["email"]) == (
            "Nora New",
            "Nora",
            "New",
            "nora@example.org",
        )
        [linked] = (await identity.get(f"/users/{claims['sub']}/identities", identity.admin)).body["results"]
        assert (linked["sub"], linked["identity_provider_id"]) == ("new-sub", oidc.idp["id"])
        session = await identity.session(claims["sid"])
        assert session is not None
        assert (session["user_id"], session["kind"]) == (claims["sub"], "session")
        assert set(session["permissions"]) == identity.role_keys[UUID(CUSTOMER_ROLE)]
        # The token request carried the PKCE verifier and the registered redirect URI.
        [sent] = oidc.fake.token_requests
        assert sent["redirect_uri"] == f"{PUBLIC_URL}/sessions"
        assert sent["grant_type"] == "authorization_code"

    async def test_second_login_reuses_the_user(self, identity, oidc):
        first = await _verify(identity, (await oidc.login("same-sub", name="Old Name")).body["jwt"])
        second = await _verify(identity, (await oidc.login("same-sub", name="New Name")).body["jwt"])
        assert first["sub"] == second["sub"]
        assert first["sid"] != second["sid"]
        listed = await identity.get("/users", identity.admin)
        assert [u["name"] for u in listed.body["results"]] == ["New Name"]

    async def test_no_transaction_stays_open_while_the_idp_is_called(self, identity, oidc):
        # Discovery, keys and the code exchange can each take seconds: a transaction held
        # across them would hold its locks and its pooled connection as long.
        db = await identity.db()
        oidc.fake.probe = lambda: db.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND state LIKE 'idle in transaction%'"""
        )
        r = await oidc.login("sub-probe", name="Probe")
        assert r.status == 200, r
        # Discovery and keys when the login begins, the code exchange when it completes.
        assert len(oidc.fake.probed) >= 3
        assert set(oidc.fake.probed) == {0}

    async def test_unknown_state_is_400(self, identity, oidc):
        query = await oidc.begin()
        r = await identity.get("/sessions", params={"code": "whatever", "state": query["state"] + "x"})
        assert r.status == 400, r
        assert r.content_type == "application/problem+json"

    async def test_rotated_idp_key_is_fetched_again(self, identity, oidc):
        await oidc.begin()  # discovery and keys are now cached for the refresh interval
        oidc.fake.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        oidc.fake.kid = "fake-key-2"
        r = await oidc.login("rotated-sub")
        assert r.status == 200, r
        idp = await identity.get(oidc.idp["path"], identity.admin)
        assert [k["kid"] for k in idp.body["public_keys"]["keys"]] == ["fake-key-2"]

    async def test_state_is_used_once(self, identity, oidc):
        r = await oidc.login("replay-sub")
        assert r.status == 200, r
        replay = await identity.get("/sessions", params=oidc.last_callback)
        assert replay.status == 400, replay
        assert len(oidc.fake.token_requests) == 1

    async def test_wrong_nonce_is_rejected(self, identity, oidc):
        r = await oidc.login("nonce-sub", nonce="not-the-one-we-sent")
        assert r.status == 400, r
        assert (await identity.get("/users", identity.admin)).body["total_entries"] == 0

    async def test_refused_code_is_400(self, identity, oidc):
        oidc.fake.client_secret = "rotated-at-the-idp"
        r = await oidc.login("refused-sub")
        assert r.status == 400, r
        assert r.body["title"] == "Login rejected"

    async def test_token_endpoint_answering_html_is_502(self, identity, oidc):
        oidc.fake.html_from.add("token")
        r = await oidc.login("html-sub")
        assert r.status == 502, r
        assert r.content_type == "application/problem+json"
        assert (await identity.get("/users", identity.admin)).body["total_entries"] == 0

    async def test_disabled_provider_cannot_finish_a_login(self, identity, oidc):
        query = await oidc.begin()
        await identity.post(f"{oidc.idp['path']}/disable", identity.admin)
        r = await identity.get("/sessions", params={"code": "c", "state": query["state"]})
        assert r.status == 401, r

    async def test_missing_code_and_state_are_422(self, identity):
        r = await identity.get("/sessions")
        assert r.status == 422, r
        assert set(r.errors) == {"code", "state"}

    async def test_refusal_by_the_idp_is_401(self, identity):
        r = await identity.get("/sessions", params={"error": "access_denied"})
        assert r.status == 401, r


class TestLoginWithUiUrl:
    """With ``ui_url`` set the callback sends the browser back to the UI."""

    async def test_login_and_bare_callback_go_to_the_ui(self, fresh_db, start_identity, oidc_for):
        async with start_identity(fresh_db, ui_url="https://ui.example/app?x=1") as api:
            oidc = await oidc_for(api)
            r = await oidc.login("ui-sub", name="Via UI")
            assert r.status == 302, r
            location = URL(r.headers["Location"])
            assert str(location.with_query(None).with_fragment(None)) == "https://ui.example/app"
            assert dict(location.query) == {"x": "1"}  # no token in the query (test_login_binding)
            code = dict(URL("?" + location.fragment).query)["code"]
            traded = await api.post("/sessions/token", None, {"code": code})
            claims = await _verify(api, traded.body["jwt"])
            assert await api.session(claims["sid"]) is not None
            bare = await api.get("/sessions")
            assert (bare.status, bare.headers["Location"]) == (302, "https://ui.example/app?x=1")


class TestInternalSessions:
    async def test_gateway_reads_a_live_session(self, identity):
        user = await identity.make_user("Live")
        token = await identity.make_token(user["id"])
        doc = await identity.session(token["id"])
        assert doc is not None
        assert (doc["session_id"], doc["user_id"], doc["name"], doc["kind"]) == (
            token["id"],
            user["id"],
            "Live",
            "api",
        )
        assert doc["expires_at"] == token["expires_at"]

    @pytest.mark.parametrize("persona", ["anonymous", "customer", "admin"])
    async def test_only_services_may_ask(self, identity, persona):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        r = await identity.get(f"/internal/sessions/{token['id']}", identity.persona(persona))
        assert r.status == 404, r

    @pytest.mark.parametrize("sid", ["unknown", "not-a-uuid"])
    async def test_unknown_session_is_404(self, identity, sid):
        sid = str(uuid4()) if sid == "unknown" else sid
        r = await identity.get(f"/internal/sessions/{sid}", identity.gateway)
        assert r.status == 404, r

    async def test_expired_session_is_404(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        await (await identity.db()).execute(
            "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", UUID(token["id"])
        )
        assert await identity.session(token["id"]) is None

    async def test_revoked_session_is_404(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        r = await identity.delete(token["path"], identity.as_user(user["id"]))
        assert r.status == 200, r
        assert await identity.session(token["id"]) is None


class TestStatus:
    async def test_anonymous_gets_health_only(self, identity):
        r = await identity.get("/status")
        assert r.status == 200, r
        assert set(r.body) == STATUS_KEYS
        assert r.body["message"].startswith("This application server and underlying database")
        for part in ("product", "database"):
            assert datetime.fromisoformat(r.body[part]["datetime"].replace("Z", "+00:00")).tzinfo is not None

    async def test_service_principal_gets_health_only(self, identity):
        r = await identity.get("/status", service_principal("gateway"))
        assert set(r.body) == STATUS_KEYS

    async def test_user_gets_identity_user_permissions_and_jwt(self, identity):
        user = await identity.make_user("Whoami")
        token = await identity.make_token(user["id"])
        keys = identity.role_keys[UUID(CUSTOMER_ROLE)]
        r = await identity.get("/status", _principal(user["id"], token["id"], keys))
        assert r.status == 200, r
        assert set(r.body) >= STATUS_KEYS
        assert r.body["jwt"]["id"] == token["id"]
        assert r.body["jwt"]["kind"] == "api"
        assert r.body["user"]["id"] == user["id"]
        assert r.body["identity"]["user"]["name"] == "Whoami"
        assert r.body["identity"]["user_id"] == user["id"]
        doc = r.body["permissions"]
        assert doc == permissions.as_document(keys)
        assert set(doc) == set(permissions.TEMPLATE)
        assert all(set(doc[res]) == set(verbs) for res, verbs in permissions.TEMPLATE.items())

    async def test_login_session_names_its_provider(self, identity, oidc):
        claims = await _verify(identity, (await oidc.login("status-sub", name="Via IdP")).body["jwt"])
        r = await identity.get("/status", _principal(claims["sub"], claims["sid"]))
        assert r.body["identity"]["provider"] == {"id": oidc.idp["id"], "name": oidc.idp["name"]}
        assert r.body["jwt"]["kind"] == "session"


class TestLogout:
    @pytest.mark.parametrize("path", ["/sessions", "/session"])
    async def test_anonymous_is_401(self, identity, path):
        r = await identity.delete(path)
        assert r.status == 401, r

    @pytest.mark.parametrize("path", ["/sessions", "/session"])
    async def test_revokes_the_callers_session(self, identity, path):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        mark = await identity.outbox_mark()
        r = await identity.delete(path, _principal(user["id"], token["id"]))
        assert r.status == 200, r
        assert r.body == {"message": "Logged out."}
        assert await identity.session(token["id"]) is None
        assert [(t, b["session_id"]) for t, b in await identity.events_since(mark)] == [
            ("identity.session.revoked", token["id"])
        ]
        assert await identity.written_with("sessions", token["id"], mark, column="revoked_at")

    async def test_logging_out_twice_revokes_once(self, identity):
        user = await identity.make_user()
        token = await identity.make_token(user["id"])
        me = _principal(user["id"], token["id"])
        assert (await identity.delete("/sessions", me)).status == 200
        mark = await identity.outbox_mark()
        assert (await identity.delete("/sessions", me)).status == 200
        assert await identity.events_since(mark) == []

    async def test_login_session_logs_out(self, identity, oidc):
        claims = await _verify(identity, (await oidc.login("bye-sub")).body["jwt"])
        r = await identity.delete("/session", _principal(claims["sub"], claims["sid"]))
        assert r.status == 200, r
        assert await identity.session(claims["sid"]) is None


class TestJwks:
    async def test_publishes_the_public_key_only(self, identity):
        r = await identity.get("/.well-known/jwks.json")
        assert r.status == 200, r
        [key] = r.body["keys"]
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
        assert "d" not in key
        assert "max-age" in r.headers["Cache-Control"]
