"""A recalled build leaves the catalog, and its validation runs leave with it.

The world recalls the published build of Sepsis Watch; curation learns of it by an event,
so the refusal is awaited rather than assumed.
"""

from __future__ import annotations

import pytest

from hspm.common.testing import wait_for
from hspm.devstack.api import GatewayApi

from .client import status_of
from .world import World


@pytest.mark.parametrize("persona", ["customer", "other_isv", "anonymous"])
async def test_a_recalled_builds_runs_are_hidden_from_the_public(
    api: GatewayApi, world: World, persona: str
) -> None:
    p = world.params
    runs = f"/products/{p['product_id']}/builds/{p['published_build_id']}/validations"
    denied = 401 if persona == "anonymous" else 404

    async def hidden() -> bool:
        return (await status_of(api, world, "GET", runs, persona))[0] == denied

    await wait_for(hidden, timeout=10)
    assert (
        await status_of(
            api, world, "GET", f"/products/{p['product_id']}/builds/{p['published_build_id']}", persona
        )
    )[0] == 404
    assert (await status_of(api, world, "POST", runs, persona, {}))[0] == denied


async def test_the_owner_still_reads_its_recalled_builds_runs(api: GatewayApi, world: World) -> None:
    p = world.params
    runs = f"/products/{p['product_id']}/builds/{p['published_build_id']}/validations"
    assert (await status_of(api, world, "GET", runs, "isv"))[0] == 200
