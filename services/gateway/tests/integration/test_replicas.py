"""Several replicas behind one service URL setting: taken in turn, an unreachable one passed over.

Two of the fake services stand in for two replicas of the catalog: each names itself in
its answers, so the test sees which replica served a request.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

LEAN_AND_CLIENT = pytest.mark.parametrize("lean", [True, False], ids=["lean", "client"])


def _closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def _served_by(gateway: Any, method: str = "GET") -> str:
    async with gateway.http.request(
        method, "/products/1", json={"a": 1} if method == "POST" else None
    ) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["service"])


@LEAN_AND_CLIENT
async def test_requests_go_to_each_replica_in_turn(start_gateway: Any, upstreams: Any, lean: bool) -> None:
    both = f"{upstreams.servers['catalog'].url}, {upstreams.servers['curation'].url}/"
    gateway = await start_gateway(catalog_url=both, lean_upstream=lean)
    served = [await _served_by(gateway) for _ in range(6)]
    assert sorted(set(served)) == ["catalog", "curation"]
    assert served[0::2] == [served[0]] * 3 and served[1::2] == [served[1]] * 3


@LEAN_AND_CLIENT
async def test_an_unreachable_replica_is_passed_over_whatever_the_method(
    start_gateway: Any, upstreams: Any, lean: bool
) -> None:
    replicas = f"{_closed_port_url()},{upstreams.servers['catalog'].url}"
    gateway = await start_gateway(catalog_url=replicas, lean_upstream=lean)
    for method in ("GET", "POST", "GET", "POST"):
        assert await _served_by(gateway, method) == "catalog"


@LEAN_AND_CLIENT
async def test_no_reachable_replica_is_a_bad_gateway(start_gateway: Any, lean: bool) -> None:
    gateway = await start_gateway(
        catalog_url=f"{_closed_port_url()},{_closed_port_url()}", lean_upstream=lean
    )
    async with gateway.http.get("/products/1") as resp:
        assert resp.status == 502
        assert "could not be reached" in (await resp.json())["detail"]


async def test_identity_behind_an_unreachable_replica_still_checks_tokens(
    start_gateway: Any, upstreams: Any, identity: Any
) -> None:
    replicas = f"{_closed_port_url()},{upstreams.servers['identity'].url}"
    gateway = await start_gateway(identity_url=replicas)
    async with gateway.http.get("/readyz") as resp:
        assert resp.status == 200, await resp.text()
    for _ in range(2):  # the keys, then the session: each starts with the unreachable replica once
        headers, sid, _ = identity.bearer(["products.read"])
        async with gateway.http.get("/products/1", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["principal"]["session_id"] == sid
