"""``hspm.common.handlers``: the public origin from the service's settings; writes need a caller."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from hspm.common import handlers
from hspm.common.auth import ANONYMOUS
from hspm.common.config import ServiceSettings
from hspm.common.errors import Unauthorized
from hspm.common.testing import TEST_INTERNAL_SECRET, user
from hspm.common.web import create_base_app
from hspm.common.web.principal import principal_key


def _request(public_url: str) -> web.Request:
    app = create_base_app(
        ServiceSettings(public_url=public_url, internal_secret=TEST_INTERNAL_SECRET),
        "widgets",
        tracing_enabled=False,
    )
    return make_mocked_request("GET", "/widgets", app=app)


class TestBaseUrl:
    @pytest.mark.parametrize("public_url", ["https://market.example", "https://market.example/"])
    def test_from_settings_without_a_trailing_slash(self, public_url: str) -> None:
        assert handlers.base_url(_request(public_url)) == "https://market.example"

    def test_a_path_prefix_is_kept(self) -> None:
        assert handlers.base_url(_request("https://example.org/market/")) == "https://example.org/market"


class TestSignedIn:
    def test_anonymous_callers_are_told_to_sign_in(self) -> None:
        request = _request("https://market.example")
        request[principal_key] = ANONYMOUS
        with pytest.raises(Unauthorized):
            handlers.signed_in(request)

    def test_a_caller_is_returned(self) -> None:
        request = _request("https://market.example")
        ada = user(name="Ada")
        request[principal_key] = ada
        assert handlers.signed_in(request) is ada
