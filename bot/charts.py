"""Charts as text, and the one way every surface turns thresholds into something drawn.

Slack and Teams draw charts natively, but not everywhere: App Home, modals, the terminal
and a third chart in one Slack message get text. A sparkline (eight block heights) per
series shows the shape; the chart's own summary keeps it honest. Neither platform draws
reference lines, so `drawn_series` turns each threshold into a flat series; renderers
use it rather than each inventing their own.
"""

from __future__ import annotations

from bot.reply import Chart, ChartKind, Series, Threshold

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float] | tuple[float, ...]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return _BARS[3] * len(values)
    scale = (len(_BARS) - 1) / (high - low)
    return "".join(_BARS[round((value - low) * scale)] for value in values)


def number(value: float, unit: str = "") -> str:
    """A value as a chart's text shows it: whole numbers plain, small ones to one decimal."""
    text = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"
    return f"{text}{unit}"


def drawn_series(chart: Chart) -> tuple[Series, ...]:
    """The chart's series, then each threshold as a flat series over every category."""
    flat = tuple(
        Series(threshold.label, (threshold.value,) * len(chart.categories))
        for threshold in chart.thresholds
    )
    return chart.series + flat


def chart_lines(chart: Chart) -> list[str]:
    """The chart as text: its title, a line per series (or slice for a pie), its summary."""
    lines = [chart.title]
    if chart.kind is ChartKind.PIE:
        values = chart.series[0].values
        total = sum(values)
        lines.extend(
            f"  {label}: {number(value, chart.unit)} ({value / total:.0%})"
            for label, value in zip(chart.categories, values, strict=True)
        )
    elif chart.categories:
        span = f"{chart.categories[0]} → {chart.categories[-1]}"
        named = len(chart.series) > 1
        for series in chart.series:
            name = f"{series.name} " if named else ""
            lines.append(f"  {name}{sparkline(series.values)}  {span}")
    lines.append(f"  {chart.summary}")
    return lines


def band_thresholds(red_below: float, green_from: float) -> tuple[Threshold, ...]:
    """The health bands' edges as a chart's reference lines: what "red" and "green" mean."""
    return (
        Threshold(f"Red below {number(red_below)}", red_below),
        Threshold(f"Green from {number(green_from)}", green_from),
    )
