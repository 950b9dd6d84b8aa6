"""HTML rendering of a `Reply`, for the playground: the only code that knows its markup.

The playground shows the very `Reply` that Slack and Teams get, so a person without a chat
workspace can see what the bot answers. Everything in a reply may come from customers
(account names from a CSV file, comments from a survey tool), so every piece of text is
escaped here, once, on its way into markup: nothing a customer wrote can become an element,
an attribute or a script. The only markup made from text is the code span of a command
(`` `health acme` ``), built after escaping.

Charts are drawn in the browser by plotly.js. This module turns a `Chart` into the figure
plotly.js takes (`plotly_figure`), carried in a `data-figure` attribute, with the chart's
text summary under it as a caption, always: the numbers never live in the drawing only.
Text that plotly.js draws goes through its own small markup language (`<b>`, `<br>`,
`<a href>`, entities), so it is escaped for that too (`plotly_text`).

Buttons carry their action id and payload as JSON in `data-action`; the page sends that
back to the router, which decides what a press does (`bot.clicks`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from adapters.platforms.text import TREND_ARROW, numeric_column
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
    Table,
    Tone,
    Visibility,
)

__all__ = [
    "OKABE_ITO",
    "action_data",
    "plotly_figure",
    "plotly_text",
    "render_form",
    "render_replies",
    "render_reply",
]

OKABE_ITO: Final = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""The Okabe–Ito palette: eight colours that people with the common forms of colour-vision
deficiency still tell apart (M. Okabe and K. Ito, "Color Universal Design (CUD): how to
make figures and presentations that are friendly to colorblind people", J*FLY, 2002/2008,
https://jfly.uni-koeln.de/color/). Ordered for white backgrounds: the yellow, hard to see
on white, comes late."""

SERIES_DASHES: Final = ("solid", "dot", "dashdot", "longdashdot")
"""Line styles by series, so lines differ by more than colour (and in print). "dash" is
kept for thresholds."""
THRESHOLD_COLOUR: Final = "#4B5563"
THRESHOLD_DASH: Final = "dash"

TONE_WORD: Final[Mapping[Tone, str]] = {
    Tone.GOOD: "good",
    Tone.WARNING: "warning",
    Tone.BAD: "bad",
    Tone.NEUTRAL: "",
}
"""A tone said in words as well as colour, for screen readers and colour-blind readers."""
TREND_WORD: Final = {"up": "up", "down": "down", "flat": "flat"}
OUTCOME_MARK: Final[Mapping[Outcome, str]] = {
    Outcome.ANSWER: "",
    Outcome.PROBLEM: "⚠",
    Outcome.FAILURE: "⚠",
}
AUDIENCE: Final[Mapping[Visibility, str]] = {
    Visibility.PRIVATE: "Only you see this",
    Visibility.CHANNEL: "Everyone in the conversation sees this",
}

_CODE = re.compile(r"`([^`\n]+)`")


def _text(value: str) -> str:
    """Text as HTML shows it literally: every `<`, `>`, `&` and quote escaped."""
    return html.escape(value, quote=True)


def _inline(value: str) -> str:
    """Escaped text, with `code` spans (commands a reply suggests) as <code>."""
    return _CODE.sub(r"<code>\1</code>", _text(value))


def _attribute(value: str) -> str:
    return f'"{html.escape(value, quote=True)}"'


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def action_data(action_id: str, payload: Mapping[str, str]) -> str:
    """What a button or form carries for the router: its action id and payload, as JSON."""
    return _json({"action_id": action_id, "payload": dict(payload)})


# --- the parts of a reply --------------------------------------------------------------------


def _heading(reply: Reply) -> str:
    mark = OUTCOME_MARK[reply.outcome]
    shown = f'<span class="mark" aria-hidden="true">{mark}</span> ' if mark else ""
    return f"<h2>{shown}{_inline(reply.heading)}</h2>"


def _metric(metric: Metric) -> str:
    tone = TONE_WORD[metric.tone]
    parts = [
        f'<span class="label">{_inline(metric.label)}</span>',
        f'<span class="value">{_text(metric.value)}</span>',
    ]
    if tone:
        parts.append(f'<span class="visually-hidden">({tone})</span>')
    if metric.trend is not None or metric.delta:
        arrow = ""
        if metric.trend is not None:
            word = TREND_WORD[metric.trend.value]
            arrow = (
                f'<span class="arrow" role="img" aria-label="{word}">'
                f"{TREND_ARROW[metric.trend]}</span> "
            )
        trend = f" trend-{metric.trend.value}" if metric.trend is not None else ""
        parts.append(f'<span class="delta{trend}">{arrow}{_text(metric.delta or "")}</span>')
    if metric.detail:
        parts.append(f'<span class="detail">{_inline(metric.detail)}</span>')
    return f'<li class="metric tone-{metric.tone.value}">{"".join(parts)}</li>'


def _metrics(metrics: Sequence[Metric]) -> str:
    if not metrics:
        return ""
    return f'<ul class="metrics">{"".join(_metric(m) for m in metrics)}</ul>'


def _paragraphs(paragraphs: Sequence[str]) -> str:
    return "".join(f"<p>{_inline(p)}</p>" for p in paragraphs)


def _facts(facts: Sequence[Fact]) -> str:
    if not facts:
        return ""
    rows = "".join(
        f'<div class="fact"><dt>{_inline(f.label)}</dt><dd>{_inline(f.value)}</dd></div>'
        for f in facts
    )
    return f'<dl class="facts">{rows}</dl>'


def numeric_columns(table: Table) -> tuple[bool, ...]:
    """Which columns hold numbers, to right-align (`numeric_column`)."""
    return tuple(
        numeric_column(row[index] for row in table.rows) for index in range(len(table.columns))
    )


def _table(table: Table) -> str:
    numeric = numeric_columns(table)

    def cls(index: int) -> str:
        return ' class="num"' if numeric[index] else ""

    caption = f"<caption>{_inline(table.title)}</caption>" if table.title else ""
    head = "".join(
        f'<th scope="col"{cls(i)}>{_text(column)}</th>' for i, column in enumerate(table.columns)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{_inline(cell)}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in table.rows
    )
    return (
        f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _chart(chart: Chart) -> str:
    figure = _attribute(_json(plotly_figure(chart)))
    return (
        f'<figure class="chart chart-{chart.kind.value}">'
        f'<div class="plot" data-figure={figure} role="img" '
        f"aria-label={_attribute(chart.title)}></div>"
        f'<figcaption class="summary">{_inline(chart.summary)}</figcaption>'
        "</figure>"
    )


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return f'<ul class="notes">{"".join(f"<li>{_inline(n)}</li>" for n in notes)}</ul>'


def _button(action: Action) -> str:
    kind = "primary" if action.primary else "secondary"
    data = _attribute(action_data(action.action_id, action.payload))
    asks = ' aria-haspopup="dialog"' if action.form is not None else ""
    return (
        f'<button type="button" class="{kind}" data-action={data}{asks}>'
        f"{_text(action.label)}</button>"
    )


def _actions(actions: Sequence[Action]) -> str:
    if not actions:
        return ""
    return f'<div class="actions">{"".join(_button(a) for a in actions)}</div>'


def render_reply(reply: Reply, *, alert: int | None = None) -> str:
    """One reply as an `<article>`: heading, metrics, paragraphs, facts, tables, charts,
    notes, buttons, and who sees it.

    `alert` is the follow-up id when the reply is that follow-up's survey alert: the page
    replaces every copy of the alert when it changes, as the dispatcher edits the posted
    message in chat.
    """
    attributes = [
        f'class="reply outcome-{reply.outcome.value} visibility-{reply.visibility.value}"',
        f'data-visibility="{reply.visibility.value}"',
    ]
    if alert is not None:
        attributes.append(f'data-alert="{alert}"')
    body = "".join(
        (
            _heading(reply),
            _metrics(reply.metrics),
            _paragraphs(reply.paragraphs),
            _facts(reply.facts),
            "".join(_table(t) for t in reply.tables),
            "".join(_chart(c) for c in reply.charts),
            _notes(reply.notes),
            _actions(reply.actions),
        )
    )
    audience = f'<footer class="audience">{AUDIENCE[reply.visibility]}</footer>'
    return f"<article {' '.join(attributes)}>{body}{audience}</article>"


def render_replies(replies: Iterable[Reply], *, title: str) -> str:
    """Several replies shown as one screen (App Home's sections)."""
    sections = "".join(render_reply(reply) for reply in replies)
    return (
        f'<section class="screen"><h2 class="screen-title">{_text(title)}</h2>{sections}</section>'
    )


# --- forms -----------------------------------------------------------------------------------


def _input(field: Field, index: int) -> str:
    name = _attribute(field.name)
    ident = f"field-{index}-{re.sub(r'[^A-Za-z0-9_-]', '', field.name)}"
    required = "" if field.optional else " required"
    label = _text(field.label) + (
        "" if not field.optional else ' <span class="optional">(optional)</span>'
    )
    if field.choices:
        options = ['<option value="">Choose…</option>'] + [
            f"<option value={_attribute(choice.value)}"
            f"{' selected' if choice.value == field.initial else ''}>{_text(choice.label)}</option>"
            for choice in field.choices
        ]
        control = f'<select id="{ident}" name={name}{required}>{"".join(options)}</select>'
    elif field.multiline:
        control = (
            f'<textarea id="{ident}" name={name} rows="3"{required}>'
            f"{_text(field.initial or '')}</textarea>"
        )
    else:
        value = f" value={_attribute(field.initial)}" if field.initial else ""
        control = f'<input id="{ident}" name={name} type="text"{value}{required}>'
    return f'<div class="field"><label for="{ident}">{label}</label>{control}</div>'


def render_form(form: Form, action_id: str, payload: Mapping[str, str]) -> str:
    """The form a button asks before it acts; what is entered goes back merged into the
    button's payload (`Router.submit`)."""
    fields = "".join(_input(field, i) for i, field in enumerate(form.fields))
    data = _attribute(action_data(action_id, payload))
    return (
        f'<form class="ask" data-action={data}>'
        f"<h3>{_text(form.title)}</h3>{fields}"
        f'<div class="actions"><button type="submit" class="primary">{_text(form.submit)}</button>'
        '<button type="button" class="secondary" data-cancel>Cancel</button></div>'
        "</form>"
    )


# --- charts ----------------------------------------------------------------------------------


def plotly_text(value: str) -> str:
    """Text as plotly.js draws it literally.

    plotly.js reads `<br>`, `<b>`, `<a href=…>` and HTML entities in every label it draws
    (titles, ticks, legend, hover), and decodes `&lt;`, `&gt;` and `&amp;` back to the
    characters. Escaping those three shows a customer's text as written and never as
    markup or a link.
    """
    return html.escape(value, quote=False)


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _suffix(chart: Chart) -> str:
    """The unit after each tick's number (`%` as is, a word such as `USD` after a space),
    unless the axis title already names it."""
    unit = chart.unit
    if not unit or unit in (chart.y_label or ""):
        return ""
    return plotly_text(f" {unit}" if unit[:1].isalpha() else unit)


def _series_traces(chart: Chart, categories: list[str]) -> list[dict[str, Any]]:
    traces = []
    for index, series in enumerate(chart.series):
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        trace: dict[str, Any] = {
            "name": plotly_text(series.name),
            "x": categories,
            "y": list(series.values),
        }
        if chart.kind is ChartKind.BAR:
            trace |= {"type": "bar", "marker": {"color": colour}}
        else:
            dash = SERIES_DASHES[index % len(SERIES_DASHES)]
            trace |= {
                "type": "scatter",
                "mode": "lines+markers" if chart.kind is ChartKind.LINE else "lines",
                "line": {"color": colour, "width": 2.5, "dash": dash},
                "marker": {"size": 6},
            }
            if chart.kind is ChartKind.AREA:
                trace |= {"fill": "tozeroy", "fillcolor": _rgba(colour, 0.18)}
        traces.append(trace)
    return traces


def _thresholds(chart: Chart) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each threshold as a dashed flat line across the plot, labelled at its right end."""
    shapes = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": threshold.value,
            "y1": threshold.value,
            "line": {"color": THRESHOLD_COLOUR, "width": 1.5, "dash": THRESHOLD_DASH},
        }
        for threshold in chart.thresholds
    ]
    labels = [
        {
            "xref": "paper",
            "x": 1,
            "xanchor": "right",
            "yref": "y",
            "y": threshold.value,
            "yanchor": "bottom",
            "text": plotly_text(threshold.label),
            "showarrow": False,
            "font": {"size": 11, "color": THRESHOLD_COLOUR},
        }
        for threshold in chart.thresholds
    ]
    return shapes, labels


def plotly_figure(chart: Chart) -> dict[str, Any]:
    """The chart as plotly.js draws it: `{"data": traces, "layout": …, "config": …}`.

    A line, bar or area per series over the categories (in the Okabe–Ito colours, lines
    also in distinct styles), a pie's slices from its one series, and each threshold as a
    dashed flat line with its label.
    """
    categories = [plotly_text(category) for category in chart.categories]
    layout: dict[str, Any] = {
        "title": {"text": plotly_text(chart.title), "x": 0, "xanchor": "left"},
        "height": 300,
        "margin": {"l": 56, "r": 24, "t": 48, "b": 48},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        "colorway": list(OKABE_ITO),
    }
    if chart.kind is ChartKind.PIE:
        (series,) = chart.series
        data: list[dict[str, Any]] = [
            {
                "type": "pie",
                "name": plotly_text(series.name),
                "labels": categories,
                "values": list(series.values),
                "sort": False,
                "direction": "clockwise",
                "textinfo": "label+percent",
                "marker": {
                    "colors": [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(categories))],
                    "line": {"color": "#ffffff", "width": 1},
                },
            }
        ]
        layout |= {"showlegend": True, "legend": {"orientation": "v"}}
    else:
        data = _series_traces(chart, categories)
        shapes, labels = _thresholds(chart)
        layout |= {
            "showlegend": len(chart.series) > 1,
            "legend": {"orientation": "h", "y": -0.25},
            "barmode": "group",
            "hovermode": "x",
            "shapes": shapes,
            "annotations": labels,
            "xaxis": {
                "type": "category",
                "automargin": True,
                "title": {"text": plotly_text(chart.x_label or "")},
            },
            "yaxis": {
                "automargin": True,
                "zeroline": chart.kind is not ChartKind.LINE,
                "rangemode": "tozero" if chart.kind is not ChartKind.LINE else "normal",
                "ticksuffix": _suffix(chart),
                "title": {"text": plotly_text(chart.y_label or "")},
            },
        }
    config = {"displayModeBar": False, "responsive": True}
    return {"data": data, "layout": layout, "config": config}
