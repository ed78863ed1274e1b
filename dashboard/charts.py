"""Small SVG charts rendered on the server (pure: numbers in, markup out; no scripts).

    svg_bars([3, 0, 5], title="New subscriptions per day")
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape


def svg_bars(values: Sequence[float], *, title: str, width: int = 320, height: int = 80,
             colour: str = "#0b6e4f", labels: list[str] | None = None) -> str:
    count = max(len(values), 1)
    peak = max([*values, 0]) or 1
    gap = 2
    bar_width = max((width - gap * (count - 1)) / count, 1)
    bars = []
    for i, value in enumerate(values):
        bar_height = 0 if value <= 0 else max(value / peak * (height - 2), 1)
        x = i * (bar_width + gap)
        tip = escape(f"{labels[i]}: {value}" if labels else str(value))
        bars.append(
            f'<rect x="{x:.1f}" y="{height - bar_height:.1f}" width="{bar_width:.1f}" '
            f'height="{bar_height:.1f}" fill="{colour}"><title>{tip}</title></rect>'
        )
    return (
        f'<svg class="duro-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#c9d1cd"/>'
        + "".join(bars) + "</svg>"
    )
