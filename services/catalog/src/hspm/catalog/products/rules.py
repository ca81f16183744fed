"""Pure rules of products that deserve their own module: who may move a product's visibility.

An embargo is staff's. Publication is a staff act (``products.publish``, or
``everything.manage``): it either sets ``visible_at`` or adopts the one the owner
proposed, so the ``visible_at`` of a *published* product is always one staff set or
approved. That is how the service knows an embargo is staff's, without a column of its
own: on a published product only staff bring ``visible_at`` forward or clear it; its
owner (or a holder of ``products.update`` alone) may leave it as it is or postpone it.
On a draft ``visible_at`` is the owner's proposal, free to change until staff publish.
A product published hidden (``visible_at`` null) stays hidden until staff say otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from hspm.common.auth import Principal
from hspm.common.errors import Forbidden


def is_staff(p: Principal) -> bool:
    """Publishers set, shorten and lift embargoes (``everything.manage`` included)."""
    return p.can("products", "publish")


def check_visibility_change(
    p: Principal, product: asyncpg.Record | Mapping[str, Any], new: datetime | None
) -> None:
    """403 unless ``new`` keeps or postpones the staff's ``visible_at``, or the caller is staff."""
    current = product["visible_at"]
    if new == current or product["published_at"] is None or is_staff(p):
        return
    if new is None or current is None or new < current:
        raise Forbidden(
            "Only operators (products.publish) make a published product visible sooner or clear "
            "its visible_at; you may postpone it."
        )
