"""Five-field cron expressions (``minute hour day-of-month month day-of-week``), in UTC.

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma
list of those; day-of-week 0 and 7 are Sunday. As in cron, when both day fields are
restricted a day matching either one is a match. Names (``MON``) and macros (``@daily``)
are not accepted: the marketplace checks schedules are five numeric fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


class CronError(ValueError):
    """Not a five-field numeric cron expression."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def matches(self, at: datetime) -> bool:
        if at.minute not in self.minutes or at.hour not in self.hours or at.month not in self.months:
            return False
        day = at.day in self.days
        weekday = (at.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday

    def next_after(self, at: datetime) -> datetime:
        """The first matching minute strictly after ``at`` (searched up to four years ahead)."""
        moment = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(4 * 366 * 24 * 60):
            if self.matches(moment):
                return moment
            moment += timedelta(minutes=1)
        raise CronError("the schedule never matches")


def parse(expression: str) -> Schedule:
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(f"{expression!r}: a schedule has five fields")
    sets = [_field(text, low, high) for text, (low, high) in zip(fields, _BOUNDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Schedule(
        sets[0], sets[1], sets[2], sets[3], weekdays, any_day=fields[2] == "*", any_weekday=fields[4] == "*"
    )


def _field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, 1, high) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _number(first, low, high), _number(last, low, high)
        else:
            start = _number(span, low, high)
            end = high if step_text else start
        if start > end:
            raise CronError(f"{part!r}: the range runs backwards")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise CronError(f"{text!r} is not a number from {low} to {high}")
    return int(text)
