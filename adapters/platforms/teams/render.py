"""Adaptive Card rendering of a `Reply`: the only code that knows what a Teams card looks like.

Handlers answer with a platform-neutral `Reply`; this module turns it into an Adaptive
Card 1.5 (the highest version Teams renders, and the first in which Teams runs
`Action.Execute`, per msteams-docs "Work with Universal Actions for Adaptive Cards") plus a
plain-text summary for notifications. It builds plain dicts, so it needs no Bot Framework
package and its output can be checked as data against the official schema
(`tests/conformance/adaptive-card-1.5.0.json`).

Teams rejects a whole message that is too large and shows only so many buttons in a row,
so those limits are honoured here rather than hoped for: long tables keep their first rows
and say how many were left out, and when a card would grow past the size budget the least
important parts are shortened or left out and the card says so (`limits.fit`, as for
every renderer).

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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from adapters.platforms.limits import ESSENTIAL, Limits, Piece, fit, table_rows
from adapters.platforms.text import ELLIPSIS, chunked, clip, one_line, trend_arrow
from bot.charts import chart_lines
from bot.reply import Action, Chart, Fact, Field, Form, Metric, Outcome, Reply, Table, Tone

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

# Message size. The strictest limit Microsoft documents for posting to Teams is "about
# 28 KB" for a whole message, all elements included ("Message size limits", Microsoft
# Teams connector, https://learn.microsoft.com/connectors/teams/; also UiPath's Teams
# activities: "the message size limit is about 28kb ... Request Entity too large"). Bot
# messages are allowed more: "Format your bot messages" (learn.microsoft.com/microsoftteams/
# platform/bots/how-to/format-your-bot-messages) first said 40 KB, now 100 KB counted in
# UTF-16 with 80 KB recommended, answered with 413 MessageSizeTooBig beyond it. Keeping the
# whole activity within 28 KB of UTF-8 JSON (at most 56 KB in UTF-16) satisfies all of
# them; the card gets that less room for the activity's envelope and fallback text.
MESSAGE_MAX_BYTES: Final = 28 * 1024
ENVELOPE_BYTES: Final = 2 * 1024
CARD_MAX_BYTES: Final = MESSAGE_MAX_BYTES - ENVELOPE_BYTES

# A notification shows a line or two; 300 characters of at most 4 UTF-8 bytes each stay
# well inside the envelope's share above.
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
    """Bytes of compact UTF-8 JSON: how the card's share of a message is counted."""
    return len(json.dumps(node, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


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
    block = _text(clip(one_line(text), TABLE_CELL_MAX_CHARS))
    if header:
        block["weight"] = "bolder"
    return {"type": "TableCell", "items": [block]}


def _table(table: Table, rows: int) -> list[Element]:
    """The title, the table with its header and first `rows` rows, and a count of the rest."""
    elements: list[Element] = []
    title = clip(one_line(table.title or ""), LABEL_MAX_CHARS)
    if title:
        elements.append(_text(title, weight="bolder"))
    elements.append(
        {
            "type": "Table",
            "columns": [{"width": 1} for _ in table.columns],
            "firstRowAsHeader": True,
            "rows": [
                {"type": "TableRow", "cells": [_cell(c, header=True) for c in table.columns]},
                *(
                    {"type": "TableRow", "cells": [_cell(cell) for cell in row]}
                    for row in table.rows[:rows]
                ),
            ],
        }
    )
    dropped = len(table.rows) - rows
    if dropped:
        elements.append(_note(f"{ELLIPSIS} {dropped} more rows not shown"))
    return elements


def _chart(chart: Chart) -> list[Element]:
    """A chart as text, like every other surface: its title, a sparkline, its numbers.

    Teams could show an image, but only from a URL it can fetch; text needs no image host.
    """
    elements: list[Element] = []
    title, *drawing, summary = chart_lines(chart)
    title = clip(one_line(title), LABEL_MAX_CHARS)
    if title:
        elements.append(_text(title, weight="bolder"))
    if drawing:
        # Monospace keeps the sparkline's bars evenly spaced.
        elements.append(_text("\n".join(drawing), fontType="monospace", spacing="none"))
    elements.append(_note(summary.strip()))
    return elements


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
    return sum(_size(element) + 1 for element in elements)  # +1: the comma between them


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


def _parts(reply: Reply) -> list[Piece[Element]]:
    """The reply's body in reading order: heading, metrics, paragraphs, facts, tables,
    charts, notes (the order of the Slack renderer; buttons come after)."""
    parts: list[Piece[Element]] = []
    heading = _heading(reply.heading, reply.outcome)
    if heading:
        parts.append(_part((heading,), ESSENTIAL))
    for i, row in enumerate(chunked(reply.metrics, METRICS_PER_ROW)):
        parts.append(_part((_metrics_row(row),), ESSENTIAL if i == 0 else _METRICS))
    parts.extend(_paragraph_part(p) for p in reply.paragraphs if p.strip())
    if reply.facts:
        parts.append(_facts_part(reply.facts))
    parts.extend(_table_part(table) for table in reply.tables if table.columns)
    parts.extend(_part(_chart(chart), _CHARTS) for chart in reply.charts)
    parts.extend(_part((_note(note.strip()),), _NOTES) for note in reply.notes if note.strip())
    return parts


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

    When everything fits (and nothing was `cut` before), everything is kept. Otherwise a
    note says that details were left out, the essential parts and the buttons are kept,
    and the other parts are taken in order of importance while they fit, each shortened
    to the room left when it has a shorter version.
    """
    top, action_sets = _layout(actions)
    fallback = render_text(reply)
    note = _note(OMITTED)
    fitted = fit(
        _parts(reply),
        CARD_LIMITS,
        note=_part((note,), ESSENTIAL),
        overhead=_size(_card([], top, fallback)) + _elements_size(action_sets),
        left_out=cut,
    )
    if fitted is None:
        return None
    body = [*fitted.content, note] if fitted.cut else list(fitted.content)
    return _card([*body, *action_sets], top, fallback)


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
