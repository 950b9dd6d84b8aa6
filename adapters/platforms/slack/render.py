"""Block Kit rendering of a `Reply`: the only code that knows what a Slack message looks like.

Handlers answer with a platform-neutral `Reply`; this module turns it into the blocks and
fallback text that `chat.postMessage`, `respond()` and `views.publish` take. It builds
plain dicts rather than slack_sdk model objects, so it has no Slack dependency and its
output can be compared and checked as data.

Slack rejects a whole message when any one block breaks a limit, so every limit is
honoured here rather than hoped for: long text is split or shortened, long lists are
spread over several blocks, and when a reply would need more blocks than Slack allows,
the least important blocks are left out and the message says so (`limits.fit`, as for
every renderer). The limits are those compiled in
`shared/conformance/slack-blockkit-limits.json`, each with its source.

Charts and tables are drawn natively in messages, within the limits compiled in
`tests/conformance/slack-charts-tables-limits.json`:

- A chart is a `data_visualization` block (at most two per message; a third chart, and any
  chart on the Home tab, where the block is not confirmed to work, is drawn as text). The
  block has no alt text, so the chart's summary is the context line under it and travels
  in the message's `text`, which is all that notifications and screen readers get. A
  chart is fitted without changing what it says: more than 20 categories keep 20 evenly
  spaced ones (the last among them) and the context line says so, long labels are
  shortened so they stay distinct, thresholds are flat series (`drawn_series`), a pie of
  more than six slices shows its five largest and the rest as one, and a chart with more
  than six series is drawn as text.
- A table is a `table` block of `raw_text` cells when it fits (one per message, at most
  100 rows counting the header, 20 columns and 10,000 characters of cells); numeric
  columns are right-aligned. Any other table, and every table on the Home tab, is the
  monospace section it always was. Both kinds of block carry plain strings that Slack
  shows as written, so nothing in them is escaped.

What the adapter relies on:

- Slack wants action ids unique within a message, but one reply may carry several
  buttons with the same action id (the "did you mean" buttons all use `closeloop.pick`).
  The first keeps its id; each repeat gets the first free suffix `:1`, `:2`, ... so the
  adapter matches `^<id>(:\\d+)?$` and recovers the id with `split(":", 1)[0]`.
- A button's `value` is `button_value(payload)`, compact JSON with sorted keys, and
  `parse_button_value` reads it back (and never raises on what a client sends).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from adapters.platforms.limits import ESSENTIAL, Limits, Piece, fit
from adapters.platforms.text import (
    ELLIPSIS,
    chunked,
    clip,
    distinct_labels,
    numeric_column,
    one_line,
    trend_arrow,
)
from bot.charts import chart_lines, drawn_series
from bot.reply import Action, Chart, ChartKind, Fact, Form, Metric, Outcome, Reply, Table, Tone

__all__ = [
    "SlackMessage",
    "button_value",
    "escape_mrkdwn",
    "form_values",
    "parse_button_value",
    "render_form",
    "render_home",
    "render_message",
]

Block = dict[str, Any]

# Slack's limits, as listed (with sources) in shared/conformance/slack-blockkit-limits.json.
MESSAGE_MAX_BLOCKS: Final = 50
HOME_MAX_BLOCKS: Final = 100
HEADER_MAX_CHARS: Final = 150
SECTION_TEXT_MAX_CHARS: Final = 3000
FIELDS_PER_SECTION: Final = 10
FIELD_MAX_CHARS: Final = 2000
CONTEXT_MAX_ELEMENTS: Final = 10
ACTIONS_PER_BLOCK: Final = 25
BUTTON_TEXT_MAX_CHARS: Final = 75
BUTTON_VALUE_MAX_CHARS: Final = 2000
ACTION_ID_MAX_CHARS: Final = 255

VIEW_TITLE_MAX_CHARS: Final = 24
VIEW_SUBMIT_MAX_CHARS: Final = 24
PRIVATE_METADATA_MAX_CHARS: Final = 3000
INPUT_LABEL_MAX_CHARS: Final = 2000
SELECT_MAX_OPTIONS: Final = 100
OPTION_TEXT_MAX_CHARS: Final = 75
OPTION_VALUE_MAX_CHARS: Final = 150
TEXT_INPUT_MAX_CHARS: Final = 3000

# Slack documents no limit on a context element's text; the 3000 of a section's text is
# the general text-object limit, and a footnote longer than that is unreadable anyway.
CONTEXT_TEXT_MAX_CHARS: Final = 3000
# The fallback `text` is what notifications and screen readers get: a line or two.
FALLBACK_MAX_CHARS: Final = 3000
# chat.postMessage also refuses messages whose blocks hold too much text in total
# (`msg_blocks_too_long`), an undocumented server limit reported near 12,000-13,300
# characters (slackapi/bolt-js #2509, #2867). Messages keep their text below this budget,
# counted as the sum of every `text` string in the blocks, with room for block overhead.
MESSAGE_TEXT_BUDGET: Final = 10_000
# A table is a monospace block: one very long cell would push every column after it off
# screen. The last column pushes nothing, and it is usually the explanation ("Why"), so it
# gets more room.
TABLE_CELL_MAX_CHARS: Final = 40
TABLE_LAST_CELL_MAX_CHARS: Final = 80
# Labels of facts and metrics are names, not prose; this keeps a field readable.
LABEL_MAX_CHARS: Final = 200

# Native charts and tables, as listed (with sources) in
# tests/conformance/slack-charts-tables-limits.json. Where Slack's launch pages and later
# reports differ (6 or 12 series), these stay within both.
CHART_TITLE_MAX_CHARS: Final = 50
CHART_LABEL_MAX_CHARS: Final = 20  # series names, categories, point and slice labels
CHART_AXIS_LABEL_MAX_CHARS: Final = 50
CHART_MAX_SERIES: Final = 6  # also the most slices of a pie
CHART_MAX_POINTS: Final = 20  # per series, exactly one per category
CHARTS_PER_MESSAGE: Final = 2
TABLE_MAX_ROWS: Final = 100  # the header row included
TABLE_MAX_COLUMNS: Final = 20
TABLE_MAX_CELL_CHARS: Final = 10_000  # over all cells of the message's one table block
TABLES_PER_MESSAGE: Final = 1
# Slack refuses an empty raw_text cell ("must be more than 0 characters": vercel/chat#373;
# slack_sdk's RawTextObject validator), so a blank cell shows a dash.
BLANK_CELL: Final = "—"
# A table column whose cells are all numbers (with a sign, a currency, a unit) is aligned
# right, as numbers are read; dashes and "n/a" are no value and do not count either way.
MESSAGE_LIMITS: Final = Limits(max_blocks=MESSAGE_MAX_BLOCKS, size_budget=MESSAGE_TEXT_BUDGET)
HOME_LIMITS: Final = Limits(max_blocks=HOME_MAX_BLOCKS)

TONE_EMOJI: Final[Mapping[Tone, str]] = {
    Tone.GOOD: "🟢",
    Tone.WARNING: "🟡",
    Tone.BAD: "🔴",
    Tone.NEUTRAL: "",
}
# A reply that is not an answer says so before its first word, in the header and the
# notification alike.
OUTCOME_MARK: Final[Mapping[Outcome, str]] = {
    Outcome.ANSWER: "",
    Outcome.PROBLEM: "⚠️",
    Outcome.FAILURE: "⚠️",
}
_ENTITIES: Final = ("&amp;", "&lt;", "&gt;")


@dataclass(frozen=True)
class SlackMessage:
    """A rendered message: what `chat.postMessage` and `respond()` take besides the channel."""

    text: str  # the fallback text: notifications, screen readers, clients without blocks
    blocks: list[dict[str, Any]]


# --- text --------------------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Escape data for mrkdwn as Slack documents: `&`, `<` and `>` become entities.

    Without it an account called `<!channel>` would notify a whole channel and `a <b> c`
    would vanish. Other mrkdwn characters (`*`, `_`, backticks) have no escape in Slack
    and stay as they are, which is also what keeps a paragraph's `code` spans working.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_cut(text: str, cut: int) -> int:
    """Move a cut in escaped text back so that it does not fall inside an entity."""
    start = text.rfind("&", max(0, cut - 4), cut)
    if start != -1 and any(
        text.startswith(entity, start) and start + len(entity) > cut for entity in _ENTITIES
    ):
        return start
    return cut


def _clip_escaped(text: str, limit: int) -> str:
    """The shared `clip`, never cutting an escaped entity (`&amp;`) in half. Harmless on
    plain text, so every text Slack shows is clipped with it."""
    return clip(text, limit, safe_cut=_safe_cut)


def _split(text: str, limit: int) -> list[str]:
    """Split escaped text into chunks of at most `limit` characters for separate sections.

    Cuts at a blank line, else a line break, else a space, as long as that keeps the chunk
    at least half full (a break near the start would only add a block); otherwise cuts
    hard, outside any entity.
    """
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut, skip = _safe_cut(rest, limit), 0
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator, 0, limit)
            if at >= limit // 2:
                cut, skip = at, len(separator)
                break
        chunk = rest[:cut].rstrip()
        if chunk:
            chunks.append(chunk)
        rest = rest[cut + skip :].lstrip("\n")
    if rest.strip():
        chunks.append(rest.rstrip())
    return chunks


# --- blocks ------------------------------------------------------------------------------


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _marked_heading(reply: Reply) -> str:
    mark = OUTCOME_MARK[reply.outcome]
    return f"{mark} {reply.heading}" if mark and reply.heading.strip() else reply.heading


def _header(heading: str) -> Block | None:
    text = one_line(heading)
    return (
        {"type": "header", "text": _plain(_clip_escaped(text, HEADER_MAX_CHARS))} if text else None
    )


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _fields_sections(fields: Sequence[str]) -> list[Block]:
    return [
        {"type": "section", "fields": [_mrkdwn(text) for text in chunk]}
        for chunk in chunked(fields, FIELDS_PER_SECTION)
    ]


def _context(texts: Sequence[str]) -> Block:
    """One context block; texts beyond the element limit are merged into the last element."""
    texts = [text for text in texts if text.strip()]
    if len(texts) > CONTEXT_MAX_ELEMENTS:
        head = CONTEXT_MAX_ELEMENTS - 1
        texts = [*texts[:head], "\n".join(texts[head:])]
    return {
        "type": "context",
        "elements": [_mrkdwn(_clip_escaped(text, CONTEXT_TEXT_MAX_CHARS)) for text in texts],
    }


def _field(label: str, lines: Sequence[str]) -> str:
    """A bold label over lines of (already escaped) value, within the field limit."""
    label = _clip_escaped(escape_mrkdwn(one_line(label)), LABEL_MAX_CHARS)
    prefix = f"*{label}*\n" if label else ""
    body = "\n".join(line for line in lines if line) or "—"
    return prefix + _clip_escaped(body, FIELD_MAX_CHARS - len(prefix))


def _metric_field(metric: Metric) -> str:
    """`*Label*`, then the value with its tone, the delta with its trend arrow, the detail."""
    emoji = TONE_EMOJI[metric.tone]
    arrow = trend_arrow(metric.trend)
    value = escape_mrkdwn(metric.value.strip())
    value_line = " ".join(part for part in (emoji, value) if part)
    if metric.delta:
        delta_line = " ".join(part for part in (arrow, escape_mrkdwn(metric.delta)) if part)
    else:
        value_line, delta_line = " ".join(part for part in (value_line, arrow) if part), ""
    detail = escape_mrkdwn(metric.detail) if metric.detail else ""
    return _field(metric.label, [value_line, delta_line, detail])


def _fact_field(fact: Fact) -> str:
    return _field(fact.label, [escape_mrkdwn(fact.value.strip())])


def _cells(cells: Sequence[str]) -> tuple[str, ...]:
    """A table row as short one-line cells.

    Backticks would close the code block, so they become a look-alike (Slack has no way to
    escape them inside one).
    """
    last = len(cells) - 1
    return tuple(
        _clip_escaped(
            one_line(cell).replace("`", "ˋ"),
            TABLE_LAST_CELL_MAX_CHARS if i == last else TABLE_CELL_MAX_CHARS,
        )
        for i, cell in enumerate(cells)
    )


def _table_section(table: Table, limit: int = SECTION_TEXT_MAX_CHARS) -> Block | None:
    """A table as monospace text with aligned columns, cut to fit one section of `limit`.

    What a table is when the native block cannot take it (a second table, one over the
    block's limits, the Home tab): a code block keeps the columns aligned on every client.
    Rows that do not fit are counted on a last line.
    """
    if not table.columns:
        return None
    columns = _cells(table.columns)
    rows = [_cells(row) for row in table.rows]
    widths = [max(len(row[i]) for row in (columns, *rows)) for i in range(len(columns))]

    def line(cells: Sequence[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return escape_mrkdwn("  ".join(padded).rstrip())

    title = _clip_escaped(escape_mrkdwn(one_line(table.title or "")), LABEL_MAX_CHARS)
    opening = (f"*{title}*\n" if title else "") + "```\n"
    closing = "\n```"
    head = [line(columns), "  ".join("-" * width for width in widths)]
    body = [line(row) for row in rows]

    def text(lines: Sequence[str], dropped: int) -> str:
        more = f"\n{ELLIPSIS} {dropped} more rows" if dropped else ""
        return opening + "\n".join(lines) + closing + more

    full = text([*head, *body], 0)
    if len(full) <= limit:
        return _section(full)
    # Rows that fit beside a "… N more rows" line long enough for any N.
    room = limit - len(text([], len(rows)))
    head = [_clip_escaped(entry, max(room // 2 - 1, 1)) for entry in head]  # absurdly wide tables
    room -= sum(len(entry) + 1 for entry in head)
    kept = 0
    for entry in body:
        if len(entry) + 1 > room:
            break
        room -= len(entry) + 1
        kept += 1
    return _section(text([*head, *body[:kept]], len(body) - kept))


def _table_cell(text: str) -> dict[str, str]:
    return {"type": "raw_text", "text": one_line(text) or BLANK_CELL}


def _table_blocks(table: Table) -> list[Block] | None:
    """A table as Slack's `table` block (its title in a section above, as the block has
    none), or None when it breaks one of the block's limits."""
    if not 1 <= len(table.columns) <= TABLE_MAX_COLUMNS or len(table.rows) + 1 > TABLE_MAX_ROWS:
        return None
    rows = [[_table_cell(cell) for cell in row] for row in (table.columns, *table.rows)]
    if sum(len(cell["text"]) for row in rows for cell in row) > TABLE_MAX_CELL_CHARS:
        return None
    settings: list[dict[str, Any]] = []
    for i in range(len(table.columns)):
        cells = [row[i] for row in table.rows]
        if numeric_column(cells):
            settings.append({"align": "right"})
        else:
            # Long text (the "Why" of a row) wraps rather than running off to the side.
            wide = any(len(one_line(cell)) > TABLE_CELL_MAX_CHARS for cell in cells)
            settings.append({"align": "left", "is_wrapped": True} if wide else {"align": "left"})
    block: Block = {"type": "table", "column_settings": settings, "rows": rows}
    title = _clip_escaped(escape_mrkdwn(one_line(table.title or "")), LABEL_MAX_CHARS)
    return [_section(f"*{title}*"), block] if title else [block]


# --- charts ------------------------------------------------------------------------------


def _chart_text(chart: Chart) -> Block:
    """A chart drawn as text: its title, a sparkline per series (monospace keeps the bars
    evenly spaced) or a line per slice, and its summary."""
    title, *drawing, summary = chart_lines(chart)
    shape = "\n".join(f"`{escape_mrkdwn(line.strip())}`" for line in drawing)
    text = "\n".join(
        part
        for part in (f"*{escape_mrkdwn(title)}*", shape, escape_mrkdwn(summary.strip()))
        if part
    )
    return _section(_clip_escaped(text, SECTION_TEXT_MAX_CHARS))


def _evenly_spaced(count: int, most: int) -> list[int]:
    """Indexes of at most `most` of `count` items, evenly spaced, the first and last among
    them (exact integer steps, so no two coincide)."""
    if count <= most:
        return list(range(count))
    return [(i * (count - 1) + (most - 1) // 2) // (most - 1) for i in range(most)]


def _value(value: float) -> float | int:
    """A value as JSON shows it best: 58 rather than 58.0."""
    value = float(value)  # an int passes a `float` annotation, and has no is_integer here
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _axis_label(label: str | None, unit: str = "") -> str | None:
    text = one_line(label or "")
    unit = unit.strip()
    if unit:
        text = f"{text} ({unit})" if text else unit
    return clip(text, CHART_AXIS_LABEL_MAX_CHARS) if text else None


def _pie(chart: Chart) -> tuple[dict[str, Any], list[str]]:
    """A pie's segments; beyond six slices, the five largest and the rest as one, so every
    share stays what it is."""
    labels, values = list(chart.categories), list(chart.series[0].values)
    notes: list[str] = []
    if len(values) > CHART_MAX_SERIES:
        largest = sorted(range(len(values)), key=lambda i: (-values[i], i))
        kept = sorted(largest[: CHART_MAX_SERIES - 1])
        rest = len(values) - len(kept)
        other = sum(values[i] for i in largest[CHART_MAX_SERIES - 1 :])
        labels = [*(labels[i] for i in kept), f"{rest} others"]
        values = [*(values[i] for i in kept), other]
        notes.append(
            f"The chart shows the {len(kept)} largest of {len(chart.categories)} slices "
            f"and the other {rest} as one."
        )
    segments = [
        {"label": label, "value": _value(value)}
        for label, value in zip(
            distinct_labels(labels, CHART_LABEL_MAX_CHARS, BLANK_CELL), values, strict=True
        )
    ]
    return {"type": "pie", "segments": segments}, notes


def _series_chart(chart: Chart) -> tuple[dict[str, Any], list[str]] | None:
    """Series over categories, thresholds as flat series; None beyond six series, which
    only text can show without leaving one out."""
    series = drawn_series(chart)
    if len(series) > CHART_MAX_SERIES:
        return None
    count = len(chart.categories)
    kept = _evenly_spaced(count, CHART_MAX_POINTS)
    notes = (
        [f"The chart draws {len(kept)} of the {count} points, evenly spaced, the last included."]
        if len(kept) < count
        else []
    )
    categories = distinct_labels(
        [chart.categories[i] for i in kept], CHART_LABEL_MAX_CHARS, BLANK_CELL
    )
    names = distinct_labels([s.name for s in series], CHART_LABEL_MAX_CHARS, "Series")
    axis: dict[str, Any] = {"categories": categories}
    for key, label in (
        ("x_label", _axis_label(chart.x_label)),
        ("y_label", _axis_label(chart.y_label, chart.unit)),
    ):
        if label:
            axis[key] = label
    drawn = [
        {
            "name": name,
            "data": [
                {"label": label, "value": _value(one.values[i])}
                for label, i in zip(categories, kept, strict=True)
            ],
        }
        for name, one in zip(names, series, strict=True)
    ]
    return {"type": str(chart.kind), "series": drawn, "axis_config": axis}, notes


def _chart_blocks(chart: Chart) -> list[Block] | None:
    """A chart as a `data_visualization` block and its summary (with what fitting
    changed) as the context line under it; None when only text can show it."""
    if not chart.categories:
        return None
    drawn = _pie(chart) if chart.kind is ChartKind.PIE else _series_chart(chart)
    if drawn is None:
        return None
    body, notes = drawn
    block: Block = {
        "type": "data_visualization",
        "title": clip(one_line(chart.title) or "Chart", CHART_TITLE_MAX_CHARS),
        "chart": body,
    }
    words = "\n".join(
        [escape_mrkdwn(chart.summary.strip()), *(f"_{escape_mrkdwn(n)}_" for n in notes)]
    )
    return [block, _context([words])]


def _payload_length(node: object) -> int:
    """Characters a native block carries: its strings (but its type) and its numbers as
    written. Counted against the message's text budget like any other text."""
    if isinstance(node, dict):
        return sum(_payload_length(v) for k, v in node.items() if k != "type")
    if isinstance(node, list):
        return sum(_payload_length(item) for item in node)
    if isinstance(node, str):
        return len(node)
    if isinstance(node, (int, float)):
        return len(str(node))
    return 0


class _ActionIds:
    """Hands out action ids unique within one message or view.

    Every id the reply uses as is gets reserved first, so a suffixed repeat can never take
    an id that a later button carries literally.
    """

    def __init__(self, actions: Iterable[Action]) -> None:
        self._literal = {action.action_id for action in actions}
        self._used: set[str] = set()

    def claim(self, action_id: str) -> str:
        unique, n = action_id, 0
        while unique in self._used or (n and unique in self._literal):
            n += 1
            unique = f"{action_id}:{n}"
        if not unique or len(unique) > ACTION_ID_MAX_CHARS:
            raise ValueError(
                f"action id {unique!r} must have 1 to {ACTION_ID_MAX_CHARS} characters"
            )
        self._used.add(unique)
        return unique


def _button(action: Action, ids: _ActionIds) -> dict[str, Any]:
    label = one_line(action.label) or ELLIPSIS
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(_clip_escaped(label, BUTTON_TEXT_MAX_CHARS)),
        "action_id": ids.claim(action.action_id),
        "value": button_value(action.payload),
    }
    if action.primary:
        button["style"] = "primary"
    return button


def _actions_blocks(actions: Sequence[Action], ids: _ActionIds) -> list[Block]:
    buttons = [_button(action, ids) for action in actions]
    return [
        {"type": "actions", "elements": list(chunk)}
        for chunk in chunked(buttons, ACTIONS_PER_BLOCK)
    ]


# --- a reply as blocks, and fitting them into a message or view ---------------------------


_DETAIL: Final = ESSENTIAL + 1
"""Every block that is not essential: left out from the end, so an answer is cut short at
one point, never shown with holes."""


def _piece(block: Block, *, essential: bool = False) -> Piece[Block]:
    """A block, and whether it must survive when a message is cut to fit.

    The heading, the headline metrics and the buttons are what a reader needs to know what
    the answer is about and to act on it; everything else can be left out, last first.
    """
    return Piece((block,), _text_length(block), ESSENTIAL if essential else _DETAIL)


def _native_piece(blocks: Sequence[Block], fallback: Block | None) -> Piece[Block]:
    """Native blocks that stay or go together, or, when they do not fit what is left of
    the message, the `fallback` text block (when that fits)."""

    def shrink(room: int) -> Piece[Block] | None:
        if fallback is None or _text_length(fallback) > room:
            return None
        return _piece(fallback)

    return Piece(tuple(blocks), sum(map(_payload_length, blocks)), _DETAIL, shrink)


def _table_piece(table: Table, native: bool) -> Piece[Block] | None:
    blocks = _table_blocks(table) if native else None
    if blocks is None:
        block = _table_section(table)
        return _piece(block) if block else None

    def shrink(room: int) -> Piece[Block] | None:
        block = _table_section(table, min(room, SECTION_TEXT_MAX_CHARS))
        return _piece(block) if block and _text_length(block) <= room else None

    return Piece(tuple(blocks), sum(map(_payload_length, blocks)), _DETAIL, shrink)


def _pieces(reply: Reply, ids: _ActionIds, *, native: bool) -> list[Piece[Block]]:
    """The reply's blocks in reading order: heading, metrics, paragraphs, facts, tables,
    charts, notes, actions (the order of the plain-text renderer, with buttons last).

    With `native` (messages), the first table that fits and the first two charts that
    fit are Slack's own blocks; the rest, and everything without `native`, are text.
    """
    pieces: list[Piece[Block]] = []
    header = _header(_marked_heading(reply))
    if header:
        pieces.append(_piece(header, essential=True))
    metrics = _fields_sections([_metric_field(metric) for metric in reply.metrics])
    pieces.extend(_piece(block, essential=i == 0) for i, block in enumerate(metrics))
    for paragraph in reply.paragraphs:
        chunks = _split(escape_mrkdwn(paragraph), SECTION_TEXT_MAX_CHARS)
        pieces.extend(_piece(_section(chunk)) for chunk in chunks)
    pieces.extend(_piece(b) for b in _fields_sections([_fact_field(f) for f in reply.facts]))
    tables = TABLES_PER_MESSAGE if native else 0
    for table in reply.tables:
        piece = _table_piece(table, native=tables > 0)
        if piece is None:
            continue
        if any(block["type"] == "table" for block in piece.content):
            tables -= 1
        pieces.append(piece)
    charts = CHARTS_PER_MESSAGE if native else 0
    for chart in reply.charts:
        text = _chart_text(chart)
        drawing = _chart_blocks(chart) if charts > 0 else None
        if drawing is None:
            pieces.append(_piece(text))
        else:
            charts -= 1
            pieces.append(_native_piece(drawing, text))
    notes = [escape_mrkdwn(note) for note in reply.notes if note.strip()]
    if notes:
        pieces.append(_piece(_context(notes)))
    pieces.extend(_piece(b, essential=True) for b in _actions_blocks(reply.actions, ids))
    return pieces


def _text_length(node: object) -> int:
    """Characters of text a block carries: the sum of its `text` strings, nested or not."""
    if isinstance(node, dict):
        return sum(
            len(value) if key == "text" and isinstance(value, str) else _text_length(value)
            for key, value in node.items()
        )
    if isinstance(node, list):
        return sum(_text_length(item) for item in node)
    return 0


def _joined(replies: list[list[Piece[Block]]]) -> list[Piece[Block]]:
    """The replies' blocks one after the other, a divider between two replies."""
    out: list[Piece[Block]] = []
    for i, reply in enumerate(replies):
        if i:
            out.append(_piece({"type": "divider"}, essential=True))
        out.extend(reply)
    return out


def _fit(
    replies: list[list[Piece[Block]]],
    limits: Limits,
    *,
    omitted: str,
    note_before_actions: bool,
) -> list[Block]:
    """Join the replies' blocks within the limits (`limits.fit`), with a note saying what
    happened when something was left out.

    When even the essential blocks do not fit, whole replies are dropped from the end
    and then, for a single reply, its last buttons.
    """
    note = _piece(_context([omitted]), essential=True)
    groups = [list(group) for group in replies]
    fitted = fit(_joined(groups), limits, note=note, cut_off=True)
    while fitted is None and len(groups) > 1:
        groups.pop()
        fitted = fit(_joined(groups), limits, note=note, left_out=True, cut_off=True)
    pieces = _joined(groups)
    while fitted is None:
        # Only a reply with hundreds of buttons gets here: its last buttons go.
        del pieces[max(i for i, p in enumerate(pieces) if p.rank == ESSENTIAL and i > 0)]
        fitted = fit(pieces, limits, note=note, left_out=True, cut_off=True)
    blocks = list(fitted.content)
    if fitted.cut:
        position = len(blocks)
        if note_before_actions:
            position = next((i for i, b in enumerate(blocks) if b["type"] == "actions"), position)
        blocks[position:position] = note.content
    return blocks


def _fallback_text(reply: Reply) -> str:
    """The heading, the first line of content and every chart's summary, for
    notifications and screen readers.

    Plain words, not the whole reply: a notification shows a line or two, and the blocks
    carry the rest. A chart block has no alt text, so its summary must be here: the first
    line of content is shortened before a summary is. Still escaped, since Slack parses
    `text` for links and mentions.
    """
    heading = escape_mrkdwn(one_line(_marked_heading(reply)))
    lead = ""
    if reply.metrics:
        metric = reply.metrics[0]
        parts = [f"{metric.label}: {metric.value}"]
        if metric.delta:
            parts.append(f"({metric.delta})")
        lead = " ".join(parts)
    elif reply.paragraphs:
        lead = reply.paragraphs[0].strip()
    summaries = [escape_mrkdwn(chart.summary.strip()) for chart in reply.charts]
    fixed = "\n".join(line for line in (heading, *summaries) if line)
    room = FALLBACK_MAX_CHARS - len(fixed) - 1
    lead = _clip_escaped(escape_mrkdwn(lead), room) if room > len(ELLIPSIS) else ""
    text = "\n".join(line for line in (heading, lead, *summaries) if line) or "Closeloop"
    return _clip_escaped(text, FALLBACK_MAX_CHARS)


# --- the API -----------------------------------------------------------------------------


def render_message(reply: Reply) -> SlackMessage:
    """A reply as a message for `chat.postMessage` or `respond()`: at most 50 blocks, with
    native charts and a native table where they fit.

    Raises ValueError only for what the renderer must not repair: an action id that is
    empty or too long, or a button payload too large to carry (see `button_value`).
    """
    blocks = _fit(
        [_pieces(reply, _ActionIds(reply.actions), native=True)],
        MESSAGE_LIMITS,
        omitted="_Some details were left out; the full answer is too long for one Slack message._",
        note_before_actions=True,
    )
    return SlackMessage(text=_fallback_text(reply), blocks=blocks)


def render_home(replies: Sequence[Reply]) -> dict[str, Any]:
    """Replies as an App Home view for `views.publish`: dividers between them, ≤ 100 blocks.

    Action ids are unique across the whole view, as if it were one message. Charts and
    tables are text here: Slack's chart block is confirmed only in messages.
    """
    ids = _ActionIds(action for reply in replies for action in reply.actions)
    blocks = _fit(
        [_pieces(reply, ids, native=False) for reply in replies],
        HOME_LIMITS,
        omitted="_Some details were left out; there is more than the Home tab can show._",
        note_before_actions=False,
    )
    return {"type": "home", "blocks": blocks}


def button_value(payload: Mapping[str, str]) -> str:
    """The JSON a button carries: compact, keys sorted, so equal payloads give equal values.

    Raises ValueError past Slack's 2000 characters: a cut JSON document would make the
    button useless, so an oversized payload is a bug for the handler to fix.
    """
    value = json.dumps(dict(payload), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if len(value) > BUTTON_VALUE_MAX_CHARS:
        raise ValueError(
            f"button payload is {len(value)} characters as JSON; "
            f"Slack allows {BUTTON_VALUE_MAX_CHARS}"
        )
    return value


def parse_button_value(value: str) -> dict[str, str]:
    """The payload `button_value` encoded, or `{}` for anything it could not have made.

    The value comes back from a Slack client, so it is untrusted: not JSON, not an object,
    or holding anything but strings all mean "no payload" rather than an exception.
    """
    try:
        decoded: object = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return {}
    if not isinstance(decoded, dict):
        return {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in decoded.items()):
        return {}
    return dict(decoded)


# --- forms -------------------------------------------------------------------------------


def render_form(form: Form, *, callback_id: str, private_metadata: str) -> dict[str, Any]:
    """A form as a modal for `views.open`: one input block per field.

    Choices beyond Slack's 100 options are left out (the first hundred stay), and the
    metadata that brings the click's context back must fit Slack's 3000 characters.
    """
    if len(private_metadata) > PRIVATE_METADATA_MAX_CHARS:
        raise ValueError(f"private_metadata is {len(private_metadata)} characters")
    blocks = []
    for field in form.fields:
        element: dict[str, Any]
        if field.choices:
            element = {
                "type": "static_select",
                "action_id": field.name,
                "options": [
                    {
                        "text": _plain(
                            _clip_escaped(one_line(c.label) or c.value, OPTION_TEXT_MAX_CHARS)
                        ),
                        "value": c.value[:OPTION_VALUE_MAX_CHARS],
                    }
                    for c in field.choices[:SELECT_MAX_OPTIONS]
                ],
            }
        else:
            element = {
                "type": "plain_text_input",
                "action_id": field.name,
                "multiline": field.multiline,
                "max_length": TEXT_INPUT_MAX_CHARS,
            }
        if field.initial:
            element["initial_value"] = field.initial
        blocks.append(
            {
                "type": "input",
                "block_id": field.name,
                "optional": field.optional,
                "label": _plain(_clip_escaped(one_line(field.label), INPUT_LABEL_MAX_CHARS)),
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "title": _plain(_clip_escaped(one_line(form.title), VIEW_TITLE_MAX_CHARS)),
        "submit": _plain(_clip_escaped(one_line(form.submit), VIEW_SUBMIT_MAX_CHARS)),
        "close": _plain("Cancel"),
        "blocks": blocks,
    }


def form_values(view: Mapping[str, Any]) -> dict[str, str]:
    """What was entered in a submitted modal, by field name; empty inputs are left out."""
    values: dict[str, str] = {}
    state = (view.get("state") or {}).get("values") or {}
    for block in state.values():
        for name, element in (block or {}).items():
            selected = element.get("selected_option") or {}
            value = selected.get("value") if selected else element.get("value")
            if isinstance(value, str) and value != "":
                values[str(name)] = value
    return values
