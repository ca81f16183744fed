"""Every route × every persona, generated from ``table.TABLE``.

Deny cases change nothing, and the allowed writes send a probe body (``{}``) that either
changes nothing or is refused by validation, so one seeded world serves every case;
destructive operations (``D``) are recorded in the table but not sent.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from hspm.devstack.api import GatewayApi

from .client import status_of
from .matrix import ALLOW, DESTRUCTIVE, MEANING, PERSONAS, Row, matches
from .table import SOCKET_ONLY, TABLE
from .world import World

METHODS = ("get", "post", "put", "patch", "delete")
CASES = [(row, persona) for row in TABLE if row.key not in SOCKET_ONLY for persona in PERSONAS]


def fill(path: str, world: World) -> str | None:
    """The path with the owner's records filled in, or None if one is not seeded."""
    names = re.findall(r"{(\w+)}", path)
    if any(name not in world.params for name in names):
        return None
    return path.format(**{name: world.params[name] for name in names})


async def test_the_table_covers_every_operation_of_the_openapi_document(api: GatewayApi) -> None:
    """A new route fails here until it has a row: nobody forgets to decide who may call it."""
    doc = await api.get("/openapi.json", None)
    operations = {f"{m.upper()} {path}" for path, ops in doc["paths"].items() for m in ops if m in METHODS}
    rows = [row.key for row in TABLE]
    assert len(rows) == len(set(rows)), "a route has two rows"
    assert sorted(operations - set(rows)) == [], "routes without a row in tests/system/access/table.py"
    assert sorted(set(rows) - operations) == [], "rows for routes the gateway no longer has"


def fill_body(value: Any, world: World) -> Any:
    """A probe body with ``{name}`` strings replaced by the seeded records' ids."""
    if isinstance(value, dict):
        return {k: fill_body(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_body(v, world) for v in value]
    if isinstance(value, str) and (m := re.fullmatch(r"{(\w+)}", value)):
        return world.params[m.group(1)]
    return value


@pytest.mark.parametrize(("row", "persona"), CASES, ids=[f"{r.key}-{p}" for r, p in CASES])
async def test_route_as_persona(api: GatewayApi, world: World, row: Row, persona: str) -> None:
    code = row.expected(persona)
    if code == DESTRUCTIVE:
        pytest.skip("allowed but destructive: not sent to the shared world")
    path = fill(row.path, world)
    if path is None:
        pytest.skip(f"no seeded record for {row.path}")
    body: Any = None if row.method == "GET" else fill_body(row.body, world)
    status, raw = await status_of(api, world, row.method, path, persona, body)
    assert matches(code, status), f"{row.key} as {persona}: {status}, expected {MEANING[code]}: {raw[:300]!r}"


LISTERS = ("customer", "isv", "other_isv")
LISTINGS = [
    (row, persona)
    for row in TABLE
    if row.method == "GET" and row.key not in SOCKET_ONLY
    for persona in LISTERS
    if row.expected(persona) == ALLOW
]


def forbidden_for(world: World, persona: str) -> set[str]:
    """Ids of the other parties' private records that ``persona`` must never be shown."""
    hidden = set().union(*(ids for party, ids in world.private.items() if party != persona))
    return hidden - world.shared_with.get(persona, set())


def ids_in(value: Any) -> set[str]:
    """Every string anywhere in a record: an id leaks as a reference as much as a key."""
    if isinstance(value, dict):
        return set().union(set(), *(ids_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(set(), *(ids_in(v) for v in value))
    return {value} if isinstance(value, str) else set()


@pytest.mark.parametrize(("row", "persona"), LISTINGS, ids=[f"{r.key}-{p}" for r, p in LISTINGS])
async def test_listing_shows_no_other_partys_records(
    api: GatewayApi, world: World, row: Row, persona: str
) -> None:
    """Across all pages of a listing, nothing private of another party appears."""
    path = fill(row.path, world)
    if path is None:
        pytest.skip(f"no seeded record for {row.path}")
    status, raw = await status_of(api, world, "GET", path, persona)
    if status != 200 or not raw.startswith(b"{") or "results" not in json.loads(raw):
        pytest.skip("not a collection")
    seen: set[str] = set()
    async for record in api.each(path, persona):
        seen |= ids_in(record)
    leaked = seen & forbidden_for(world, persona)
    assert not leaked, f"{row.path} shows {persona} records of others: {sorted(leaked)}"


CONTROLS = [
    ("isv", "/products/{product_id}/builds", "build_id"),
    ("operator", "/products/{product_id}/builds", "build_id"),
    ("customer", "/platforms", "platform_id"),
    ("operator", "/platforms", "platform_id"),
    ("customer", "/entitlements", "entitlement_id"),
    ("isv", "/entitlements", "entitlement_id"),
    ("isv", "/vouchers", "voucher_id"),
]


@pytest.mark.parametrize(("persona", "collection", "param"), CONTROLS)
async def test_listings_do_show_what_the_caller_may_see(
    api: GatewayApi, world: World, persona: str, collection: str, param: str
) -> None:
    """The control of the leak check: the same ids are found where they belong."""
    path = fill(collection, world)
    assert path is not None
    seen: set[str] = set()
    async for record in api.each(path, persona):
        seen |= ids_in(record)
    assert world.params[param] in seen
