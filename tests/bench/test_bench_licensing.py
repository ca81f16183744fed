"""The licensing bench's bookkeeping: the wrk script it writes and how open-loop streams add up."""

from __future__ import annotations

from bench.licensing import combine, lua_script
from bench.openloop import Latency


def test_the_script_puts_each_path_with_its_own_header_in_turn() -> None:
    script = lua_script([("/authorizations/products/a", "Authorization", "Bearer t1"), ("/p/b", "X-U", "u2")])
    assert '{"/authorizations/products/a", "Authorization", "Bearer t1"}' in script
    assert '{"/p/b", "X-U", "u2"}' in script
    assert "wrk.headers[r[2]] = r[3]" in script
    # No body: wrk.format sends no Content-Length, as a product's bodiless check does.
    assert 'wrk.format("PUT", r[1])' in script


def test_streams_combine_conservatively() -> None:
    streams = [
        Latency(rate=100, sent=1000, errors=0, p50_ms=2.0, p99_ms=9.0),
        Latency(rate=100, sent=1000, errors=2, p50_ms=3.0, p99_ms=15.0, problems={"503": 2}),
        Latency(rate=100, sent=1000, errors=1, p50_ms=4.0, p99_ms=11.0, problems={"503": 1}),
    ]
    whole = combine(streams)
    assert (whole.rate, whole.sent, whole.errors) == (300, 3000, 3)
    assert (whole.p50_ms, whole.p99_ms) == (3.0, 15.0)
    assert whole.problems == {"503": 3}
