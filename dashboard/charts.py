"""Charts rendered on the server as SVG (pure: numbers in, markup out; no scripts).

A chart has a y axis with rounded ticks and values, the first, middle and last
day on the x axis, and every bar names its day and value (``<title>``, shown
on hover and read by screen readers). Series are stacked (parts of one whole,
e.g. deliveries that succeeded and failed) or side by side (new vs churned).

    svg_chart(days, [Series("New", [0, 2, 1], "#0b6e4f")], title="New subscriptions")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape

WIDTH, HEIGHT = 480, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 24
GRID, AXIS_TEXT = "#e5e7eb", "#4b5563"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


def compact(value: float) -> str:
    """1234567 -> "1.2M": short enough for an axis."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (a readable top tick)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def svg_chart(days: Sequence[date], series: Sequence[Series], *, title: str,
              stacked: bool = False, value_text: Callable[[float], str] = compact,
              axis_text: Callable[[float], str] = compact) -> str:
    count = max(len(days), 1)
    totals = [sum(s.values[i] for s in series) for i in range(len(days))] if stacked else \
        [max([s.values[i] for s in series] or [0]) for i in range(len(days))]
    top = nice_ceiling(max([*totals, 0]))
    if all(float(v).is_integer() for s in series for v in s.values):
        top = max(2, math.ceil(top / 2) * 2)  # counts: whole ticks (0, 1, 2), never 0.5
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / count
    bar_w = max(slot * 0.7 / (1 if stacked else len(series) or 1), 1)

    def y(value: float) -> float:
        return TOP + plot_h - max(value, 0) / top * plot_h

    parts = []
    for tick in (0, top / 2, top):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="{GRID}"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f'{escape(axis_text(tick))}</text>')
    for i, day in enumerate(days):
        x0 = LEFT + i * slot + slot * 0.15
        base = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            bottom = base if stacked else 0
            height = max(y(bottom) - y(bottom + value), 1)
            x = x0 if stacked else x0 + j * bar_w
            tip = escape(f"{day_label(day)} · {s.name}: {value_text(value)}")
            parts.append(f'<rect x="{x:.1f}" y="{y(bottom) - height:.1f}" width="{bar_w:.1f}" '
                         f'height="{height:.1f}" rx="1" fill="{s.colour}"><title>{tip}</title>'
                         f'</rect>')
            base += value
    for i in sorted({0, len(days) // 2, len(days) - 1}):
        if 0 <= i < len(days):
            anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
            x = LEFT + i * slot + (0 if anchor == "start" else slot if anchor == "end"
                                   else slot / 2)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">'
                         f'{escape(day_label(days[i]))}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
                 f'y2="{TOP + plot_h}" stroke="{AXIS_TEXT}"/>')
    summary = "; ".join(f"{s.name}: {value_text(sum(s.values))} in total" for s in series)
    label = escape(f"{title}. {summary}")
    return (f'<svg class="duro-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{label}">'
            f'<title>{label}</title>{"".join(parts)}</svg>')


def legend(series: Sequence[Series]) -> str:
    return '<p class="duro-legend">' + "".join(
        f'<span style="--swatch:{s.colour}">{escape(s.name)}</span>' for s in series) + "</p>"
