"""Licenses cover sub-products: an entitlement to a product counts for its transitive
children, as licensing's runtime check decides, over the family graph the catalog's
relation events copy here (cycles included: a read copy never trusts the catalog to
have refused them)."""

from __future__ import annotations

from uuid import UUID

from hspm.common.events import catalog


async def relate(notifier, parent: UUID, child: UUID) -> None:
    await notifier.deliver(catalog.ProductRelationAdded(parent_id=parent, child_id=child))


async def deploy(notifier, platform: dict, build_id: UUID) -> int:
    body = {"instance": {"build_id": str(build_id)}}
    reply = await notifier.post(f"/platforms/{platform['id']}/instances", notifier.customer, body)
    return reply.status


async def test_an_entitlement_to_a_grandparent_covers_the_grandchild(notifier) -> None:
    grandparent, _ = await notifier.published_build()
    parent, _ = await notifier.published_build()
    child, build = await notifier.published_build()
    await relate(notifier, grandparent, parent)
    await relate(notifier, parent, child)
    await notifier.offer(child)  # licensed itself, yet the family's license is enough
    suite = await notifier.offer(grandparent)
    platform = await notifier.platform()
    assert await deploy(notifier, platform, build) == 403
    await notifier.entitle(notifier.customer, grandparent, suite)
    assert await deploy(notifier, platform, build) == 201


async def test_a_sub_product_sold_only_through_its_parent_needs_the_parents_license(notifier) -> None:
    parent, _ = await notifier.published_build()
    child, build = await notifier.published_build()
    await relate(notifier, parent, child)
    offer = await notifier.offer(parent)  # the child has no offer of its own
    platform = await notifier.platform()
    assert await deploy(notifier, platform, build) == 403
    await notifier.entitle(notifier.other_customer, parent, offer)  # someone else's
    assert await deploy(notifier, platform, build) == 403
    await notifier.entitle(notifier.customer, parent, offer)
    assert await deploy(notifier, platform, build) == 201


async def test_a_removed_relation_or_a_deleted_parent_no_longer_covers(notifier) -> None:
    parent, _ = await notifier.published_build()
    child, build = await notifier.published_build()
    await relate(notifier, parent, child)
    await notifier.offer(child)
    await notifier.entitle(notifier.customer, parent, await notifier.offer(parent))
    platform = await notifier.platform()
    assert await deploy(notifier, platform, build) == 201
    await notifier.deliver(catalog.ProductRelationRemoved(parent_id=parent, child_id=child))
    assert await deploy(notifier, platform, build) == 403
    await relate(notifier, parent, child)
    assert await deploy(notifier, platform, build) == 201
    await notifier.deliver(catalog.ProductDeleted(product_id=parent, owner_id=parent))
    assert await deploy(notifier, platform, build) == 403


async def test_a_cycle_in_the_family_ends_the_walk(notifier) -> None:
    a, _ = await notifier.published_build()
    b, _ = await notifier.published_build()
    c, build = await notifier.published_build()
    for parent, child in ((a, b), (b, c), (c, a), (c, c)):
        await relate(notifier, parent, child)
    offer = await notifier.offer(a)
    platform = await notifier.platform()
    assert await deploy(notifier, platform, build) == 403  # walked round the cycle, found nothing
    await notifier.entitle(notifier.customer, a, offer)
    assert await deploy(notifier, platform, build) == 201
