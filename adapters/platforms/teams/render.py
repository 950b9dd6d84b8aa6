"""Adaptive Card rendering of a `Reply`: the only code that knows what a Teams card looks like.

Handlers answer with a platform-neutral `Reply`; this module turns it into an Adaptive
Card 1.5 (the highest version Teams renders, and the first in which Teams runs
`Action.Execute`, per msteams-docs "Work with Universal Actions for Adaptive Cards") plus a
plain-text summary for notifications. It builds plain dicts, so it needs no Bot Framework
package and its output can be checked as data against the official schema
(`tests/conformance/adaptive-card-1.5.0.json`).

Teams rejects a whole message that is too large and shows only so many buttons in a row,
so those limits are honoured here rather than hoped for: long tables keep their first rows
and say how many were left out, and when a card would grow past the size budget the
charts give up their drawing first (the last chart first), then the least important parts
are shortened or left out and the card says so (`limits.fit`, as for every renderer).

Charts are Teams' own `Chart.*` elements. They are Teams extensions that the Adaptive Card
1.5 schema does not know, so each carries a `fallback`: a `Table` of its numbers, which is
what clients that draw no charts show (Teams on iOS did not, per microsoft/AdaptiveCards
issue 9120). The chart's summary follows it on the card as plain text, so every client,
every screen reader and the card's text all carry the numbers. The card as sent validates
against the Teams SDK's card schema (microsoft/teams.ts `packages/cards/schema.json`,
which knows the charts); with each chart replaced by its fallback it validates against the
Adaptive Card 1.5 schema.

What the Teams adapter relies on:

- Every button is an `Action.Execute` whose `verb` is the `Action.action_id` and whose
  `data` is the action's payload. A button with a `Form` is an `Action.ShowCard` whose
  inner card holds one input per field (input `id` = the field's name) and an
  `Action.Execute` with the same verb and payload; Teams merges the inputs' values into
  `data` when the user submits.
- Verbs are the action ids as they are, repeats included: Teams does not ask for unique
  verbs, so there is no suffix to strip.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from adapters.platforms.limits import ESSENTIAL, Limits, Piece, fit, table_rows
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
from bot.reply import (
    Action,
    Chart,
    ChartKind,
    Fact,
    Field,
    Form,
    Metric,
    Outcome,
    Reply,
    Series,
    Table,
    Tone,
)

__all__ = [
    "CARD_CONTENT_TYPE",
    "card_attachment",
    "escape_markdown",
    "render_card",
    "render_text",
]

Element = dict[str, Any]

CARD_CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
# Teams renders Adaptive Cards up to 1.5, and `Action.Execute` needs `version` 1.5 there
# (msteams-docs: task-modules-and-cards/cards/Universal-actions-for-adaptive-cards/
# Work-with-Universal-Actions-for-Adaptive-Cards.md).
CARD_VERSION: Final = "1.5"

# Teams documents no limit on a card's actions, but its web and desktop clients show only
# the first six of a row of buttons (observed and reported in atc0005/go-teams-notify
# issue #161, "fixed display limit of 6 within web and desktop apps", with the workaround
# of several ActionSets of at most six). Cards with more buttons get exactly that.
MAX_ACTIONS_PER_ROW: Final = 6

# Message size. A bot's message may hold 100 KB, "calculated as UTF-16 encoding of the
# payload", and Microsoft advises keeping it within 80 KB; beyond the limit the connector
# answers 413 MessageSizeTooBig (msteams-docs, bots/how-to/format-your-bot-messages.md; an
# older revision said 40 KB). This bot only posts through the Bot Connector, so the stricter
# 28 KB of incoming webhooks and connectors does not bind it. Sizes here are counted as
# that page counts them, in UTF-16 bytes of the JSON as sent (`_size`). The activity around
# the card takes the envelope's share: ids and addresses, and the 300-character
# notification text.
MESSAGE_MAX_BYTES: Final = 80 * 1024
ENVELOPE_BYTES: Final = 10 * 1024
CARD_MAX_BYTES: Final = MESSAGE_MAX_BYTES - ENVELOPE_BYTES

# A notification shows a line or two; 300 characters, at most 12 characters each once
# escaped (a character outside the Basic Multilingual Plane is two `\uXXXX`), take at
# most 7.2 KB of the envelope's share above.
TEXT_MAX_CHARS: Final = 300
# Lengths Teams does not limit but a reader does. The heading and button titles follow
# Slack's header (150) and button text (75) limits, so both surfaces show the same words.
HEADING_MAX_CHARS: Final = 150
ACTION_TITLE_MAX_CHARS: Final = 75
LABEL_MAX_CHARS: Final = 100
VALUE_MAX_CHARS: Final = 200
DETAIL_MAX_CHARS: Final = 500
FACT_VALUE_MAX_CHARS: Final = 2000
TABLE_CELL_MAX_CHARS: Final = 200
TEXT_INPUT_MAX_CHARS: Final = 3000  # as in the Slack modal, so notes fit either surface
# A card is read on a phone as well: more rows than this belong in a report, not a chat.
TABLE_MAX_ROWS: Final = 25
# Metrics side by side: three columns still read on a phone.
METRICS_PER_ROW: Final = 3

# Table columns. Adaptive Cards split a table's width among its columns by weight (the
# column `width` as a number), and a word wider than its column is broken mid-word, so
# equal weights cut "Component" and account names in two at chat width. Each column's
# weight is its content's width in characters, as an HTML table's automatic layout does it:
# at least its longest word (and never below the floor), at most its longest cell (header
# included), both plus the cell's padding, sized for a card at chat width. That width is an
# estimate (Teams documents none): about 60 characters of body text, which is what equal
# weights leaving 9 characters to each column of a six-column table ("Silvercre|st") says.
TABLE_WIDTH_CHARS: Final = 60
CELL_PADDING_CHARS: Final = 2
COLUMN_MIN_CHARS: Final = 3

# Charts. Axis labels and legends share a drawing with the data: long ones are clipped
# (the fallback table and the summary keep the rest).
AXIS_LABEL_MAX_CHARS: Final = 30
LEGEND_MAX_CHARS: Final = 60
# Colours from the documented chart colour names (msteams-docs, "Charts in Adaptive Cards";
# the same list is the Teams SDK schema's colour pattern). Names only: Teams documents no
# hex values, so the choice goes by what the names say. Blue against marigold is the pair
# the colour-blind palettes lead with (Okabe and Ito's blue and orange): they differ in hue
# along the blue-yellow axis that red-green colour blindness keeps, and in lightness (dark
# against light), so they part even in greyscale. Light blue, third, differs from marigold
# in hue and from blue in lightness. Red and green are left out: they are the pair red-green
# blindness confuses, and they read as "bad" and "good" on a health card. Thresholds are
# drawn in `neutral` grey, so a reference line never looks like data. A chart with more
# series than colours is handed to the host's own categorical palette instead of repeating
# a colour (few series read at chat size anyway).
SERIES_COLORS: Final = ("categoricalBlue", "categoricalMarigold", "categoricalLightBlue")
THRESHOLD_COLOR: Final = "neutral"
COLOR_SET: Final = "categorical"
CARD_LIMITS: Final = Limits(max_size=CARD_MAX_BYTES, max_table_rows=TABLE_MAX_ROWS)

TONE_COLOR: Final[Mapping[Tone, str]] = {
    Tone.GOOD: "good",
    Tone.WARNING: "warning",
    Tone.BAD: "attention",
    Tone.NEUTRAL: "default",
}
# A reply that is not an answer shows its heading in a warning colour; which way a number
# moved is the trend's arrow, never a colour.
HEADING_COLOR: Final[Mapping[Outcome, str]] = {
    Outcome.ANSWER: "default",
    Outcome.PROBLEM: "warning",
    Outcome.FAILURE: "attention",
}
OMITTED: Final = "Some details were left out; the full answer is too long for one Teams card."


# --- text --------------------------------------------------------------------------------


_MARKDOWN_CHARS = re.compile(r"[\\*_]")
# A list item's marker: at the start of a line (Adaptive Cards also break lines at `\r`),
# followed by white space or the line's end.
_LIST_MARKER = re.compile(r"(?:^|(?<=[\r\n]))([ \t]*)(?:([-+])|(\d+)([.)]))(?=[ \t\r\n]|$)")
_FUNCTION = re.compile(r"(?<=\{)\{")


def escape_markdown(text: str) -> str:
    """Text as Teams shows it literally where a card reads markdown (TextBlocks, facts).

    Adaptive Cards read a CommonMark subset there: `**bold**`, `_italic_`, `- ` and `1. `
    lists and `[title](url)` links, and `{{DATE(…)}}` / `{{TIME(…)}}` functions. Account
    names, comments and respondents are data, so their backslashes, asterisks, underscores
    and line-leading list markers get CommonMark's backslash escape. A link is broken by
    escaping the `(` after `]` and a function by escaping its second `{`: a client that
    does not honour escapes (some mobile clients show the backslash) still sees no link and
    no date. HTML needs nothing: Adaptive Cards show it as text.
    """
    escaped = _MARKDOWN_CHARS.sub(lambda match: "\\" + match[0], text)
    escaped = _LIST_MARKER.sub(_escaped_marker, escaped)
    return _FUNCTION.sub(r"\\{", escaped.replace("](", "]\\("))


def _escaped_marker(match: re.Match[str]) -> str:
    """`- ` becomes `\\- ` and `1. ` becomes `1\\. `, as CommonMark escapes them."""
    indent, bullet, number, delimiter = match.groups()
    return f"{indent}\\{bullet}" if bullet else f"{indent}{number}\\{delimiter}"


def _size(node: object) -> int:
    """UTF-16 bytes of the JSON as it is sent: how Teams counts a message's size.

    The Bot Framework SDK writes the activity with Python's default `json.dumps` (msrest's
    `ClientRequest.add_content`): ASCII only, anything else as `\\uXXXX`, with a space after
    each separator. Two bytes per character of that is never less than the count of the
    same JSON unescaped, whichever of the two Teams counts.
    """
    return 2 * len(json.dumps(node))


def _largest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in [low, high] for which `fits(n)` holds, given it is monotone."""
    if high < low or not fits(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


# --- elements ----------------------------------------------------------------------------


def _text(text: str, **style: Any) -> Element:
    """A TextBlock that always wraps (Teams clips unwrapped text at the card's edge), whose
    text is shown as written, never read as markdown."""
    return {"type": "TextBlock", "text": escape_markdown(text), "wrap": True, **style}


def _note(text: str) -> Element:
    return _text(text, isSubtle=True, size="small")


def _heading(heading: str, outcome: Outcome = Outcome.ANSWER) -> Element | None:
    text = clip(one_line(heading), HEADING_MAX_CHARS)
    if not text:
        return None
    element = _text(text, size="large", weight="bolder", style="heading")
    if outcome is not Outcome.ANSWER:
        element["color"] = HEADING_COLOR[outcome]
    return element


def _metric_column(metric: Metric) -> Element:
    """Label, then the value in its tone's colour, the delta with its arrow, the detail."""
    color = TONE_COLOR[metric.tone]
    arrow = trend_arrow(metric.trend)
    items = [
        _text(clip(one_line(metric.label), LABEL_MAX_CHARS) or "—", isSubtle=True, size="small")
    ]
    value = clip(one_line(metric.value), VALUE_MAX_CHARS) or "—"
    if metric.delta:
        items.append(_text(value, size="large", weight="bolder", color=color, spacing="none"))
        delta = " ".join(p for p in (arrow, clip(one_line(metric.delta), VALUE_MAX_CHARS)) if p)
        items.append(_text(delta, size="small", spacing="none"))
    else:
        shown = " ".join(p for p in (value, arrow) if p)
        items.append(_text(shown, size="large", weight="bolder", color=color, spacing="none"))
    if metric.detail and metric.detail.strip():
        detail = clip(metric.detail.strip(), DETAIL_MAX_CHARS)
        items.append(_text(detail, isSubtle=True, size="small", spacing="none"))
    return {"type": "Column", "width": "stretch", "items": items}


def _metrics_row(metrics: Sequence[Metric]) -> Element:
    return {"type": "ColumnSet", "columns": [_metric_column(metric) for metric in metrics]}


def _fact_set(facts: Sequence[Fact]) -> Element:
    return {
        "type": "FactSet",
        "facts": [
            {
                "title": escape_markdown(clip(one_line(fact.label), LABEL_MAX_CHARS)),
                "value": escape_markdown(clip(fact.value.strip(), FACT_VALUE_MAX_CHARS) or "—"),
            }
            for fact in facts
        ],
    }


def _cell(text: str, *, header: bool = False) -> Element:
    block = _text(text or "—")
    if header:
        block["weight"] = "bolder"
    return {"type": "TableCell", "items": [block]}


def _width(text: str) -> int:
    """Columns of text a string takes: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _column_weights(rows: Sequence[Sequence[str]]) -> list[int]:
    """Each column's `width` weight for these rows (the header first), in characters.

    A column needs its longest word (a word is never broken when every column gets that)
    and would like its longest cell (then nothing wraps); both include the cell's padding.
    At the nominal chat width, columns get what they would like when that fits, what they
    need when not even that fits, and otherwise what they need plus a share of the width
    left, in proportion to how much more they would like. Wider cards scale it all up.
    """
    columns = max((len(row) for row in rows), default=0)
    need, like = [], []
    for i in range(columns):
        cells = [row[i] for row in rows if i < len(row)]
        word = max((_width(w) for cell in cells for w in cell.split()), default=0)
        longest = max((_width(cell) for cell in cells), default=0)
        need.append(max(word, COLUMN_MIN_CHARS) + CELL_PADDING_CHARS)
        like.append(max(longest, word, COLUMN_MIN_CHARS) + CELL_PADDING_CHARS)
    spare, wanted = TABLE_WIDTH_CHARS - sum(need), sum(like) - sum(need)
    if spare >= wanted:
        return like
    if spare <= 0:
        return need
    # Rounding down keeps the total within the width, so no column falls below its need.
    return [n + (w - n) * spare // wanted for n, w in zip(need, like, strict=True)]


def _table_element(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Element:
    """A `Table` whose columns are sized to their content and whose numbers align right.

    `firstRowAsHeader` is left out: the Adaptive Card 1.5 schema spells it so, the Teams
    SDK's schema and the JavaScript renderer `firstRowAsHeaders`, each schema refuses the
    other spelling, and both default to true, which is what a table here wants.
    """
    shown_header = [clip(one_line(c), TABLE_CELL_MAX_CHARS) for c in header]
    shown_rows = [
        [clip(one_line(c), TABLE_CELL_MAX_CHARS) for c in row[: len(header)]] for row in rows
    ]
    weights = _column_weights([shown_header, *shown_rows])
    columns: list[Element] = []
    for i, weight in enumerate(weights):
        column: Element = {"width": weight}
        if numeric_column([row[i] for row in shown_rows if i < len(row)]):
            column["horizontalCellContentAlignment"] = "right"
        columns.append(column)
    return {
        "type": "Table",
        "columns": columns,
        "rows": [
            {"type": "TableRow", "cells": [_cell(c, header=True) for c in shown_header]},
            *({"type": "TableRow", "cells": [_cell(c) for c in row]} for row in shown_rows),
        ],
    }


def _table(table: Table, rows: int) -> list[Element]:
    """The title, the table with its header and first `rows` rows, and a count of the rest."""
    elements: list[Element] = []
    title = clip(one_line(table.title or ""), LABEL_MAX_CHARS)
    if title:
        elements.append(_text(title, weight="bolder"))
    elements.append(_table_element(table.columns, table.rows[:rows]))
    dropped = len(table.rows) - rows
    if dropped:
        elements.append(_note(f"{ELLIPSIS} {dropped} more rows not shown"))
    return elements


# --- charts ------------------------------------------------------------------------------


def _chart_title(chart: Chart) -> list[Element]:
    title = clip(one_line(chart.title), LABEL_MAX_CHARS)
    return [_text(title, weight="bolder")] if title else []


def _summary(chart: Chart) -> Element:
    """The chart's numbers in words, right under it: plain text, not subtle, since for some
    readers (screen readers, clients that draw no charts) it is the chart."""
    return _text(chart.summary.strip(), spacing="small")


def _chart_text(chart: Chart) -> list[Element]:
    """A chart as text, as every other surface has it: its title, a sparkline, its numbers.

    What a card shows when its drawing does not fit.
    """
    elements = _chart_title(chart)
    _, *drawing, _ = chart_lines(chart)
    if drawing:
        # Monospace keeps the sparkline's bars evenly spaced.
        elements.append(_text("\n".join(drawing), fontType="monospace", spacing="none"))
    elements.append(_summary(chart))
    return elements


def _value(value: float, unit: str) -> str:
    """A value as the fallback table shows it: whole numbers plain, others to a few places,
    then the unit (a word such as a currency code after a space, a sign such as % as given)."""
    value += 0.0  # no "-0"
    if value == int(value):
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}" if unit[:1].isalpha() else f"{text}{unit}"


def _legend(name: str) -> str:
    return clip(one_line(name), LEGEND_MAX_CHARS) or "—"


def _colors(chart: Chart, drawn: Sequence[Series]) -> list[str | None]:
    """Each drawn series' colour: the palette in order for the data, grey for thresholds,
    or no colour at all (the host's palette) when the data has more series than colours."""
    data = len(chart.series)
    if data > len(SERIES_COLORS):
        return [None if i < data else THRESHOLD_COLOR for i in range(len(drawn))]
    return [SERIES_COLORS[i] if i < data else THRESHOLD_COLOR for i in range(len(drawn))]


def _fallback(chart: Chart) -> Element:
    """What a client that draws no charts shows instead: the numbers as a table, categories
    down and series across (a pie adds each slice's share), and the thresholds below it.

    Like any table on a card it shows at most `TABLE_MAX_ROWS` rows; a line or area runs
    oldest to newest, so it keeps the latest points, other charts their first ones.
    """
    unit = chart.unit
    header = [chart.x_label or "Category", *(s.name for s in chart.series)]
    rows = [
        [category, *(_value(s.values[i], unit) for s in chart.series)]
        for i, category in enumerate(chart.categories)
    ]
    if chart.kind is ChartKind.PIE:
        total = sum(chart.series[0].values)
        header.append("Share")
        for row, value in zip(rows, chart.series[0].values, strict=True):
            row.append(f"{value / total:.0%}")
    notes: list[Element] = []
    dropped = len(rows) - table_rows(len(rows), CARD_LIMITS)
    if dropped and chart.kind in (ChartKind.LINE, ChartKind.AREA):
        rows = rows[dropped:]
        notes.append(_note(f"{ELLIPSIS} {dropped} earlier points not shown"))
    elif dropped:
        rows = rows[:-dropped]
        notes.append(_note(f"{ELLIPSIS} {dropped} more rows not shown"))
    if chart.thresholds:
        levels = "; ".join(
            f"{one_line(t.label)}: {_value(t.value, unit)}" for t in chart.thresholds
        )
        notes.append(_note(f"Reference lines: {levels}"))
    table = _table_element(header, rows)
    if not notes:
        return table
    return {"type": "Container", "items": [table, *notes]}


def _series_points(labels: Sequence[str], series: Series) -> list[Element]:
    return [{"x": x, "y": y} for x, y in zip(labels, series.values, strict=True)]


def _chart_element(chart: Chart) -> Element:
    """The chart as a Teams `Chart.*` element, with its table as the fallback.

    Line and area charts are both `Chart.Line`: Teams has no area chart, and a line shows
    the same values. Bars with one drawn series are a `Chart.VerticalBar`; with several
    (more series, or thresholds, which `drawn_series` turns into flat series because no
    Teams chart draws a reference line) a `Chart.VerticalBar.Grouped`. A pie is a
    `Chart.Pie`. Only properties the Teams SDK's schema knows are sent: it refuses any
    other (`showLegend`, `yMin` and the like are newer and not confirmed in Teams), and
    the chart's own `title` is left out because the card shows the title above it.
    """
    drawn = drawn_series(chart)
    # Distinct: a chart keys its points by label, so two alike would be drawn as one.
    labels = distinct_labels(chart.categories, AXIS_LABEL_MAX_CHARS, "—")
    colors = _colors(chart, drawn)
    element: Element
    if chart.kind is ChartKind.PIE:
        (series,) = chart.series
        slices = len(labels) <= len(SERIES_COLORS)
        element = {
            "type": "Chart.Pie",
            "colorSet": COLOR_SET,
            "data": [
                {"legend": x, "value": y, **({"color": SERIES_COLORS[i]} if slices else {})}
                for i, (x, y) in enumerate(zip(labels, series.values, strict=True))
            ],
        }
    elif chart.kind is ChartKind.BAR and len(drawn) == 1:
        (series,) = drawn
        element = {
            "type": "Chart.VerticalBar",
            "colorSet": COLOR_SET,
            "yAxisTitle": _legend(chart.y_label or series.name),
            "data": _series_points(labels, series),
        }
        if colors[0]:
            element["color"] = colors[0]
    else:
        lines = chart.kind in (ChartKind.LINE, ChartKind.AREA)
        element = {
            "type": "Chart.Line" if lines else "Chart.VerticalBar.Grouped",
            "colorSet": COLOR_SET,
            "data": [
                {
                    "legend": _legend(series.name),
                    "values": _series_points(labels, series),
                    **({"color": color} if color else {}),
                }
                for series, color in zip(drawn, colors, strict=True)
            ],
        }
        if chart.y_label:
            element["yAxisTitle"] = _legend(chart.y_label)
    if chart.x_label and chart.kind is not ChartKind.PIE:
        element["xAxisTitle"] = _legend(chart.x_label)
    element["fallback"] = _fallback(chart)
    return element


def _chart_drawn(chart: Chart) -> list[Element] | None:
    """The title, the drawing (its table where charts are not drawn), the summary; None
    for a chart with no categories, which has nothing to draw."""
    if not chart.categories:
        return None
    return [*_chart_title(chart), _chart_element(chart), _summary(chart)]


def _input(field: Field) -> Element:
    element: Element
    if field.choices:
        element = {
            "type": "Input.ChoiceSet",
            "choices": [
                {"title": one_line(choice.label) or choice.value, "value": choice.value}
                for choice in field.choices
            ],
            "wrap": True,
        }
    else:
        element = {
            "type": "Input.Text",
            "isMultiline": field.multiline,
            "maxLength": TEXT_INPUT_MAX_CHARS,
        }
    label = clip(one_line(field.label), LABEL_MAX_CHARS) or field.name
    element.update(id=field.name, label=label, isRequired=not field.optional)
    if not field.optional:
        element["errorMessage"] = f"{label} is required"
    if field.initial is not None:
        element["value"] = field.initial
    return element


def _execute(action: Action, title: str) -> Element:
    if not action.action_id:
        raise ValueError(f"action {action.label!r} has an empty action id")
    element: Element = {
        "type": "Action.Execute",
        "title": clip(one_line(title), ACTION_TITLE_MAX_CHARS) or ELLIPSIS,
        "verb": action.action_id,
        "data": dict(action.payload),
    }
    if action.primary:
        element["style"] = "positive"
    return element


def _form_card(action: Action, form: Form) -> Element:
    """The card a ShowCard opens: the form's title, its inputs, and the submit button."""
    body: list[Element] = []
    title = clip(one_line(form.title), HEADING_MAX_CHARS)
    if title:
        body.append(_text(title, weight="bolder"))
    body.extend(_input(field) for field in form.fields)
    submit = _execute(action, form.submit)
    submit["style"] = "positive"
    return {"type": "AdaptiveCard", "body": body, "actions": [submit]}


def _action(action: Action) -> Element:
    if action.form is None:
        return _execute(action, action.label)
    element: Element = {
        "type": "Action.ShowCard",
        "title": clip(one_line(action.label), ACTION_TITLE_MAX_CHARS) or ELLIPSIS,
        "card": _form_card(action, action.form),
    }
    if action.primary:
        element["style"] = "positive"
    return element


# --- a reply as parts, and fitting them into one card ------------------------------------

# What survives first when a card must shrink; reading order is kept regardless.
_FACTS, _METRICS, _PARAGRAPHS, _TABLES, _CHARTS, _NOTES = range(ESSENTIAL + 1, ESSENTIAL + 7)


def _part(
    elements: Sequence[Element],
    rank: int,
    shrink: Callable[[int], Piece[Element] | None] | None = None,
) -> Piece[Element]:
    """Consecutive body elements that stay or go together (see `limits.Piece`)."""
    return Piece(tuple(elements), _elements_size(elements), rank, shrink)


def _elements_size(elements: Sequence[Element]) -> int:
    return sum(_size(element) + 4 for element in elements)  # +4: the ", " between them


def _paragraph_part(paragraph: str) -> Piece[Element]:
    text = paragraph.strip()

    def shrink(room: int) -> Piece[Element] | None:
        # Less than a sentence is no help; leave the paragraph out instead.
        n = _largest(80, len(text) - 1, lambda n: _elements_size([_text(clip(text, n))]) <= room)
        return None if n is None else _part((_text(clip(text, n)),), _PARAGRAPHS)

    return _part((_text(text),), _PARAGRAPHS, shrink)


def _facts_part(facts: Sequence[Fact]) -> Piece[Element]:
    def shrink(room: int) -> Piece[Element] | None:
        n = _largest(1, len(facts) - 1, lambda n: _elements_size([_fact_set(facts[:n])]) <= room)
        return None if n is None else _part((_fact_set(facts[:n]),), _FACTS)

    return _part((_fact_set(facts),), _FACTS, shrink)


def _table_part(table: Table) -> Piece[Element]:
    shown = table_rows(len(table.rows), CARD_LIMITS)

    def shrink(room: int) -> Piece[Element] | None:
        n = _largest(1, shown - 1, lambda n: _elements_size(_table(table, n)) <= room)
        return None if n is None else _part(_table(table, n), _TABLES)

    return _part(_table(table, shown), _TABLES, shrink)


@dataclass(frozen=True, slots=True)
class _Parts:
    """The reply's body in reading order: heading, metrics, paragraphs, facts, tables,
    charts, notes (the order of the Slack renderer; buttons come after). Each chart comes
    drawn (None when it has nothing to draw) and as text, for the card to choose."""

    before: list[Piece[Element]]
    drawn: list[Piece[Element] | None]
    texts: list[Piece[Element]]
    after: list[Piece[Element]]

    def with_drawn(self, count: int) -> list[Piece[Element]]:
        """All the parts, with the first `count` charts drawn and the others as text."""
        charts = [
            drawn if i < count and drawn is not None else text
            for i, (drawn, text) in enumerate(zip(self.drawn, self.texts, strict=True))
        ]
        return [*self.before, *charts, *self.after]


def _parts(reply: Reply) -> _Parts:
    before: list[Piece[Element]] = []
    heading = _heading(reply.heading, reply.outcome)
    if heading:
        before.append(_part((heading,), ESSENTIAL))
    for i, row in enumerate(chunked(reply.metrics, METRICS_PER_ROW)):
        before.append(_part((_metrics_row(row),), ESSENTIAL if i == 0 else _METRICS))
    before.extend(_paragraph_part(p) for p in reply.paragraphs if p.strip())
    if reply.facts:
        before.append(_facts_part(reply.facts))
    before.extend(_table_part(table) for table in reply.tables if table.columns)
    drawn: list[Piece[Element] | None] = []
    for chart in reply.charts:
        elements = _chart_drawn(chart)
        drawn.append(None if elements is None else _part(elements, _CHARTS))
    texts = [_part(_chart_text(chart), _CHARTS) for chart in reply.charts]
    after = [_part((_note(note.strip()),), _NOTES) for note in reply.notes if note.strip()]
    return _Parts(before, drawn, texts, after)


def _card(body: list[Element], actions: list[Element], fallback: str) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "$schema": CARD_SCHEMA,
        "fallbackText": fallback,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def _layout(actions: Sequence[Action]) -> tuple[list[Element], list[Element]]:
    """The buttons as the card's own actions when they fit one row, else as ActionSets of
    at most six at the end of the body (so they keep their order)."""
    rendered = [_action(action) for action in actions]
    if len(rendered) <= MAX_ACTIONS_PER_ROW:
        return rendered, []
    sets = [
        {"type": "ActionSet", "actions": list(chunk)}
        for chunk in chunked(rendered, MAX_ACTIONS_PER_ROW)
    ]
    return [], sets


def _fit(reply: Reply, actions: Sequence[Action], *, cut: bool) -> dict[str, Any] | None:
    """The card within `CARD_LIMITS` (`limits.fit`), or None if its essential parts alone
    do not fit.

    When everything fits (and nothing was `cut` before), everything is kept, with every
    chart drawn that fits: charts are the first to give up room, the last one first, by
    becoming text (their summary stays). When even that does not fit, a note says that
    details were left out, the essential parts and the buttons are kept, and the other
    parts (charts as text) are taken in order of importance while they fit, each
    shortened to the room left when it has a shorter version.
    """
    top, action_sets = _layout(actions)
    fallback = render_text(reply)
    overhead = _size(_card([], top, fallback)) + _elements_size(action_sets)
    parts = _parts(reply)
    if not cut:
        for count in range(len(reply.charts), -1, -1):
            pieces = parts.with_drawn(count)
            if overhead + sum(piece.size for piece in pieces) <= CARD_MAX_BYTES:
                body = [element for piece in pieces for element in piece.content]
                return _card([*body, *action_sets], top, fallback)
    note = _note(OMITTED)
    fitted = fit(
        parts.with_drawn(0),
        CARD_LIMITS,
        note=_part((note,), ESSENTIAL),
        overhead=overhead,
        left_out=True,
    )
    if fitted is None:
        return None
    return _card([*fitted.content, note, *action_sets], top, fallback)


# --- the API -----------------------------------------------------------------------------


def render_card(reply: Reply) -> dict[str, Any]:
    """A reply as an Adaptive Card 1.5 for a Teams message, within `CARD_MAX_BYTES`.

    Raises ValueError only for an action with an empty action id: a button that can never
    be routed is a bug for the handler to fix, not something to hide.
    """
    actions = list(reply.actions)
    card = _fit(reply, actions, cut=False)
    while card is None:
        # Only buttons with enormous payloads get here: the last ones go, and the note says
        # that something was left out.
        actions.pop()
        card = _fit(reply, actions, cut=True)
    return card


def render_text(reply: Reply) -> str:
    """The heading and the first line of content, for notifications and the activity's text.

    Plain words, not the whole reply: a notification shows a line or two, and the card
    carries the rest.
    """
    lines = [one_line(reply.heading)]
    if reply.metrics:
        metric = reply.metrics[0]
        parts = [f"{one_line(metric.label)}: {one_line(metric.value)}"]
        if metric.delta:
            parts.append(f"({one_line(metric.delta)})")
        lines.append(" ".join(parts))
    elif reply.paragraphs:
        lines.append(one_line(reply.paragraphs[0]))
    text = "\n".join(line for line in lines if line) or "Closeloop"
    return clip(text, TEXT_MAX_CHARS)


def card_attachment(reply: Reply) -> dict[str, Any]:
    """The card as a Bot Framework attachment, ready for an activity's `attachments`."""
    return {"contentType": CARD_CONTENT_TYPE, "content": render_card(reply)}
