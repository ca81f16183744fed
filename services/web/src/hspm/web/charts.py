"""Bar charts as SVG, drawn on the server: no chart library, and they read with scripts off."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH = 640
BAR = 22
GAP = 8
LABEL = 200


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def bar_chart(bars: list[Bar], title: str) -> str:
    """Horizontal bars with their values; ``title`` names the chart for screen readers."""
    top = max((b.value for b in bars), default=0) or 1
    height = max(len(bars), 1) * (BAR + GAP) + GAP
    span = WIDTH - LABEL - 60
    rows = []
    for n, bar in enumerate(bars):
        y = GAP + n * (BAR + GAP)
        length = round(span * bar.value / top)
        rows.append(
            f'<text x="{LABEL - 6}" y="{y + BAR - 6}" text-anchor="end">{escape(bar.label[:32])}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{length}" height="{BAR}"></rect>'
            f'<text x="{LABEL + length + 6}" y="{y + BAR - 6}">{bar.value}</text>'
        )
    body = "".join(rows) or f'<text x="10" y="{GAP + BAR - 6}">No data in this period.</text>'
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )
