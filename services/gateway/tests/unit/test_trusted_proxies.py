"""Who the client is: X-Forwarded-* believed only from the configured proxies."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from hspm.gateway.edge.proxies import TrustedProxies

PROXIES = TrustedProxies.parse("10.0.0.0/8, 192.0.2.7")


def _request(peer: str, **headers: str) -> web.Request:
    request = make_mocked_request("GET", "/users", headers={"Host": "gw.internal", **headers})
    return request.clone(remote=peer)


class TestParse:
    def test_networks_and_single_addresses(self) -> None:
        assert [str(n) for n in PROXIES.networks] == ["10.0.0.0/8", "192.0.2.7/32"]

    def test_empty_trusts_no_one(self) -> None:
        nobody = TrustedProxies.parse(" , ")
        assert nobody.networks == ()
        assert not nobody.peer_is_trusted(_request("10.1.2.3"))


class TestClientIp:
    def test_an_untrusted_peer_is_the_client_whatever_it_claims(self) -> None:
        assert PROXIES.client_ip(_request("203.0.113.5", **{"X-Forwarded-For": "6.6.6.6"})) == "203.0.113.5"

    def test_behind_proxies_the_nearest_untrusted_address_is_the_client(self) -> None:
        chain = "6.6.6.6, 198.51.100.9, 10.0.0.2"  # a spoofed entry, the client, an inner proxy
        assert PROXIES.client_ip(_request("192.0.2.7", **{"X-Forwarded-For": chain})) == "198.51.100.9"

    def test_an_all_trusted_chain_gives_its_first_address(self) -> None:
        request = _request("10.9.9.9", **{"X-Forwarded-For": "10.0.0.1, 10.0.0.2"})
        assert PROXIES.client_ip(request) == "10.0.0.1"

    def test_a_trusted_peer_without_the_header_is_the_client(self) -> None:
        assert PROXIES.client_ip(_request("10.9.9.9")) == "10.9.9.9"


class TestPublicOrigin:
    def test_a_trusted_proxy_reports_scheme_and_host(self) -> None:
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.org"}
        assert PROXIES.public_origin(_request("10.0.0.2", **forwarded)) == "https://api.example.org"

    def test_anyone_else_gets_the_connection_as_it_is(self) -> None:
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
        assert PROXIES.public_origin(_request("203.0.113.5", **forwarded)) == "http://gw.internal"
