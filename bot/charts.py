"""Charts drawn with text, the one way every chat surface can show them without an image host.

A sparkline (eight block heights) shows the shape; the first, last, lowest and highest
values beside it keep it honest. Every renderer uses this, so Slack, Teams and the
terminal draw the same chart.
"""

from __future__ import annotations

from bot.reply import Chart

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return _BARS[3] * len(values)
    scale = (len(_BARS) - 1) / (high - low)
    return "".join(_BARS[round((value - low) * scale)] for value in values)


def _number(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"
    return f"{text}{unit}"


def chart_caption(chart: Chart) -> str:
    """`first label → last label: first → last (low … high)`, the numbers the line stands for."""
    if not chart.points:
        return "no data"
    values = [value for _, value in chart.points]
    first, last = chart.points[0], chart.points[-1]
    return (
        f"{first[0]} → {last[0]}: {_number(first[1], chart.unit)} → "
        f"{_number(last[1], chart.unit)} (low {_number(min(values), chart.unit)}, "
        f"high {_number(max(values), chart.unit)})"
    )


def chart_line(chart: Chart) -> str:
    """The whole chart in one line: title, sparkline, caption."""
    return f"{chart.title}: {sparkline([v for _, v in chart.points])}  {chart_caption(chart)}"
