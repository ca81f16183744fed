"""Rendered products kept per replica (ADR 18's amendment): the same bytes for every
caller who may see the product, judged on every request."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hspm.catalog.products import service
from hspm.catalog.stamped import ReadClock, Stamp, StampedCache
from hspm.common.auth import Principal
from hspm.common.errors import NotFound


@dataclass(frozen=True)
class Shown:
    """A product rendered as the API shows it, with what the visibility rule needs: the
    same bytes serve every caller who may see it."""

    user_id: UUID
    listed: bool
    body: bytes


class ShownCache(StampedCache[UUID, Shown]):
    """Rendered products by id (``hspm.catalog.stamped`` says when one is served),
    within ``size`` bytes of JSON."""

    def __init__(self, size: int) -> None:
        super().__init__(size, weigh=lambda shown: len(shown.body))


async def shown_product(
    cache: ShownCache,
    p: Principal,
    product_id: UUID,
    read: ReadClock,
    run: Callable[[], Coroutine[Any, Any, tuple[Shown, Stamp]]],
) -> Shown:
    """``GET /products/{id}`` through this replica's cache: ``read`` fetches the generation
    (``service.clock``) once for every request waiting on it, ``run`` reads and renders
    the product (``service.stamped_product``). Whether this caller may see it is judged
    every time, by the products area's one rule (``service.may_see``)."""
    kept = await cache.through(product_id, read, run)
    if not service.may_see({"listed": kept.listed, "user_id": kept.user_id}, p):
        raise NotFound("Product not found.")
    return kept
