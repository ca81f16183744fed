"""Settings parsing, bearer header parsing and the CORS policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hspm.common.testing import TEST_INTERNAL_SECRET
from hspm.gateway.config import Settings
from hspm.gateway.edge.auth import InvalidToken, bearer_token
from hspm.gateway.edge.cors import CorsPolicy


class TestSettings:
    def test_blank_url_means_not_deployed(self):
        s = Settings(internal_secret=TEST_INTERNAL_SECRET, catalog_url="", web_url="http://x:1/")
        assert s.upstreams()["catalog"] is None
        assert s.upstreams()["web"] == "http://x:1"
        assert s.upstreams()["identity"] == "http://127.0.0.1:8081"

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

    @pytest.mark.parametrize("secret", ["", "short"])
    def test_internal_secret_is_required(self, secret, monkeypatch):
        monkeypatch.delenv("HSPM_INTERNAL_SECRET", raising=False)
        with pytest.raises(ValidationError):
            Settings(internal_secret=secret)


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
            auth = Authenticator(Settings(internal_secret=TEST_INTERNAL_SECRET), client)
            exp = time.time() + 120
            auth._remember("tok", VerifiedToken("sid-1", "uid-1", "session", exp))
            assert auth.peek("tok") is not None
            auth.revoke("sid-1")
            assert auth.is_revoked("sid-1")
            assert auth.peek("tok") is None
            assert auth._revoked["sid-1"] == exp
            auth.revoke("sid-2")
            assert auth._revoked["sid-2"] > time.time() + 3600
