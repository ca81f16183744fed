"""Five-field cron schedules, as cron reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hspm.client.platform_agent.cron import CronError, parse


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_steps_ranges_and_lists() -> None:
    schedule = parse("*/15 9-17 * * 1-5")
    assert schedule.matches(at("2026-12-02T09:45:00"))  # a Wednesday
    assert not schedule.matches(at("2026-12-02T09:50:00"))
    assert not schedule.matches(at("2026-12-06T10:00:00"))  # a Sunday
    assert parse("0 0 1,15 * *").next_after(at("2026-12-02T00:00:00")) == at("2026-12-15T00:00:00")


def test_either_restricted_day_field_matches_and_seven_is_sunday() -> None:
    schedule = parse("0 12 13 * 7")
    assert schedule.matches(at("2026-12-13T12:00:00"))  # the 13th (a Sunday too)
    assert schedule.matches(at("2026-12-06T12:00:00"))  # a Sunday
    assert schedule.matches(at("2027-01-13T12:00:00"))  # the 13th, a Wednesday


@pytest.mark.parametrize(
    "text", ["", "* * * *", "60 * * * *", "5-1 * * * *", "@daily", "At 00:00", "*/0 * * * *"]
)
def test_what_is_not_a_schedule(text: str) -> None:
    with pytest.raises(CronError):
        parse(text)
