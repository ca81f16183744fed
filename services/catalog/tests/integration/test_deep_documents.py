"""A build's free-form documents (permissions, a dependency's mappings) nested too deeply to be
stored and rendered again are refused, and the build reads as before."""

from __future__ import annotations

from typing import Any

import pytest


def _nested(levels: int) -> bytes:
    """JSON text of an object ``levels`` deep (written out: encoders stop before 1000 levels)."""
    return b'{"a":' * (levels - 1) + b'{"network":true}' + b"}" * (levels - 1)


@pytest.mark.parametrize("levels", [65, 254, 1000])
async def test_permissions_nested_too_deeply_are_refused_and_the_build_still_reads(
    catalog: Any, levels: int
) -> None:
    pid = await catalog.sql_product(catalog.isv)
    made = await catalog.post(f"/products/{pid}/builds", catalog.isv, {"build": {"version": "1.0.0"}})
    assert made.status == 201, made
    before = await catalog.get(made.body["path"], catalog.isv)
    r = await catalog.patch(
        made.body["path"],
        catalog.isv,
        data=b'{"build": {"permissions": ' + _nested(levels) + b"}}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status == 400 and r.content_type == "application/problem+json", r
    after = await catalog.get(made.body["path"], catalog.isv)
    assert after.status == 200 and after.body == before.body, after
