"""The one table ``make bench`` ends with: every figure beside its same-run baseline.

A benchmark module's ``run()`` returns ``Row``s (and may print its own detail lines
first). A row says what was measured, its value, the baseline measured in the same run,
the ratio the target is about, the target and whether it was met, and how many requests
failed. Errors are failures: any row with errors makes the whole run exit non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class Measured(Protocol):
    """A saturated run's figures (``wrk.Run``)."""

    @property
    def rps(self) -> float: ...
    @property
    def errors(self) -> int: ...
    @property
    def statuses(self) -> str: ...


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    # With a baseline: the share of it this figure must reach (value / baseline >= target).
    # Without one: a floor the value must reach; with ``lower_is_better``, a ceiling it
    # must stay under (a latency).
    target: float | None = None
    lower_is_better: bool = False
    errors: int = 0
    statuses: str = ""

    @classmethod
    def throughput(cls, figure: str, run: Measured, unit: str, baseline: float, baseline_name: str) -> Row:
        """A run's throughput beside a baseline, with no target: shown, not judged."""
        return cls(figure, run.rps, unit, baseline, baseline_name, errors=run.errors, statuses=run.statuses)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.lower_is_better:
            return self.value < self.target
        ratio = self.ratio
        if self.baseline is None:
            return self.value >= self.target
        return ratio is not None and ratio >= self.target

    def target_text(self) -> str:
        if self.target is None:
            return ""
        if self.lower_is_better:
            return f"< {self.target:g} {self.unit}"
        if self.baseline is None:
            return f">= {self.target:g} {self.unit}"
        return f"ratio >= {self.target:.2f}"


def _num(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def render(rows: Sequence[Row], line: Callable[[str], None]) -> None:
    """Print the table; a missed target says MISSED and a row with errors says ERRORS."""
    header = ("figure", "value", "baseline", "ratio", "target", "met", "errors")
    cells = [
        (
            r.figure,
            f"{_num(r.value, 2 if r.value < 100 else 0)} {r.unit}",
            f"{_num(r.baseline, 2 if (r.baseline or 0) < 100 else 0)} {r.baseline_name}".strip(),
            _num(r.ratio, 2),
            r.target_text(),
            {True: "met", False: "MISSED", None: ""}[r.met],
            f"{r.errors} ERRORS {r.statuses}".strip() if r.errors else "0",
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    line("")
    line(fmt.format(*header))
    line(fmt.format(*("-" * w for w in widths)))
    for c in cells:
        line(fmt.format(*c))


def failed(rows: Sequence[Row]) -> list[Row]:
    """Rows whose runs had errors: the bench run fails with them."""
    return [r for r in rows if r.errors]


def markdown(rows: Sequence[Row], when: str, machine: str) -> str:
    """The same table in Markdown, headed by when and where it was measured (for the README)."""
    out = [
        f"Measured {when} on {machine}.",
        "",
        "| figure | value | baseline | ratio | target | met | errors |",
        "|---|---:|---:|---:|---:|:-:|---:|",
    ]
    for r in rows:
        value = f"{_num(r.value, 2 if r.value < 100 else 0)} {r.unit}"
        baseline = f"{_num(r.baseline, 2 if (r.baseline or 0) < 100 else 0)} {r.baseline_name}".strip()
        met = {True: "met", False: "**missed**", None: ""}[r.met]
        errors = f"{r.errors} {r.statuses}".strip() if r.errors else "0"
        cells = (r.figure, value, baseline, _num(r.ratio, 2), r.target_text(), met, errors)
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)
