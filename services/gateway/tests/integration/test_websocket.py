"""WebSocket upgrades on /websocket and /websockets, relayed to the notifier."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType


class TestWebSocket:
    @pytest.mark.parametrize("path", ["/websocket", "/websockets"])
    async def test_header_token_relays_both_ways(self, gateway, identity, path):
        headers, sid, uid = identity.bearer(["platforms.read"])
        async with gateway.http.ws_connect(path, headers=headers | {"X-Request-ID": "ws-1"}) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["service"] == "notifier"
            assert hello["principal"]["session_id"] == sid
            assert hello["principal"]["user_id"] == uid
            assert hello["request_id"] == "ws-1"
            assert hello["authorization"] is None
            await ws.send_str("ping")
            assert (await ws.receive(timeout=5)).data == "echo:ping"
            await ws.send_bytes(b"\x01\x02\x03")
            message = await ws.receive(timeout=5)
            assert message.type is WSMsgType.BINARY
            assert message.data == b"\x03\x02\x01"

    async def test_browser_token_rides_as_a_subprotocol_and_stays_at_the_edge(self, gateway, identity):
        sid, uid = identity.new_session(["platforms.read"])
        token = identity.token(sid, uid)
        protocols = ("hspm.v1", f"hspm.bearer.{token}")
        async with gateway.http.ws_connect("/websocket?platform=7", protocols=protocols) as ws:
            hello = await ws.receive_json(timeout=5)
            assert ws.protocol == "hspm.v1"
        assert hello["principal"]["session_id"] == sid
        assert hello["query"] == "platform=7"
        assert token not in str(hello["protocols"])

    async def test_subprotocol_is_negotiated_with_the_notifier(self, gateway, identity):
        headers, _, _ = identity.bearer()
        async with gateway.http.ws_connect("/websocket", headers=headers, protocols=("hspm.v1",)) as ws:
            assert ws.protocol == "hspm.v1"

    async def test_without_a_token_goes_through_as_anonymous(self, gateway):
        """Platform agents prove a key inside the notifier's protocol, with no token."""
        async with gateway.http.ws_connect("/websocket") as ws:
            hello = await ws.receive_json(timeout=5)
            await ws.send_str("ping")
            assert (await ws.receive(timeout=5)).data == "echo:ping"
        assert hello["principal"] is None

    async def test_a_forged_principal_header_never_reaches_the_notifier(self, gateway, identity):
        headers = {"X-HSPM-Principal": "forged"}
        async with gateway.http.ws_connect("/websocket", headers=headers) as ws:
            hello = await ws.receive_json(timeout=5)
        assert hello["principal"] is None

    async def test_token_in_the_url_is_refused(self, gateway, identity):
        sid, uid = identity.new_session()
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await gateway.http.ws_connect(f"/websocket?jwt={identity.token(sid, uid)}")
        assert caught.value.status == 401

    async def test_invalid_token_is_401(self, gateway, identity):
        sid, uid = identity.new_session()
        expired = identity.token(sid, uid, lifetime=-60)
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await gateway.http.ws_connect("/websocket", protocols=("hspm.v1", f"hspm.bearer.{expired}"))
        assert caught.value.status == 401
        assert caught.value.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'

    async def test_upstream_close_code_reaches_the_client(self, gateway, identity):
        headers, _, _ = identity.bearer()
        async with gateway.http.ws_connect("/websocket", headers=headers) as ws:
            await ws.receive_json(timeout=5)
            await ws.send_str("close:4001")
            message = await ws.receive(timeout=5)
            assert message.type is WSMsgType.CLOSE
            assert message.data == 4001

    async def test_client_close_code_reaches_the_notifier(self, gateway, identity):
        headers, _, _ = identity.bearer()
        closes = len(identity.ws_closes)
        ws = await gateway.http.ws_connect("/websocket", headers=headers)
        await ws.receive_json(timeout=5)
        await ws.close(code=4002)
        for _ in range(100):
            if len(identity.ws_closes) > closes:
                break
            await asyncio.sleep(0.02)
        assert identity.ws_closes[closes] == 4002

    async def test_socket_outlives_the_http_timeout(self, gateway, identity):
        headers, _, _ = identity.bearer()
        async with gateway.http.ws_connect("/websocket", headers=headers) as ws:
            await ws.receive_json(timeout=5)
            await asyncio.sleep(2.0)  # upstream_timeout of the test gateway is 1.5 s
            await ws.send_str("still")
            assert (await ws.receive(timeout=5)).data == "echo:still"

    async def test_unconfigured_notifier_is_503_before_upgrading(self, start_gateway, identity):
        gw = await start_gateway(notifier_url="")
        headers, _, _ = identity.bearer()
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await gw.http.ws_connect("/websocket", headers=headers)
        assert caught.value.status == 503

    async def test_shutdown_closes_sockets_with_going_away(self, start_gateway, identity):
        gw = await start_gateway()
        headers, _, _ = identity.bearer()
        client = aiohttp.ClientSession()
        try:
            ws = await client.ws_connect(gw.url + "/websocket", headers=headers)
            await ws.receive_json(timeout=5)
            stopping = asyncio.create_task(gw.runner.cleanup())
            message = await ws.receive(timeout=5)
            assert message.type is WSMsgType.CLOSE
            assert message.data == WSCloseCode.GOING_AWAY
            await ws.close()
            await stopping
        finally:
            await client.close()
