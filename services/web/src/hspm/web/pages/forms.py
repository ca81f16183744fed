"""Form pages' common path: post to the API, or show the API's field errors at their fields."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hspm.web.api import ApiError

# Renders the form again: with the status, the field errors and the summary.
Renderer = Callable[[int, dict[str, list[str]], str | None], web.Response | Awaitable[web.Response]]


async def submit(
    call: Awaitable[Any], on_error: Renderer, on_success: Callable[[Any], web.Response]
) -> web.Response:
    """``call`` the API; 422/409/400 re-render the form (status 422) with each error at its field."""
    try:
        result = await call
    except ApiError as error:
        if error.status in (400, 409, 422):
            again = on_error(422, error.field_errors, error.detail)
            return await again if inspect.isawaitable(again) else again
        raise
    return on_success(result)


def compact(values: dict[str, Any]) -> dict[str, Any]:
    """A request body without the fields left blank (the API keeps their current values)."""
    return {k: v for k, v in values.items() if v not in (None, "")}


def as_int(value: str) -> int | str | None:
    """A number field: an int, or the text as typed so the API names the error at its field."""
    if not value:
        return None
    return int(value) if value.isdigit() else value


# What a reader may not be shown (not theirs, not there) is left out of a page, not failed.
NOT_YOURS = frozenset({403, 404})
# On public pages also what needs a sign-in (a run's report, a case).
NOT_PUBLIC = NOT_YOURS | {401}


async def optional(call: Awaitable[Any], refused: frozenset[int] = NOT_YOURS) -> Any:
    """``call``'s answer, or None when the API refuses it with one of ``refused``."""
    try:
        return await call
    except ApiError as error:
        if error.status in refused:
            return None
        raise
