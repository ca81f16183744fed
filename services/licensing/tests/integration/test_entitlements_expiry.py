"""The expiry sweep, the SQL window against ``terms``, and identity's deletions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hspm.common.auth import Principal
from hspm.common.events import identity
from hspm.licensing.entitlements import service, sweeper

E = "/entitlements"
T0 = datetime(2030, 3, 1, tzinfo=UTC)


async def grant(licensing: Any, o: Any, valid_from: datetime, holder: Principal | None = None) -> str:
    who = holder or licensing.customer
    r = await licensing.post(
        E,
        licensing.operator,
        {"user_id": str(who.user_id), "product_license_id": str(o.id), "valid_from": valid_from.isoformat()},
    )
    assert r.status == 201, r
    return str(r.body["id"])


async def sweep(licensing: Any, now: datetime, limit: int = service.SWEEP_BATCH) -> int:
    async with licensing.pool.acquire() as conn, conn.transaction():
        return await service.sweep_expired(conn, now, limit)


# --- the sweep ----------------------------------------------------------------------------------


async def test_the_sweep_announces_closed_windows_once(licensing) -> None:
    relative = await grant(licensing, await licensing.offer(expiry="relative_date", days_valid=10), T0)
    absolute = await grant(
        licensing, await licensing.offer(expiry="absolute_date", expires_at=T0), T0 - timedelta(days=1)
    )
    await grant(licensing, await licensing.offer(), T0 - timedelta(days=999))  # indefinite
    await grant(
        licensing, await licensing.offer(expiry="absolute_date", expires_at=T0 + timedelta(days=99)), T0
    )
    revoked = await grant(licensing, await licensing.offer(expiry="relative_date", days_valid=1), T0)
    assert (await licensing.delete(f"{E}/{revoked}", licensing.operator)).status == 204
    mark = await licensing.outbox_mark()
    now = T0 + timedelta(days=20)
    assert await sweep(licensing, now) == 2
    events = await licensing.events(mark, "licensing.entitlement.expired")
    assert {e["entitlement_id"] for e in events} == {relative, absolute}
    assert {datetime.fromisoformat(e["expired_at"]) for e in events} == {now}
    assert {e["user_id"] for e in events} == {str(licensing.customer.user_id)}
    assert await sweep(licensing, now + timedelta(days=1)) == 0
    assert len(await licensing.events(mark, "licensing.entitlement.expired")) == 2


async def test_a_window_closes_at_valid_until_not_before(licensing) -> None:
    """Half-open: still valid a microsecond before valid_until, expired at it."""
    await grant(licensing, await licensing.offer(expiry="relative_date", days_valid=30), T0)
    end = T0 + timedelta(days=30)
    assert await sweep(licensing, end - timedelta(microseconds=1)) == 0
    assert await sweep(licensing, end) == 1


async def test_a_moved_window_is_judged_afresh(licensing) -> None:
    ent = await grant(licensing, await licensing.offer(expiry="relative_date", days_valid=1), T0)
    assert await sweep(licensing, T0 + timedelta(days=2)) == 1
    later = datetime.now(UTC) + timedelta(days=5)
    r = await licensing.patch(f"{E}/{ent}", licensing.operator, {"valid_from": later.isoformat()})
    assert r.status == 200 and r.body["state"] == "upcoming", r
    db = await licensing.db()
    assert await db.fetchval("SELECT expired_at FROM entitlements WHERE id = $1", UUID(ent)) is None
    assert await sweep(licensing, later + timedelta(days=1)) == 1


async def test_the_sweep_works_in_batches(licensing) -> None:
    o = await licensing.offer(expiry="relative_date", days_valid=1)
    for _ in range(3):
        await grant(licensing, o, T0)
    now = T0 + timedelta(days=2)
    assert [await sweep(licensing, now, limit=2) for _ in range(3)] == [2, 1, 0]


async def test_the_background_loop_drains_in_batches_and_stops(licensing, monkeypatch) -> None:
    o = await licensing.offer(expiry="relative_date", days_valid=1)
    for _ in range(3):
        await grant(licensing, o, datetime.now(UTC) - timedelta(days=2))
    monkeypatch.setattr(service, "SWEEP_BATCH", 2)
    stop, passes = asyncio.Event(), []
    real_pass = sweeper.sweep_once

    async def one_pass(pool: Any, stop_: asyncio.Event | None = None) -> int:
        passes.append(await real_pass(pool, stop_))
        stop.set()  # the loop ends after this pass
        return passes[-1]

    monkeypatch.setattr(sweeper, "sweep_once", one_pass)
    await asyncio.wait_for(sweeper.run_forever(licensing.pool, 3600, stop), 10)
    assert passes == [3]
    assert len(await licensing.events(0, "licensing.entitlement.expired")) == 3


async def test_the_sql_window_is_terms_window_in_any_session_time_zone(licensing) -> None:
    """The SQL end (filters, the sweep) and ``terms`` (views, events) agree, across DST too."""
    before_dst = datetime(2030, 3, 20, 12, tzinfo=UTC)  # 30 days later is summer time in Berlin
    ids = [
        await grant(licensing, await licensing.offer(expiry="relative_date", days_valid=30), before_dst),
        await grant(licensing, await licensing.offer(expiry="absolute_date", expires_at=T0), before_dst),
        await grant(licensing, await licensing.offer(), before_dst),
    ]
    db = await licensing.db()
    await db.execute("SET TimeZone = 'Europe/Berlin'")
    try:
        for ent in ids:
            row = await service.get_entitlement(db, licensing.admin, UUID(ent))
            assert row["valid_until"] == service.valid_until(row), row["expiry"]
    finally:
        await db.execute("SET TimeZone = 'UTC'")
    assert service.valid_until(row) is None


# --- identity's deletions ------------------------------------------------------------------------


async def test_a_deleted_user_loses_entitlements_and_claims(licensing) -> None:
    o = await licensing.offer()
    own = await grant(licensing, o, T0)
    other = await grant(licensing, o, T0, holder=licensing.other_customer)
    r = await licensing.post(
        f"{E}/{other}/claims",
        licensing.other_customer,
        {"claimant_type": "User", "claimant_id": str(licensing.customer.user_id)},
    )
    assert r.status == 201, r
    await licensing.deliver(identity.UserDeleted(user_id=licensing.customer.user_id))
    db = await licensing.db()
    assert await db.fetchval("SELECT count(*) FROM entitlements WHERE id = $1", UUID(own)) == 0
    assert (
        await db.fetchval("SELECT count(*) FROM claims WHERE claimant_id = $1", licensing.customer.user_id)
        == 0
    )
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", licensing.customer.user_id) == 0
    # The other holder keeps theirs, and their own claim.
    assert await db.fetchval("SELECT count(*) FROM claims WHERE entitlement_id = $1", UUID(other)) == 1


async def test_a_deleted_group_loses_its_claims(licensing) -> None:
    ent = await grant(licensing, await licensing.offer(), T0)
    group = uuid4()
    await licensing.member(group, licensing.customer)
    r = await licensing.post(
        f"{E}/{ent}/claims", licensing.customer, {"claimant_type": "Group", "claimant_id": str(group)}
    )
    assert r.status == 201, r
    await licensing.deliver(identity.GroupDeleted(group_id=group))
    db = await licensing.db()
    assert await db.fetchval("SELECT count(*) FROM claims WHERE claimant_id = $1", group) == 0
    assert await db.fetchval("SELECT count(*) FROM memberships WHERE group_id = $1", group) == 0
    assert await db.fetchval("SELECT count(*) FROM claims WHERE entitlement_id = $1", UUID(ent)) == 1
