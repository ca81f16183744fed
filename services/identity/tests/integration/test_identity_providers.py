"""Identity providers: anonymous discovery for login, administration, and the redirect."""

from __future__ import annotations

from uuid import uuid4

import jwt
import pytest

PUBLIC_URL = "http://marketplace.test"
PUBLIC_FIELDS = {"id", "name", "issuer", "enabled", "redirect_url", "path", "url"}
ADMIN_FIELDS = PUBLIC_FIELDS | {
    "client_id",
    "client_secret",
    "alternate_client_id",
    "scopes",
    "enabled_at",
    "configuration",
    "public_keys",
    "created_at",
    "updated_at",
}


class TestListIdentityProviders:
    async def test_anonymous_sees_enabled_ones_without_secrets(self, identity):
        enabled = await identity.make_idp(name="Enabled")
        await identity.make_idp(name="Disabled", enabled=False)
        r = await identity.get("/identity_providers")
        assert r.status == 200, r
        [shown] = r.body["results"]
        assert set(shown) == PUBLIC_FIELDS
        assert shown["id"] == enabled["id"]
        assert shown["redirect_url"] == f"{PUBLIC_URL}/identity_providers/{enabled['id']}/redirect"
        assert r.body["total_entries"] == 1

    @pytest.mark.parametrize("persona", ["customer", "auditor", "operator"])
    async def test_users_without_update_see_the_public_view(self, identity, persona):
        await identity.make_idp()
        r = await identity.get("/identity_providers", identity.persona(persona))
        [shown] = r.body["results"]
        assert set(shown) == PUBLIC_FIELDS

    async def test_admin_sees_all_with_the_secret_masked(self, identity):
        await identity.make_idp(name="A", client_secret="s3cr3t")
        await identity.make_idp(name="B", enabled=False, client_secret="s3cr3t")
        r = await identity.get("/identity_providers", identity.admin)
        assert [p["name"] for p in r.body["results"]] == ["A", "B"]
        for shown in r.body["results"]:
            assert set(shown) == ADMIN_FIELDS
            assert shown["client_secret"] == "********"
        assert "s3cr3t" not in str(r.body)

    async def test_anonymous_reads_one_without_secrets(self, identity):
        idp = await identity.make_idp(client_secret="s3cr3t")
        r = await identity.get(idp["path"])
        assert r.status == 200, r
        assert set(r.body) == PUBLIC_FIELDS


class TestCreateIdentityProvider:
    async def test_created_with_location_and_masked_secret(self, identity):
        r = await identity.post(
            "/identity_providers",
            identity.admin,
            {
                "identity_provider": {
                    "name": "Keycloak",
                    "issuer": "https://sso.example/realms/hspm",
                    "client_id": "marketplace",
                    "client_secret": "s3cr3t",
                    "scopes": "openid,email, profile",
                }
            },
        )
        assert r.status == 201, r
        path = f"/identity_providers/{r.body['id']}"
        assert (r.body["path"], r.headers["Location"]) == (path, PUBLIC_URL + path)
        assert r.body["client_secret"] == "********"
        assert r.body["scopes"] == "openid email profile"
        assert r.body["enabled"] is True
        assert r.body["enabled_at"] is not None
        assert r.body["configuration"] is None

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"issuer": "ftp://sso.example"}, "issuer"),
            ({"issuer": "sso.example"}, "issuer"),
            ({"scopes": "email profile"}, "scopes"),
            ({"client_secret": ""}, "client_secret"),
            ({"client_id": None}, "client_id"),
            ({"name": " "}, "name"),
        ],
    )
    async def test_invalid_fields_are_422(self, identity, change, field):
        body = {"name": "X", "issuer": "https://x.example", "client_id": "c", "client_secret": "s"} | change
        r = await identity.post("/identity_providers", identity.admin, body)
        assert r.status == 422, r
        assert field in r.errors

    @pytest.mark.parametrize("field", ["name", "issuer"])
    async def test_name_and_issuer_are_unique(self, identity, field):
        first = await identity.make_idp()
        body = {"name": "Other", "issuer": "https://other.example", "client_id": "c", "client_secret": "s"}
        r = await identity.post("/identity_providers", identity.admin, body | {field: first[field]})
        assert r.status == 422, r
        assert list(r.errors) == [field]

    @pytest.mark.parametrize("persona", ["anonymous", "customer", "operator"])
    async def test_needs_identity_providers_create(self, identity, persona):
        body = {"name": "X", "issuer": "https://x.example", "client_id": "c", "client_secret": "s"}
        r = await identity.post("/identity_providers", identity.persona(persona), body)
        assert r.status == (401 if persona == "anonymous" else 403), r


class TestUpdateIdentityProvider:
    @pytest.mark.parametrize("method", ["PUT", "PATCH"])
    async def test_changes_given_fields(self, identity, method):
        idp = await identity.make_idp()
        r = await identity.request(
            method, idp["path"], identity.admin, {"identity_provider": {"name": "Renamed"}}
        )
        assert r.status == 200, r
        assert (r.body["name"], r.body["issuer"]) == ("Renamed", idp["issuer"])

    async def test_scopes_are_normalised(self, identity):
        idp = await identity.make_idp()
        r = await identity.patch(idp["path"], identity.admin, {"scopes": "openid,roles"})
        assert (r.status, r.body["scopes"]) == (200, "openid roles")

    async def test_scopes_without_openid_are_422(self, identity):
        idp = await identity.make_idp()
        r = await identity.patch(idp["path"], identity.admin, {"scopes": "email profile"})
        assert r.status == 422, r
        assert "scopes" in r.errors

    @pytest.mark.parametrize("field", ["name", "issuer", "client_id", "client_secret", "scopes"])
    async def test_null_required_field_is_422(self, identity, field):
        idp = await identity.make_idp()
        r = await identity.patch(idp["path"], identity.admin, {field: None})
        assert r.status == 422, r
        assert field in r.errors

    async def test_bad_issuer_is_422(self, identity):
        idp = await identity.make_idp()
        r = await identity.patch(idp["path"], identity.admin, {"issuer": "gopher://old.example"})
        assert r.status == 422, r
        assert "issuer" in r.errors

    async def test_new_issuer_forgets_discovery(self, identity, oidc):
        await oidc.begin()
        before = await identity.get(oidc.idp["path"], identity.admin)
        assert before.body["configuration"]["issuer"] == oidc.fake.base
        assert before.body["public_keys"]["keys"]
        r = await identity.patch(oidc.idp["path"], identity.admin, {"issuer": "https://moved.example"})
        assert r.status == 200, r
        assert (r.body["configuration"], r.body["public_keys"]) == (None, None)

    async def test_name_is_unique(self, identity):
        taken, idp = await identity.make_idp(), await identity.make_idp()
        r = await identity.patch(idp["path"], identity.admin, {"name": taken["name"]})
        assert r.status == 422, r
        assert "name" in r.errors


class TestEnableDisable:
    async def test_disable_then_enable(self, identity):
        idp = await identity.make_idp()
        off = await identity.post(f"{idp['path']}/disable", identity.admin)
        assert off.status == 200, off
        assert (off.body["enabled"], off.body["enabled_at"]) == (False, None)
        assert (await identity.get("/identity_providers")).body["results"] == []
        on = await identity.post(f"{idp['path']}/enable", identity.admin)
        assert on.status == 200, on
        assert on.body["enabled"] is True
        assert [p["id"] for p in (await identity.get("/identity_providers")).body["results"]] == [idp["id"]]

    async def test_enabling_twice_keeps_the_first_time(self, identity):
        idp = await identity.make_idp()
        again = await identity.post(f"{idp['path']}/enable", identity.admin)
        assert again.body["enabled_at"] == idp["enabled_at"]

    @pytest.mark.parametrize("action", ["enable", "disable"])
    async def test_unknown_is_404(self, identity, action):
        r = await identity.post(f"/identity_providers/{uuid4()}/{action}", identity.admin)
        assert r.status == 404, r

    @pytest.mark.parametrize("persona", ["anonymous", "customer", "operator"])
    async def test_needs_identity_providers_update(self, identity, persona):
        idp = await identity.make_idp()
        r = await identity.post(f"{idp['path']}/disable", identity.persona(persona))
        assert r.status == (401 if persona == "anonymous" else 403), r


class TestRedirect:
    async def test_disabled_is_404(self, identity):
        idp = await identity.make_idp(enabled=False)
        r = await identity.get(f"{idp['path']}/redirect")
        assert r.status == 404, r

    async def test_unknown_is_404(self, identity):
        assert (await identity.get(f"/identity_providers/{uuid4()}/redirect")).status == 404
        assert (await identity.get("/identity_providers/nope/redirect")).status == 404

    async def test_unreachable_issuer_is_502(self, identity):
        idp = await identity.make_idp(issuer="http://127.0.0.1:1")
        r = await identity.get(f"{idp['path']}/redirect")
        assert r.status == 502, r
        assert r.content_type == "application/problem+json"
        assert r.body["status"] == 502
        assert r.body["title"] == "Identity provider error"

    async def test_discovery_naming_another_issuer_is_502(self, identity, oidc):
        oidc.fake.discovery_overrides["issuer"] = "https://impostor.example"
        r = await identity.get(f"{oidc.idp['path']}/redirect")
        assert r.status == 502, r

    @pytest.mark.parametrize("missing", ["jwks_uri", "authorization_endpoint"])
    async def test_incomplete_discovery_is_502(self, identity, oidc, missing):
        oidc.fake.discovery_overrides[missing] = None
        r = await identity.get(f"{oidc.idp['path']}/redirect")
        assert r.status == 502, r
        assert r.content_type == "application/problem+json"

    async def test_discovery_that_is_not_json_is_502(self, identity, oidc):
        oidc.fake.html_from.add("discovery")
        r = await identity.get(f"{oidc.idp['path']}/redirect")
        assert r.status == 502, r
        assert r.content_type == "application/problem+json"

    async def test_redirects_anonymous_callers_to_the_idp(self, identity, oidc):
        query = await oidc.begin()
        assert query["client_id"] == oidc.fake.client_id


class TestDeleteIdentityProvider:
    async def test_deletes_identities_and_revokes_their_sessions(self, identity, oidc):
        login = await oidc.login("leaving-sub")
        claims = jwt.decode(login.body["jwt"], options={"verify_signature": False})
        api_token = await identity.make_token(claims["sub"])
        mark = await identity.outbox_mark()

        r = await identity.delete(oidc.idp["path"], identity.admin)

        assert r.status == 200, r
        assert r.body["id"] == oidc.idp["id"]
        assert (await identity.get(oidc.idp["path"])).status == 404
        linked = await identity.get(f"/users/{claims['sub']}/identities", identity.admin)
        assert linked.body["results"] == []
        assert await identity.session(claims["sid"]) is None
        # The user and their API token outlive the provider.
        assert await identity.session(api_token["id"]) is not None
        revoked = [
            (b["session_id"], b["user_id"])
            for t, b in await identity.events_since(mark)
            if t == "identity.session.revoked"
        ]
        assert revoked == [(claims["sid"], claims["sub"])]

    @pytest.mark.parametrize("persona", ["anonymous", "customer", "operator"])
    async def test_needs_identity_providers_delete(self, identity, persona):
        idp = await identity.make_idp()
        r = await identity.delete(idp["path"], identity.persona(persona))
        assert r.status == (401 if persona == "anonymous" else 403), r

    async def test_unknown_is_404(self, identity):
        assert (await identity.delete(f"/identity_providers/{uuid4()}", identity.admin)).status == 404
