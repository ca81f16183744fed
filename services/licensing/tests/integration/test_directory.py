"""The read copies: the family graph walk is transitive, cycle-safe and depth-capped."""

from __future__ import annotations

from uuid import uuid4

from hspm.licensing.directory import service as directory


async def test_family_is_the_product_and_all_its_transitive_parents(licensing) -> None:
    grandparent, parent, child = [await licensing.product() for _ in range(3)]
    await licensing.child_of(grandparent, parent)
    await licensing.child_of(parent, child)
    async with licensing.pool.acquire() as conn:
        assert set(await directory.family(conn, child)) == {child, parent, grandparent}
        assert set(await directory.family(conn, grandparent)) == {grandparent}


async def test_a_cycle_in_the_family_graph_ends_the_walk(licensing) -> None:
    a, b, c = [await licensing.product() for _ in range(3)]
    await licensing.child_of(a, b)
    await licensing.child_of(b, c)
    await licensing.child_of(c, a)
    async with licensing.pool.acquire() as conn:
        assert set(await directory.family(conn, a)) == {a, b, c}


async def test_a_chain_deeper_than_the_cap_stops_at_the_cap(licensing) -> None:
    chain = [uuid4() for _ in range(directory.MAX_FAMILY_DEPTH + 5)]
    for parent, child in zip(chain[1:], chain[:-1], strict=True):
        await licensing.child_of(parent, child)
    async with licensing.pool.acquire() as conn:
        found = await directory.family(conn, chain[0])
    assert len(found) == directory.MAX_FAMILY_DEPTH + 1


async def test_memberships_follow_identity(licensing) -> None:
    group = uuid4()
    await licensing.member(group, licensing.customer)
    async with licensing.pool.acquire() as conn:
        assert await directory.groups_of(conn, licensing.customer.user_id) == [group]
    await licensing.member(group, licensing.customer, member=False)
    async with licensing.pool.acquire() as conn:
        assert await directory.groups_of(conn, licensing.customer.user_id) == []
