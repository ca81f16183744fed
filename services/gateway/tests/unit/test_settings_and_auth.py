"""Settings parsing, bearer header parsing and the CORS policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hspm.common.config import MIN_INTERNAL_SECRET_LENGTH
from hspm.common.testing import TEST_INTERNAL_SECRET
from hspm.gateway.config import Settings
from hspm.gateway.edge.auth import InvalidToken, bearer_token
from hspm.gateway.edge.cors import CorsPolicy


def _bases(settings: Settings, service: str) -> list[str]:
    replicas = settings.upstreams()[service]
    assert replicas is not None
    return [r.base for r in replicas.replicas]


class TestSettings:
    def test_blank_url_means_not_deployed(self):
        s = Settings(internal_secret=TEST_INTERNAL_SECRET, catalog_url="", web_url="http://x:1/")
        assert s.upstreams()["catalog"] is None
        assert _bases(s, "web") == ["http://x:1"]
        assert _bases(s, "identity") == ["http://127.0.0.1:8081"]

    def test_several_urls_are_replicas(self):
        s = Settings(internal_secret=TEST_INTERNAL_SECRET, catalog_url=" http://a:1/, ,https://b ")
        assert _bases(s, "catalog") == ["http://a:1", "https://b"]
        replicas = s.upstreams()["catalog"]
        assert replicas is not None
        assert [r.address for r in replicas.replicas] == [("a", 1, "a:1"), None]
        s = Settings(internal_secret=TEST_INTERNAL_SECRET, catalog_url=" , ")
        assert s.upstreams()["catalog"] is None

    def test_defaults(self):
        s = Settings(internal_secret=TEST_INTERNAL_SECRET)
        assert s.http_port == 8080
        assert s.rate_limit_per_minute == 1200 and s.rate_limit_burst == 200
        assert s.principal_cache_seconds == 30 and s.upstream_timeout == 30
        assert s.origins() == frozenset({"*"})

    def test_environment_is_read(self, monkeypatch):
        monkeypatch.setenv("HSPM_INTERNAL_SECRET", TEST_INTERNAL_SECRET)
        monkeypatch.setenv("HSPM_NOTIFIER_URL", "")
        monkeypatch.setenv("HSPM_CORS_ORIGINS", "https://a.example, https://b.example/")
        s = Settings()
        assert s.notifier_url is None
        assert s.origins() == frozenset({"https://a.example", "https://b.example"})

    @pytest.mark.parametrize("secret", ["", "short", "x" * (MIN_INTERNAL_SECRET_LENGTH - 1)])
    def test_internal_secret_is_required(self, secret, monkeypatch):
        monkeypatch.delenv("HSPM_INTERNAL_SECRET", raising=False)
        with pytest.raises(ValidationError, match="HSPM_INTERNAL_SECRET"):
            Settings(internal_secret=secret)

    def test_the_minimum_is_the_one_every_service_enforces(self):
        # One minimum, in hspm.common.config: a key the gateway signs with is one every
        # service accepts, and no service accepts a shorter one.
        assert Settings(internal_secret="x" * MIN_INTERNAL_SECRET_LENGTH)
        assert MIN_INTERNAL_SECRET_LENGTH >= 16

    @pytest.mark.parametrize("value", ["", "0", "9464"])
    def test_metrics_port_from_the_environment(self, value, monkeypatch):
        monkeypatch.setenv("HSPM_INTERNAL_SECRET", TEST_INTERNAL_SECRET)
        monkeypatch.setenv("HSPM_METRICS_PORT", value)
        assert Settings().metrics_port == (int(value) if value else None)


class TestBearer:
    def test_token(self):
        assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
        assert bearer_token("bearer  abc") == "abc"

    @pytest.mark.parametrize("value", ["Basic x", "Bearer", "Bearer ", "abc", "Bearer " + "x" * 5000])
    def test_refused(self, value):
        with pytest.raises(InvalidToken):
            bearer_token(value)


class TestCorsPolicy:
    def test_any_origin(self):
        assert CorsPolicy(frozenset({"*"})).allowed("https://x") == "*"
        assert CorsPolicy(frozenset({"*"})).allowed(None) == "*"

    def test_list(self):
        policy = CorsPolicy(frozenset({"https://a"}))
        assert policy.allowed("https://a") == "https://a"
        assert policy.allowed("https://b") is None
        assert policy.allowed(None) is None


class TestRevokedList:
    async def test_revoked_until_the_tokens_expiry(self):
        import time

        import aiohttp

        from hspm.gateway.edge.auth import Authenticator, VerifiedToken

        async with aiohttp.ClientSession() as client:
            settings = Settings(internal_secret=TEST_INTERNAL_SECRET)
            auth = Authenticator(settings, client, settings.upstreams()["identity"])
            exp = time.time() + 120
            auth._remember("tok", VerifiedToken("sid-1", "uid-1", "session", exp))
            assert auth.peek("tok") is not None
            auth.revoke("sid-1")
            assert auth.is_revoked("sid-1")
            assert auth.peek("tok") is None
            assert auth._revoked["sid-1"] == exp
            auth.revoke("sid-2")
            assert auth._revoked["sid-2"] > time.time() + 3600
