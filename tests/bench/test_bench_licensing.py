"""The licensing bench's bookkeeping: the wrk script it writes."""

from __future__ import annotations

from bench.licensing import lua_script


def test_the_script_puts_each_path_with_its_own_header_in_turn() -> None:
    script = lua_script([("/authorizations/products/a", "Authorization", "Bearer t1"), ("/p/b", "X-U", "u2")])
    assert '{"/authorizations/products/a", "Authorization", "Bearer t1"}' in script
    assert '{"/p/b", "X-U", "u2"}' in script
    assert "wrk.headers[r[2]] = r[3]" in script
    # No body: wrk.format sends no Content-Length, as a product's bodiless check does.
    assert 'wrk.format("PUT", r[1])' in script
