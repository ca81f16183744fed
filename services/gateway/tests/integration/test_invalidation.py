"""Logout and role changes reach every gateway replica through the bus within seconds."""

from __future__ import annotations

import uuid

import pytest_asyncio

from hspm.common.bus import Bus
from hspm.common.events.identity import AccessChanged, SessionRevoked
from hspm.common.testing import wait_for


@pytest_asyncio.fixture
async def bus(amqp_url, shared_namespace, gateway, gateway_b):
    """A publisher on the replicas' namespace (both replicas are up and subscribed)."""
    the_bus = Bus(amqp_url, shared_namespace, "identity-test")
    await the_bus.connect()
    yield the_bus
    await the_bus.close()


async def seen(gateway, headers):
    async with gateway.http.get("/users/me", headers=headers) as resp:
        body = await resp.json()
        return resp.status, body.get("principal")


class TestAcrossReplicas:
    async def test_revoked_session_is_refused_by_both(self, bus, gateway, gateway_b, identity):
        headers, sid, uid = identity.bearer(["users.read"])
        for gw in (gateway, gateway_b):
            assert (await seen(gw, headers))[0] == 200
        # Identity forgets the session and announces it; the caches must not outlive that.
        del identity.sessions[sid]
        await bus.publish_event(SessionRevoked(session_id=uuid.UUID(sid), user_id=uuid.UUID(uid)))

        async def refused_by_both():
            return all([(await seen(gw, headers))[0] == 401 for gw in (gateway, gateway_b)])

        await wait_for(refused_by_both, timeout=5)

    async def test_revocation_holds_even_if_identity_would_still_answer(
        self, bus, gateway, gateway_b, identity
    ):
        headers, sid, uid = identity.bearer(["users.read"])
        await seen(gateway, headers)
        await bus.publish_event(SessionRevoked(session_id=uuid.UUID(sid), user_id=uuid.UUID(uid)))

        async def refused():
            return all([(await seen(gw, headers))[0] == 401 for gw in (gateway, gateway_b)])

        await wait_for(refused, timeout=5)

    async def test_role_change_is_seen_by_both(self, bus, gateway, gateway_b, identity):
        headers, sid, uid = identity.bearer(["products.read"])
        for gw in (gateway, gateway_b):
            assert (await seen(gw, headers))[1]["permissions"] == ["products.read"]
        identity.sessions[sid].permissions = ["products.read", "products.update"]
        # Cached for principal_cache_seconds: without an event the old set stays.
        assert (await seen(gateway, headers))[1]["permissions"] == ["products.read"]
        await bus.publish_event(AccessChanged(user_ids=[uuid.UUID(uid)]))

        async def updated_on_both():
            perms = [(await seen(gw, headers))[1]["permissions"] for gw in (gateway, gateway_b)]
            return all(p == ["products.read", "products.update"] for p in perms)

        await wait_for(updated_on_both, timeout=5)

    async def test_change_for_another_user_keeps_the_cache(self, bus, gateway, identity):
        headers, sid, _ = identity.bearer(["products.read"])
        await seen(gateway, headers)
        await bus.publish_event(AccessChanged(user_ids=[uuid.uuid4()]))
        # A second change, for a marker user, tells when the first has been applied too
        # (one queue, delivered in order).
        marker, marker_sid, marker_uid = identity.bearer(["badges.read"])
        await seen(gateway, marker)
        identity.sessions[marker_sid].permissions = ["badges.create"]
        await bus.publish_event(AccessChanged(user_ids=[uuid.UUID(marker_uid)]))

        async def marker_updated():
            return (await seen(gateway, marker))[1]["permissions"] == ["badges.create"]

        await wait_for(marker_updated, timeout=5)
        await seen(gateway, headers)
        assert identity.looked_up[sid] == 1

    async def test_empty_user_list_drops_every_principal(self, bus, gateway, gateway_b, identity):
        first, sid1, _ = identity.bearer(["roles.read"])
        second, sid2, _ = identity.bearer(["roles.read"])
        for gw in (gateway, gateway_b):
            await seen(gw, first)
            await seen(gw, second)
        identity.sessions[sid1].permissions = ["roles.update"]
        identity.sessions[sid2].permissions = ["roles.delete"]
        await bus.publish_event(AccessChanged(user_ids=[]))

        async def all_updated():
            for gw in (gateway, gateway_b):
                if (await seen(gw, first))[1]["permissions"] != ["roles.update"]:
                    return False
                if (await seen(gw, second))[1]["permissions"] != ["roles.delete"]:
                    return False
            return True

        await wait_for(all_updated, timeout=5)
