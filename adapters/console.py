"""Plain-text rendering of a `Reply`, for `closeloop ask` and anything that logs answers."""

from __future__ import annotations

from bot.charts import chart_line
from bot.reply import Reply, Table, Tone

TONE_MARK = {Tone.GOOD: "●", Tone.WARNING: "▲", Tone.BAD: "▼", Tone.NEUTRAL: "·"}


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


def render_text(reply: Reply) -> str:
    lines = [reply.heading, "=" * len(reply.heading)]
    for metric in reply.metrics:
        parts = [f"{TONE_MARK[metric.tone]} {metric.label}: {metric.value}"]
        if metric.delta:
            parts.append(f"({metric.delta})")
        if metric.detail:
            parts.append(f"— {metric.detail}")
        lines.append(" ".join(parts))
    lines.extend(reply.paragraphs)
    if reply.facts:
        width = max(len(fact.label) for fact in reply.facts)
        lines.extend(f"{fact.label.ljust(width)}  {fact.value}" for fact in reply.facts)
    for table in reply.tables:
        lines.append("")
        lines.extend(_table(table))
    for chart in reply.charts:
        lines.append("")
        lines.append(chart_line(chart))
    if reply.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in reply.notes)
    if reply.actions:
        lines.append("")
        lines.append("Actions: " + ", ".join(f"[{action.label}]" for action in reply.actions))
    return "\n".join(lines)
