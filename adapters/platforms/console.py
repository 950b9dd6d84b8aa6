"""Plain-text rendering of a `Reply`, for `closeloop ask` and anything that logs answers."""

from __future__ import annotations

import re

from adapters.platforms.text import trend_arrow
from bot.charts import chart_lines
from bot.reply import Metric, Reply, Table, Tone

# How a value feels, in marks that say nothing about direction: `▼ 60/100 (-15)` would read
# as "down 15" whatever the tone meant. Which way it moved is the trend's arrow, by the delta.
TONE_MARK = {Tone.GOOD: "✓", Tone.WARNING: "!", Tone.BAD: "✗", Tone.NEUTRAL: "·"}


# C0 controls but the tab and the line feed, DEL and the C1 controls (ESC, CSI, OSC …),
# and the Unicode line and paragraph separators, which terminals treat inconsistently.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def terminal_text(text: str) -> str:
    r"""Text as a terminal shows it literally: control characters become visible escapes.

    A terminal acts on what it prints: an account named `\x1b[2J` would clear the screen,
    and escape sequences can recolour, hide or retitle output or make fake hyperlinks. So
    each control character is shown as its escape (`\x1b`, `\u2028`) instead. Line ends typed on
    other systems (CR LF, a lone CR, which would return to the start of the line and
    overwrite it) become plain line breaks.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(_visible, lines)


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _table(table: Table) -> list[str]:
    widths = [
        max(len(cell) for cell in (heading, *(row[i] for row in table.rows)))
        for i, heading in enumerate(table.columns)
    ]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    out = [table.title] if table.title else []
    out.append(line(table.columns))
    out.append("  ".join("-" * width for width in widths))
    out.extend(line(row) for row in table.rows)
    return out


def _metric(metric: Metric) -> str:
    """`! Health score: 60/100 (↘ -15 in 7 days) — yellow band`: tone, value, trend, detail."""
    arrow = trend_arrow(metric.trend)
    parts = [f"{TONE_MARK[metric.tone]} {metric.label}: {metric.value}"]
    if metric.delta:
        parts.append("(" + " ".join(p for p in (arrow, metric.delta) if p) + ")")
    elif arrow:
        parts.append(arrow)
    if metric.detail:
        parts.append(f"— {metric.detail}")
    return " ".join(parts)


def render_text(reply: Reply) -> str:
    """The reply as lines of plain text, safe to print to a terminal (see `terminal_text`)."""
    lines = [reply.heading, "=" * len(reply.heading)]
    lines.extend(_metric(metric) for metric in reply.metrics)
    lines.extend(reply.paragraphs)
    if reply.facts:
        width = max(len(fact.label) for fact in reply.facts)
        lines.extend(f"{fact.label.ljust(width)}  {fact.value}" for fact in reply.facts)
    for table in reply.tables:
        lines.append("")
        lines.extend(_table(table))
    for chart in reply.charts:
        lines.append("")
        lines.extend(chart_lines(chart))
    if reply.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in reply.notes)
    if reply.actions:
        lines.append("")
        lines.append("Actions: " + ", ".join(f"[{action.label}]" for action in reply.actions))
    return terminal_text("\n".join(lines))
