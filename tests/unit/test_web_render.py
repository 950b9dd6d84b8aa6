"""The playground's HTML shows every part of a reply, and customer text only ever as text.

(And the survey answers it simulates are signed as the generic webhook checks them.)

The HTML is read back with the standard library's parser, the way a browser would split
it into elements, attributes and text, so the checks are about what a person (or a
script) would find in the page, not about how the markup is spelled.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.platforms.web.render import (
    OKABE_ITO,
    numeric_columns,
    plotly_figure,
    plotly_text,
    render_form,
    render_replies,
    render_reply,
)
from adapters.platforms.webhooks.generic import decode_secret, signed_headers, verify
from adapters.platforms.webhooks.generic import new_secret as new_webhook_secret
from adapters.platforms.webhooks.signatures import WebhookError
from bot.actions import CLAIM, CLOSE, REFRESH
from bot.messages.alerts import close_form
from bot.reply import (
    Action,
    Chart,
    ChartKind,
    Choice,
    Fact,
    Field,
    Form,
    Metric,
    Outcome,
    Reply,
    Series,
    Table,
    Threshold,
    Tone,
    Trend,
    Visibility,
)
from tests.hostile import HTML, examples, hostile_text
from tests.sample_replies import health_answer


class Element:
    def __init__(self, tag: str, attributes: dict[str, str | None], parent: Element | None):
        self.tag = tag
        self.attributes = attributes
        self.parent = parent
        self.children: list[Element | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> list[Element]:
        found = [self]
        for child in self.children:
            if isinstance(child, Element):
                found += child.walk()
        return found

    def find(self, tag: str, class_: str | None = None, **attributes: str) -> list[Element]:
        """Elements of `tag` below this one (itself included) with these attributes."""
        return [
            element
            for element in self.walk()
            if element.tag == tag
            and (class_ is None or class_ in (element.attributes.get("class") or "").split())
            and all(element.attributes.get(name) == value for name, value in attributes.items())
        ]


VOID = frozenset({"input", "br", "img", "meta", "link", "hr"})


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.at = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self.at)
        self.at.children.append(element)
        if tag not in VOID:
            self.at = element

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"</{tag}> closes nothing"
        self.at = node.parent

    def handle_data(self, data: str) -> None:
        self.at.children.append(data)


def parse(html: str) -> Element:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    assert tree.at is tree.root, "an element is left open"
    return tree.root


def one(root: Element, tag: str, class_: str | None = None, **attributes: str) -> Element:
    (found,) = root.find(tag, class_, **attributes)
    return found


def classes(element: Element) -> list[str]:
    return (element.attributes.get("class") or "").split()


LINE = Chart(
    title="Health, last 90 days",
    kind=ChartKind.LINE,
    categories=("Nov 08", "Nov 15", "Nov 22"),
    series=(Series("Health score", (76.0, 74.5, 55.0)),),
    summary="Health 55 today, 76 on Nov 08; red below 40, green from 70.",
    y_label="Health (0-100)",
    thresholds=(Threshold("Red below 40", 40.0), Threshold("Green from 70", 70.0)),
)
PIE = Chart(
    title="ARR by segment",
    kind=ChartKind.PIE,
    categories=("Enterprise", "Mid-market", "SMB"),
    series=(Series("ARR", (2.1e6, 9.0e5, 3.0e5)),),
    summary="Enterprise $2.1M, Mid-market $900k, SMB $300k.",
    unit="USD",
)


def full_reply(text: str = "Acme Corp") -> Reply:
    """A reply with every part, each holding `text` somewhere."""
    return Reply(
        heading=f"{text} — health",
        paragraphs=(f"Try `health {text}`.", f"Said: {text}"),
        metrics=(
            Metric("Health score", "55/100", "-16 in 7 days", Trend.DOWN, Tone.WARNING, text),
            Metric("NPS", "+20", tone=Tone.GOOD),
        ),
        facts=(Fact("Owner", text), Fact(text, "Enterprise")),
        tables=(
            Table(
                ("Account", "ARR", "Risk"),
                ((text, "$420k", "38 %"), ("Globex", "$1.2M", "> 99 %")),
                title=f"Renewals of {text}",
            ),
        ),
        charts=(
            Chart(
                title=f"{text} by month",
                kind=ChartKind.BAR,
                categories=(text, "Dec 26"),
                series=(Series(text, (1.0, 2.0)), Series("Other", (3.0, 4.0))),
                summary=f"Summary of {text}.",
                x_label=text,
                y_label=text,
                thresholds=(Threshold(text, 2.5),),
            ),
        ),
        notes=(f"Note on {text}",),
        actions=(
            Action(REFRESH, "Refresh", {"command": f"health {text}"}),
            Action(
                CLOSE,
                f"Close {text}",
                {"follow_up": "7"},
                primary=True,
                form=close_form(["resolved"]),
            ),
        ),
    )


# --- every part ------------------------------------------------------------------------------


def test_every_part_of_a_reply_is_in_the_page() -> None:
    page = parse(render_reply(full_reply()))
    article = one(page, "article")
    assert one(article, "h2").text() == "Acme Corp — health"

    metrics = article.find("li", class_="metric")
    assert [one(m, "span", class_="label").text() for m in metrics] == ["Health score", "NPS"]
    assert [one(m, "span", class_="value").text() for m in metrics] == ["55/100", "+20"]
    assert "tone-warning" in classes(metrics[0]) and "tone-good" in classes(metrics[1])
    assert "(warning)" in metrics[0].text()  # the tone in words too, not colour alone
    delta = one(metrics[0], "span", class_="delta")
    assert "trend-down" in classes(delta) and "-16 in 7 days" in delta.text()
    assert one(delta, "span", class_="arrow").attributes["aria-label"] == "down"
    assert one(metrics[0], "span", class_="detail").text() == "Acme Corp"

    assert [p.text() for p in article.find("p")] == ["Try health Acme Corp.", "Said: Acme Corp"]
    assert one(article, "code").text() == "health Acme Corp"
    facts = one(article, "dl", class_="facts")
    assert [(one(f, "dt").text(), one(f, "dd").text()) for f in facts.find("div")] == [
        ("Owner", "Acme Corp"),
        ("Acme Corp", "Enterprise"),
    ]

    table = one(article, "table")
    assert one(table, "caption").text() == "Renewals of Acme Corp"
    assert [th.text() for th in table.find("th")] == ["Account", "ARR", "Risk"]
    assert all(th.attributes["scope"] == "col" for th in table.find("th"))
    rows = [[td.text() for td in tr.find("td")] for tr in one(table, "tbody").find("tr")]
    assert rows == [["Acme Corp", "$420k", "38 %"], ["Globex", "$1.2M", "> 99 %"]]

    figure = one(article, "figure")
    assert one(figure, "figcaption").text() == "Summary of Acme Corp."
    drawn = json.loads(one(figure, "div", class_="plot").attributes["data-figure"] or "")
    assert [trace["name"] for trace in drawn["data"]] == ["Acme Corp", "Other"]

    assert [li.text() for li in one(article, "ul", class_="notes").find("li")] == [
        "Note on Acme Corp"
    ]
    buttons = one(article, "div", class_="actions").find("button")
    assert [b.text() for b in buttons] == ["Refresh", "Close Acme Corp"]
    assert [json.loads(b.attributes["data-action"] or "") for b in buttons] == [
        {"action_id": REFRESH, "payload": {"command": "health Acme Corp"}},
        {"action_id": CLOSE, "payload": {"follow_up": "7"}},
    ]
    assert classes(buttons[1]) == ["primary"] and classes(buttons[0]) == ["secondary"]
    assert one(article, "footer").text() == "Only you see this"


def test_numbers_are_right_aligned_and_words_are_not() -> None:
    """In `/health acme`'s components table the scores, weights and points line up."""
    reply = health_answer()
    (table,) = reply.tables
    page = parse(render_reply(reply))
    headers = one(page, "table").find("th")
    aligned = {th.text(): "num" in classes(th) for th in headers}
    assert aligned == {column: column in ("Score", "Weight", "Points") for column in table.columns}
    for row in one(page, "tbody").find("tr"):
        cells = row.find("td")
        assert ["num" in classes(td) for td in cells] == [aligned[c] for c in table.columns]


def test_what_reads_as_a_number() -> None:
    table = Table(
        ("Account", "ARR", "Risk", "Health", "Change", "Renews", "Mixed"),
        (
            ("Acme", "$1.2M", "> 99 %", "55 yellow", "+3", "2027-02-19", "12"),
            ("Globex", "—", "< 1 %", "70 green", "-15", "2027-03-01", "n/a"),
            ("Initech", "950 CHF", "37 %", "40 red", "+0", "2027-04-01", "many"),
        ),
    )
    assert numeric_columns(table) == (False, True, True, False, True, False, False)


def test_who_sees_a_reply_and_whether_it_answers_are_shown() -> None:
    alert = parse(render_reply(Reply("NPS detractor", visibility=Visibility.CHANNEL), alert=42))
    article = one(alert, "article")
    assert article.attributes["data-alert"] == "42"
    assert article.attributes["data-visibility"] == "channel"
    assert "Everyone" in one(article, "footer").text()

    problem = one(
        parse(render_reply(Reply("No account matches", outcome=Outcome.PROBLEM))), "article"
    )
    assert "outcome-problem" in classes(problem)
    assert one(problem, "span", class_="mark").text() == "⚠"
    assert "data-alert" not in problem.attributes


def test_app_home_shows_each_section() -> None:
    page = parse(render_replies([Reply("Dana's book"), Reply("At risk")], title="App Home · Dana"))
    section = one(page, "section")
    assert one(section, "h2", class_="screen-title").text() == "App Home · Dana"
    assert [one(a, "h2").text() for a in section.find("article")] == ["Dana's book", "At risk"]


def test_a_form_asks_each_field_and_remembers_its_button() -> None:
    form = Form(
        "Close the loop",
        "Close",
        (
            Field(
                "outcome",
                "Outcome",
                choices=(Choice("resolved", "Resolved"), Choice("no_response", "No response")),
            ),
            Field("note", "Note", multiline=True, optional=True),
            Field("owner", "Owner", initial="dana"),
        ),
    )
    page = parse(render_form(form, CLOSE, {"follow_up": "7"}))
    element = one(page, "form")
    assert json.loads(element.attributes["data-action"] or "") == {
        "action_id": CLOSE,
        "payload": {"follow_up": "7"},
    }
    assert one(element, "h3").text() == "Close the loop"
    select = one(element, "select")
    assert select.attributes["name"] == "outcome" and "required" in select.attributes
    assert [(o.attributes["value"], o.text()) for o in select.find("option")] == [
        ("", "Choose…"),
        ("resolved", "Resolved"),
        ("no_response", "No response"),
    ]
    note = one(element, "textarea")
    assert note.attributes["name"] == "note" and "required" not in note.attributes
    owner = one(element, "input")
    assert owner.attributes["value"] == "dana" and "required" in owner.attributes
    labels = {label.attributes["for"]: label.text() for label in element.find("label")}
    controls = {c.attributes["id"]: c.attributes["name"] for c in (select, note, owner)}
    assert {controls[k]: v for k, v in labels.items()} == {
        "outcome": "Outcome",
        "note": "Note (optional)",
        "owner": "Owner",
    }
    assert one(element, "button", type="submit").text() == "Close"


# --- customer text stays text ----------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    {
        "#root", "article", "h2", "h3", "span", "ul", "li", "p", "code", "dl", "div", "dt",
        "dd", "table", "caption", "thead", "tbody", "tr", "th", "td", "figure", "figcaption",
        "button", "footer", "section", "form", "label", "select", "option", "textarea", "input",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = frozenset(
    {
        "class", "data-visibility", "data-alert", "data-figure", "data-action", "role",
        "aria-label", "aria-hidden", "aria-haspopup", "scope", "type", "id", "name", "for",
        "value", "rows", "required", "selected", "data-cancel",
    }
)  # fmt: skip


def _inert(page: Element) -> None:
    for element in page.walk():
        assert element.tag in ALLOWED_TAGS, f"<{element.tag}> made from text"
        assert set(element.attributes) <= ALLOWED_ATTRIBUTES, element.attributes


@settings(max_examples=examples(60), deadline=None)
@given(text=hostile_text())
def test_customer_text_never_becomes_markup(text: str) -> None:
    reply = full_reply(text)
    page = parse(render_reply(reply, alert=3))
    _inert(page)
    form = close_form(["resolved", text])
    _inert(parse(render_form(form, CLOSE, {"follow_up": "3", "note": text})))
    assert json.loads(one(page, "div", class_="plot").attributes["data-figure"] or "")


@settings(max_examples=examples(60), deadline=None)
@given(text=hostile_text().filter(lambda t: "`" not in t))
def test_customer_text_is_shown_as_written(text: str) -> None:
    """Character for character (HTML folds white space when it shows text, as always)."""
    page = parse(render_reply(full_reply(text)))
    article = one(page, "article")
    assert one(article, "h2").text() == f"{text} — health"
    assert article.find("p")[1].text() == f"Said: {text}"
    fact = one(article, "dl").find("div")[0]
    assert one(fact, "dd").text() == text
    assert one(article, "tbody").find("td")[0].text() == text
    buttons = article.find("button")
    assert json.loads(buttons[0].attributes["data-action"] or "")["payload"] == {
        "command": f"health {text}"
    }
    assert buttons[1].text() == f"Close {text}"


def test_markup_in_text_is_escaped_where_it_is_written() -> None:
    html = render_reply(full_reply(HTML[0]))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_chart_text_is_escaped_for_plotly_too() -> None:
    """plotly.js draws `<b>`, `<a href>` and entities in labels: they arrive escaped."""
    text = '<a href="javascript:alert(1)">x</a> & <b>y</b>'
    drawn = plotly_figure(full_reply(text).charts[0])
    shown = plotly_text(text)
    assert shown == '&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt; &amp; &lt;b&gt;y&lt;/b&gt;'
    layout = drawn["layout"]
    assert layout["title"]["text"] == f"{shown} by month"
    assert layout["xaxis"]["title"]["text"] == shown
    assert layout["yaxis"]["title"]["text"] == shown
    assert drawn["data"][0]["name"] == shown
    assert drawn["data"][0]["x"][0] == shown
    assert layout["annotations"][0]["text"] == shown


# --- charts ----------------------------------------------------------------------------------


def _chart(kind: ChartKind, series: int = 2, thresholds: tuple[Threshold, ...] = ()) -> Chart:
    return Chart(
        title="NPS by month",
        kind=kind,
        categories=("Oct 26", "Nov 26", "Dec 26"),
        series=tuple(
            Series(f"Series {i}", (float(i + 1), float(i + 2), float(i + 3))) for i in range(series)
        ),
        summary="NPS by month.",
        unit="%",
        thresholds=thresholds,
    )


def test_each_kind_of_chart_is_drawn_as_that_kind() -> None:
    line = plotly_figure(_chart(ChartKind.LINE))["data"]
    assert {t["type"] for t in line} == {"scatter"} and {t["mode"] for t in line} == {
        "lines+markers"
    }
    assert not any("fill" in t for t in line)
    area = plotly_figure(_chart(ChartKind.AREA))["data"]
    assert {t["type"] for t in area} == {"scatter"} and {t["fill"] for t in area} == {"tozeroy"}
    bar = plotly_figure(_chart(ChartKind.BAR))
    assert {t["type"] for t in bar["data"]} == {"bar"} and bar["layout"]["barmode"] == "group"
    for drawn in (line, area, bar["data"]):
        assert [t["x"] for t in drawn] == [["Oct 26", "Nov 26", "Dec 26"]] * 2
        assert [t["y"] for t in drawn] == [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]

    pie = plotly_figure(PIE)
    (slices,) = pie["data"]
    assert slices["type"] == "pie"
    assert slices["labels"] == ["Enterprise", "Mid-market", "SMB"]
    assert slices["values"] == [2.1e6, 9.0e5, 3.0e5]
    assert pie["layout"]["showlegend"] is True


def test_series_differ_in_colour_blind_safe_colours_and_in_line_style() -> None:
    drawn = plotly_figure(_chart(ChartKind.LINE, series=4))["data"]
    colours = [t["line"]["color"] for t in drawn]
    assert colours == list(OKABE_ITO[:4])
    assert len({t["line"]["dash"] for t in drawn}) == 4
    assert "dash" not in {t["line"]["dash"] for t in drawn}  # dashed means a threshold
    bars = plotly_figure(_chart(ChartKind.BAR, series=3))["data"]
    assert [t["marker"]["color"] for t in bars] == list(OKABE_ITO[:3])
    slices = plotly_figure(PIE)["data"][0]["marker"]["colors"]
    assert len(set(slices)) == 3 and set(slices) <= set(OKABE_ITO)


def test_thresholds_are_dashed_flat_lines_with_their_labels() -> None:
    drawn = plotly_figure(LINE)
    shapes, labels = drawn["layout"]["shapes"], drawn["layout"]["annotations"]
    assert [(s["y0"], s["y1"]) for s in shapes] == [(40.0, 40.0), (70.0, 70.0)]
    assert all(s["line"]["dash"] == "dash" for s in shapes)
    assert all((s["xref"], s["x0"], s["x1"]) == ("paper", 0, 1) for s in shapes)
    assert [(a["text"], a["y"]) for a in labels] == [
        ("Red below 40", 40.0),
        ("Green from 70", 70.0),
    ]
    assert len(drawn["data"]) == 1  # thresholds are lines of the plot, not series


def test_the_summary_is_always_under_the_drawing() -> None:
    for chart in (LINE, PIE, _chart(ChartKind.AREA), _chart(ChartKind.BAR)):
        page = parse(render_reply(Reply("Chart", charts=(chart,))))
        figure = one(page, "figure")
        assert [child.tag for child in figure.children if isinstance(child, Element)] == [
            "div",
            "figcaption",
        ]
        assert one(figure, "figcaption").text() == chart.summary
        assert one(figure, "div").attributes["aria-label"] == chart.title


def test_a_unit_is_on_the_ticks_unless_the_axis_title_names_it() -> None:
    assert plotly_figure(_chart(ChartKind.BAR))["layout"]["yaxis"]["ticksuffix"] == "%"
    arr = Chart(
        "Renewals",
        ChartKind.BAR,
        ("Jan",),
        (Series("ARR", (1.0,)),),
        "ARR renewing.",
        unit="USD",
        y_label="ARR (USD)",
    )
    assert plotly_figure(arr)["layout"]["yaxis"]["ticksuffix"] == ""
    plain = Chart("Renewals", ChartKind.BAR, ("Jan",), (Series("ARR", (1.0,)),), "ARR.", unit="USD")
    assert plotly_figure(plain)["layout"]["yaxis"]["ticksuffix"] == " USD"


def test_figures_are_json_as_plotly_takes_them() -> None:
    for chart in (LINE, PIE, _chart(ChartKind.AREA, thresholds=(Threshold("Goal", 2.0),))):
        drawn: dict[str, Any] = json.loads(json.dumps(plotly_figure(chart)))
        assert set(drawn) == {"data", "layout", "config"}
        assert drawn["config"]["displayModeBar"] is False
        assert re.fullmatch(r".+", drawn["layout"]["title"]["text"])


@settings(max_examples=examples(20), deadline=None)
@given(values=st.lists(st.floats(0.5, 1e6), min_size=1, max_size=8))
def test_a_pie_has_one_slice_per_category(values: list[float]) -> None:
    chart = Chart(
        "Share",
        ChartKind.PIE,
        tuple(f"Part {i}" for i in range(len(values))),
        (Series("Share", tuple(values)),),
        "Shares.",
    )
    (slices,) = plotly_figure(chart)["data"]
    assert len(slices["labels"]) == len(slices["values"]) == len(slices["marker"]["colors"])
    assert slices["values"] == values


def test_claim_buttons_carry_only_the_follow_up() -> None:
    page = parse(
        render_reply(Reply("Alert", actions=(Action(CLAIM, "Claim", {"follow_up": "9"}),)))
    )
    (button,) = page.find("button")
    assert json.loads(button.attributes["data-action"] or "") == {
        "action_id": CLAIM,
        "payload": {"follow_up": "9"},
    }


def test_simulated_answers_are_signed_as_the_generic_webhook_checks() -> None:
    """The playground signs its simulated survey answers the Standard Webhooks way, with a
    fresh `whsec_` secret; the webhook's own verifier accepts them, and no other secret."""
    secret, other = new_webhook_secret(), new_webhook_secret()
    assert secret != other and len(decode_secret(secret)) == 32
    now = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    body = b'{"response_id": "playground-1", "survey": "nps", "score": 2}'
    headers = {
        name.lower(): value
        for name, value in signed_headers(
            secret, body, message_id="msg_1", timestamp=int(now.timestamp())
        ).items()
    }
    verify(headers, body, decode_secret(secret), now)
    with pytest.raises(WebhookError):
        verify(headers, body, decode_secret(other), now)
    with pytest.raises(WebhookError):
        verify(headers, body + b" ", decode_secret(secret), now)
