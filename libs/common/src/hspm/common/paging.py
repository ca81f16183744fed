"""The spec's index envelope and its ``page``/``per_page``/``sort``/``order`` parameters.

Below the web layer: stores take ``PageParams`` and handlers parse them from the query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hspm.common.errors import ValidationFailed

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
# Past this the offset would overflow PostgreSQL's bigint long before anyone pages there.
MAX_PAGE = 1_000_000
_DIGITS = re.compile(r"[0-9]{1,9}")
_ORDERS = {"asc": "ASC", "ascending": "ASC", "desc": "DESC", "descending": "DESC"}


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int
    sort: str
    order: str  # "ASC" or "DESC", safe to interpolate

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @classmethod
    def parse(
        cls,
        query: Mapping[str, str],
        sortable: Sequence[str],
        default_sort: str,
        default_order: str = "asc",
    ) -> PageParams:
        """Validate paging from a query string; ``sort`` must be one of ``sortable``."""
        errors: dict[str, list[str]] = {}
        page = _positive(query.get("page"), 1, "page", errors)
        per_page = _positive(query.get("per_page"), DEFAULT_PER_PAGE, "per_page", errors)
        if page > MAX_PAGE:
            errors.setdefault("page", []).append(f"must be at most {MAX_PAGE}")
        if per_page > MAX_PER_PAGE:
            errors.setdefault("per_page", []).append(f"must be at most {MAX_PER_PAGE}")
        sort = query.get("sort") or default_sort
        if sort not in sortable:
            errors.setdefault("sort", []).append(f"must be one of: {', '.join(sortable)}")
        order = _ORDERS.get((query.get("order") or default_order).lower())
        if order is None:
            errors.setdefault("order", []).append("must be asc, desc, ascending or descending")
        if errors:
            raise ValidationFailed(errors)
        assert order is not None
        return cls(page, per_page, sort, order)


def _positive(raw: str | None, default: int, name: str, errors: dict[str, list[str]]) -> int:
    if raw is None or raw == "":
        return default
    # int() would also take "1_000", " 5" and "+3"; the spec says a positive integer.
    if not _DIGITS.fullmatch(raw):
        errors.setdefault(name, []).append("must be a positive integer")
        return default
    value = int(raw)
    if value < 1:
        errors.setdefault(name, []).append("must be a positive integer")
        return default
    return value


def page_envelope(results: Sequence[Any], total: int, params: PageParams) -> dict[str, Any]:
    """``{results, total_entries, total_pages, current_page, previous_page, next_page, per_page}``.

    ``total_results`` repeats ``total_entries``: the reference agent reads that name, which
    the reference server never sent. ``total_entries`` stays the canonical one.
    """
    total_pages = max(1, -(-total // params.per_page)) if total else 0
    return {
        "results": list(results),
        "total_entries": total,
        "total_results": total,
        "total_pages": total_pages,
        "current_page": params.page,
        "previous_page": params.page - 1 if params.page > 1 else None,
        "next_page": params.page + 1 if params.page < total_pages else None,
        "per_page": params.per_page,
    }
