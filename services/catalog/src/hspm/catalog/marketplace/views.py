"""JSON shapes of the marketplace area: an imported build is a build, plus its warnings."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.catalog.builds import views as builds
from hspm.catalog.marketplace.checks import Issue


def imported(row: asyncpg.Record, base: str, warnings: list[Issue]) -> dict[str, Any]:
    """The created build as the builds routes render it, and what its author should still fix."""
    return builds.build(row, base) | {"warnings": [w.as_json() for w in warnings]}
