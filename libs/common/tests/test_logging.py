"""JSON logging: one object per line on stdout, context fields, no frame locals.

Each scenario configures logging in a fresh interpreter, so stdout is captured whole
and the test process's own logging is untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

Records = dict[str, dict[str, Any]]

SECRET = "sk_live_do_not_log_me_42"
CARD = "4111-1111-1111-1111"

SCRIPT = textwrap.dedent(
    f"""
    import logging
    import structlog
    from hspm.common.logging import configure_logging, request_line

    configure_logging("catalog", level="info", json=True)
    log = structlog.get_logger("test")

    log.info("before.bind", n=1)
    structlog.contextvars.bind_contextvars(request_id="req-123")
    log.info("after.bind", user="ada")
    log.debug("too.quiet")
    request_line("GET", "/products/{{product_id}}", 200, 1.25)
    log.info(
        "http.request.by.structlog",
        method="GET",
        route="/products/{{product_id}}",
        status=200,
        duration_ms=1.25,
    )

    def charge(card):
        api_key = "{SECRET}"
        raise ValueError("card declined")

    try:
        charge("{CARD}")
    except ValueError:
        log.exception("payment.failed")

    logging.getLogger("some.library").warning("stdlib %s", "line")
    logging.getLogger("aiohttp.access").info("access log line")
    """
)


@pytest.fixture(scope="module")
def output() -> subprocess.CompletedProcess[str]:
    """The script's run, shared by the scenarios below (each only reads it)."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def lines(output: subprocess.CompletedProcess[str]) -> list[str]:
    return output.stdout.splitlines()


@pytest.fixture
def records(lines: list[str]) -> Records:
    return {r["event"]: r for r in map(json.loads, lines)}


class TestJsonLines:
    def test_every_stdout_line_is_one_json_object(
        self, output: subprocess.CompletedProcess[str], lines: list[str]
    ) -> None:
        assert output.stderr == ""
        assert len(lines) == 6
        assert all(isinstance(json.loads(line), dict) for line in lines)

    def test_standard_fields(self, records: Records) -> None:
        record = records["after.bind"]
        assert record["level"] == "info"
        assert record["service"] == "catalog"
        assert record["user"] == "ada"
        assert record["timestamp"].endswith("Z")

    def test_request_id_only_once_bound(self, records: Records) -> None:
        by_event = records
        assert "request_id" not in by_event["before.bind"]
        assert by_event["after.bind"]["request_id"] == "req-123"

    def test_level_filters(self, records: Records) -> None:
        assert "too.quiet" not in records

    def test_stdlib_logging_is_rendered_the_same_way(self, records: Records) -> None:
        by_event = records
        record = by_event["stdlib line"]
        assert (record["level"], record["service"], record["request_id"]) == (
            "warning",
            "catalog",
            "req-123",
        )
        assert "access log line" not in by_event


class TestRequestLine:
    def test_the_request_line_is_what_structlog_would_write(self, records: Records) -> None:
        fast, chain = records["http.request"], records["http.request.by.structlog"]
        assert list(fast) == list(chain)  # the same fields, in the same order
        assert {k: v for k, v in fast.items() if k not in ("event", "timestamp")} == {
            k: v for k, v in chain.items() if k not in ("event", "timestamp")
        }
        assert fast["timestamp"].endswith("Z") and fast["request_id"] == "req-123"

    def test_no_request_line_below_the_configured_level(self) -> None:
        script = textwrap.dedent(
            """
            from hspm.common.logging import configure_logging, request_line

            configure_logging("catalog", level="warning", json=True)
            request_line("GET", "/healthz", 200, 0.5)
            """
        )
        argv = [sys.executable, "-c", script]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


class TestExceptions:
    def test_traceback_is_logged_as_structured_frames(self, records: Records) -> None:
        record = records["payment.failed"]
        assert record["level"] == "error"
        (exc,) = record["exception"]
        assert (exc["exc_type"], exc["exc_value"]) == ("ValueError", "card declined")
        assert [f["name"] for f in exc["frames"]][-1] == "charge"

    def test_frame_locals_are_never_logged(self, lines: list[str], records: Records) -> None:
        record = records["payment.failed"]
        assert all("locals" not in frame for frame in record["exception"][0]["frames"])
        assert SECRET not in "\n".join(lines)
        # Long enough that a timestamp's digits cannot contain it by chance (4111 once did).
        assert CARD not in "\n".join(lines)
