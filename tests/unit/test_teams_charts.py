"""Charts in Teams cards: drawn by Teams where it can, readable as numbers everywhere.

A chart is one of Teams' `Chart.*` elements (charts-in-adaptive-cards, msteams-docs) with a
`Table` of its numbers as the fallback for clients that draw no charts, and its summary as
text under it. Every card is checked by `check` from the renderer's tests: the Teams SDK's
card schema for the card as sent, the Adaptive Card 1.5 schema for the card with each chart
replaced by its fallback, and the size a bot's message may have. The facts the expectations
rest on (element names, colour names) are read from tests/conformance/teams-charts.json.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from adapters.platforms.teams.render import render_card
from bot.reply import Chart, ChartKind, Reply, Series, Threshold
from tests.unit.test_teams_render import (
    OMITTED,
    check,
    nodes,
    of_type,
    schema_errors,
    table_rows,
    teams_validator,
    validator,
    without_charts,
)

CONFORMANCE = Path(__file__).parents[1] / "conformance"


@cache
def teams_facts() -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((CONFORMANCE / "teams-charts.json").read_text("utf-8"))
    return facts


def chart_colors() -> set[str]:
    return set(teams_facts()["charts.color.enum"]["value"])


def charts(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in nodes(card) if str(n.get("type", "")).startswith("Chart.")]


def unescaped(text: str) -> str:
    return text.replace("\\", "")


def drawn(chart: Chart, **reply: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card of a reply with this chart, and its one chart element."""
    card = check(Reply(heading="Acme Corp — health", charts=(chart,), **reply))
    (element,) = charts(card)
    return card, element


def fallback_rows(element: dict[str, Any]) -> list[list[str]]:
    (table,) = of_type(element["fallback"], "Table")
    return table_rows(table)


def fallback_texts(element: dict[str, Any]) -> list[str]:
    return [b["text"] for b in of_type(element["fallback"], "TextBlock")]


WEEKS = ("Sep 01", "Sep 08", "Sep 15", "Sep 22", "Sep 29")
HEALTH = Series("Health score", (72.0, 70.5, 66.0, 61.25, 58.0))
BANDS = (Threshold("Red below", 40.0), Threshold("Green from", 70.0))


def line(**changes: Any) -> Chart:
    fields: dict[str, Any] = {
        "title": "Health, last 5 weeks",
        "kind": ChartKind.LINE,
        "categories": WEEKS,
        "series": (HEALTH,),
        "summary": "Health 58 today, 72 on Sep 01 (low 58, high 72).",
        "y_label": "Health (0-100)",
    }
    return Chart(**{**fields, **changes})


# --- each kind ---------------------------------------------------------------------------


def test_the_docs_chart_validates_against_the_teams_schema_only() -> None:
    """The checker itself: the docs' own chart card is valid for Teams' schema and not for
    the Adaptive Card 1.5 one, and a chart property Teams' schema does not know is refused."""
    example = json.loads((CONFORMANCE / "teams-chart-line.example.json").read_text("utf-8"))
    assert list(teams_validator().iter_errors(example)) == []
    assert list(validator().iter_errors(example))
    example["body"][0]["showLegend"] = False
    assert list(teams_validator().iter_errors(example))
    card = render_card(Reply(heading="h", charts=(line(),)))
    (element,) = charts(card)
    del element["fallback"]
    with pytest.raises(AssertionError, match="without a fallback"):
        schema_errors(card)


def test_a_line_chart_is_a_chart_line_with_its_values_title_and_summary() -> None:
    chart = line()
    card, element = drawn(chart)
    assert element["type"] == "Chart.Line"
    assert element["type"] in teams_facts()["charts.element_types"]["value"]
    (series,) = element["data"]
    assert series["legend"] == "Health score"
    assert [(p["x"], p["y"]) for p in series["values"]] == list(
        zip(WEEKS, HEALTH.values, strict=True)
    )
    assert element["yAxisTitle"] == "Health (0-100)"
    body = card["body"]
    at = body.index(element)
    assert body[at - 1]["text"] == "Health, last 5 weeks" and body[at - 1]["weight"] == "bolder"
    summary = body[at + 1]
    assert summary["type"] == "TextBlock" and summary["wrap"] is True
    assert unescaped(summary["text"]) == chart.summary


def test_the_fallback_is_a_table_of_the_numbers_right_aligned() -> None:
    _, element = drawn(line())
    assert fallback_rows(element) == [
        ["Category", "Health score"],
        ["Sep 01", "72"],
        ["Sep 08", "70.5"],
        ["Sep 15", "66"],
        ["Sep 22", "61.25"],
        ["Sep 29", "58"],
    ]
    (table,) = of_type(element["fallback"], "Table")
    alignment = [c.get("horizontalCellContentAlignment") for c in table["columns"]]
    assert alignment == [None, "right"]


@pytest.mark.parametrize(
    ("unit", "shown"),
    [
        ("USD", ["3,200 USD", "92,951.64 USD"]),
        ("%", ["3,200%", "92,951.64%"]),
        (" pts", ["3,200 pts", "92,951.64 pts"]),
    ],
)
def test_units_follow_the_numbers_which_still_align_right(unit: str, shown: list[str]) -> None:
    chart = Chart(
        "ARR renewing by month",
        ChartKind.BAR,
        ("Nov 2026", "Dec 2026"),
        (Series("ARR renewing", (3200.0, 92951.64)),),
        summary="ARR renewing $3.2k in November, $93k in December.",
        unit=unit,
    )
    _, element = drawn(chart)
    assert [row[1] for row in fallback_rows(element)[1:]] == shown
    (table,) = of_type(element["fallback"], "Table")
    assert table["columns"][1]["horizontalCellContentAlignment"] == "right"


def test_a_card_with_charts_shows_every_number_without_them() -> None:
    """What an iOS client shows: the title, the table, the summary, in that order."""
    chart = line(unit=" pts", x_label="Week")
    card, _ = drawn(chart)
    plain = without_charts(card)
    assert not charts(plain)
    texts = [unescaped(b["text"]) for b in of_type(plain["body"], "TextBlock")]
    title, summary = texts.index(chart.title), texts.index(chart.summary)
    assert texts[title + 1 : title + 3] == ["Week", "Health score"]
    assert texts[summary - 2 : summary] == ["Sep 29", "58 pts"]
    assert card["version"] == "1.5"


def test_one_series_of_bars_is_a_vertical_bar_chart() -> None:
    chart = Chart(
        "Churn risk across the book",
        ChartKind.BAR,
        ("< 5 %", "5–10 %", "10–20 %", "20–40 %", "≥ 40 %"),
        (Series("Customers", (0.0, 3.0, 33.0, 9.0, 1.0)),),
        summary="33 customers between 10 and 20 %.",
        x_label="Churn risk",
    )
    _, element = drawn(chart)
    assert element["type"] == "Chart.VerticalBar"
    assert [(p["x"], p["y"]) for p in element["data"]] == list(
        zip(chart.categories, chart.series[0].values, strict=True)
    )
    assert element["yAxisTitle"] == "Customers"  # the series' name, as there is no legend
    assert element["xAxisTitle"] == "Churn risk"
    assert element["color"] in chart_colors()
    assert fallback_rows(element)[0] == ["Churn risk", "Customers"]


def test_several_series_of_bars_are_grouped_bars_each_in_its_own_colour() -> None:
    chart = Chart(
        "ARR by month",
        ChartKind.BAR,
        ("Dec", "Jan", "Feb"),
        (
            Series("ARR renewing", (4200.0, 102000.0, 486000.0)),
            Series("ARR at stake", (1300.0, 14000.0, -2.5)),
            Series("Expansion", (0.0, 5000.0, 12000.0)),
        ),
        summary="ARR renewing $592k, at stake $117k.",
    )
    _, element = drawn(chart)
    assert element["type"] == "Chart.VerticalBar.Grouped"
    assert [s["legend"] for s in element["data"]] == [s.name for s in chart.series]
    for shown, series in zip(element["data"], chart.series, strict=True):
        assert [(p["x"], p["y"]) for p in shown["values"]] == list(
            zip(chart.categories, series.values, strict=True)
        )
    colors = [s["color"] for s in element["data"]]
    assert len(set(colors)) == 3 and set(colors) <= chart_colors()
    assert fallback_rows(element)[1:] == [
        ["Dec", "4,200", "1,300", "0"],
        ["Jan", "102,000", "14,000", "5,000"],
        ["Feb", "486,000", "-2.5", "12,000"],
    ]


def test_an_area_chart_is_drawn_as_a_line() -> None:
    chart = line(kind=ChartKind.AREA, series=(HEALTH, Series("Book average", (60.0,) * 5)))
    _, element = drawn(chart)
    assert element["type"] == "Chart.Line"
    assert [s["legend"] for s in element["data"]] == ["Health score", "Book average"]


def test_a_pie_is_a_chart_pie_with_its_slices_and_their_shares() -> None:
    chart = Chart(
        "Answers",
        ChartKind.PIE,
        ("Promoters", "Passives", "Detractors"),
        (Series("Answers", (12.0, 6.0, 2.0)),),
        summary="12 promoters, 6 passives, 2 detractors.",
    )
    _, element = drawn(chart)
    assert element["type"] == "Chart.Pie"
    assert [(d["legend"], d["value"]) for d in element["data"]] == list(
        zip(chart.categories, chart.series[0].values, strict=True)
    )
    colors = [d["color"] for d in element["data"]]
    assert len(set(colors)) == 3 and set(colors) <= chart_colors()
    assert fallback_rows(element) == [
        ["Category", "Answers", "Share"],
        ["Promoters", "12", "60%"],
        ["Passives", "6", "30%"],
        ["Detractors", "2", "10%"],
    ]


def test_a_pie_with_many_slices_uses_the_hosts_palette_rather_than_repeat_a_colour() -> None:
    names = tuple(f"Segment {i}" for i in range(8))
    chart = Chart("Mix", ChartKind.PIE, names, (Series("ARR", (1.0,) * 8),), summary="Even.")
    _, element = drawn(chart)
    assert element["colorSet"] == "categorical"
    colors = [d["color"] for d in element["data"] if "color" in d]
    assert len(colors) == len(set(colors))


# --- series and thresholds ---------------------------------------------------------------


def test_thresholds_are_flat_grey_series_and_listed_under_the_fallback_table() -> None:
    chart = line(thresholds=BANDS)
    _, element = drawn(chart)
    score, red, green = element["data"]
    assert score["legend"] == "Health score"
    for shown, threshold in ((red, BANDS[0]), (green, BANDS[1])):
        assert shown["legend"] == threshold.label
        assert [p["y"] for p in shown["values"]] == [threshold.value] * len(WEEKS)
        assert [p["x"] for p in shown["values"]] == list(WEEKS)
    assert score["color"] in chart_colors()
    assert red["color"] == green["color"] == "neutral"
    assert "neutral" in chart_colors()
    assert len(fallback_rows(element)[0]) == 2  # the thresholds are no columns of 40s …
    assert "Reference lines: Red below: 40; Green from: 70" in fallback_texts(element)


def test_bars_with_a_threshold_are_grouped_with_a_flat_bar() -> None:
    chart = Chart(
        "NPS by quarter",
        ChartKind.BAR,
        ("Q1", "Q2", "Q3"),
        (Series("NPS", (12.0, -4.0, 20.0)),),
        summary="NPS 12, -4, 20.",
        thresholds=(Threshold("Target", 30.0),),
    )
    _, element = drawn(chart)
    assert element["type"] == "Chart.VerticalBar.Grouped"
    nps, target = element["data"]
    assert [p["y"] for p in nps["values"]] == [12.0, -4.0, 20.0]
    assert [p["y"] for p in target["values"]] == [30.0] * 3 and target["color"] == "neutral"


def test_series_get_distinct_documented_colours_until_there_are_too_many() -> None:
    two = line(series=(HEALTH, Series("Book average", (60.0,) * 5)), thresholds=BANDS)
    _, element = drawn(two)
    data_colors = [s["color"] for s in element["data"][:2]]
    assert data_colors[0] != data_colors[1]
    assert set(data_colors) <= chart_colors() and "neutral" not in data_colors

    many = tuple(Series(f"CSM {i}", (float(i),) * 5) for i in range(6))
    _, element = drawn(line(series=many, thresholds=BANDS))
    assert element["colorSet"] == "categorical"
    assert [s.get("color") for s in element["data"]] == [None] * 6 + ["neutral"] * 2


# --- sizes: many points, long labels, many charts ----------------------------------------


def test_ninety_points_are_all_drawn_and_the_fallback_keeps_the_latest() -> None:
    days = tuple(f"2026-{8 + i // 30:02d}-{1 + i % 30:02d}" for i in range(90))
    values = tuple(50.0 + (i % 13) * 1.5 for i in range(90))
    chart = line(categories=days, series=(Series("Health score", values),), thresholds=BANDS)
    _, element = drawn(chart)
    score = element["data"][0]
    assert [(p["x"], p["y"]) for p in score["values"]] == list(zip(days, values, strict=True))
    rows = fallback_rows(element)[1:]
    assert 1 < len(rows) < 90
    assert [row[0] for row in rows] == list(days[-len(rows) :])
    assert f"… {90 - len(rows)} earlier points not shown" in fallback_texts(element)


def test_long_labels_are_clipped_in_the_drawing_and_stay_apart() -> None:
    names = tuple(f"Silvercrest Holdings International {'Ltd ' * 40}branch {i}" for i in range(6))
    chart = Chart(
        "ARR by account",
        ChartKind.BAR,
        names,
        (Series(f"ARR {'renewing ' * 30}".strip(), tuple(float(i) for i in range(6))),),
        summary="Six branches.",
        x_label="Account " * 30,
    )
    _, element = drawn(chart)
    labels = [p["x"] for p in element["data"]]
    assert len(set(labels)) == 6, labels
    assert all(len(label) <= 40 for label in labels)
    assert len(element["xAxisTitle"]) < len(chart.x_label or "")
    shown = [row[0] for row in fallback_rows(element)[1:]]
    assert all(len(name) > 40 for name in shown)  # the table keeps more of each name


def test_many_charts_are_drawn_while_they_fit_and_the_rest_are_text() -> None:
    months = tuple(f"2026-{m:02d}" for m in range(1, 13))
    many = tuple(
        line(
            title=f"Chart {n}",
            categories=months,
            series=(
                Series("Health score", tuple(50.0 + (i * n) % 17 for i in range(12))),
                Series("Book average", tuple(60.0 + (i + n) % 5 for i in range(12))),
            ),
            summary=f"Summary of chart {n}.",
            thresholds=BANDS,
        )
        for n in range(16)
    )
    card = check(Reply(heading="Book", charts=many))
    texts = [unescaped(t) for t in (b["text"] for b in of_type(card["body"], "TextBlock"))]
    assert OMITTED not in " ".join(texts)
    drawn_count = len(charts(card))
    assert 1 < drawn_count < 16
    body = card["body"]
    # The first charts are drawn, the later ones are text, each with its title and summary.
    kinds = [e["type"] for e in body]
    assert kinds.count("Chart.Line") == drawn_count
    last_drawn = max(i for i, kind in enumerate(kinds) if kind == "Chart.Line")
    first_text = min(i for i, e in enumerate(body) if e.get("fontType") == "monospace")
    assert last_drawn < first_text
    for n, chart in enumerate(many):
        assert texts.index(chart.title) < texts.index(chart.summary), n


def test_a_card_too_big_for_its_charts_shows_them_as_text_before_leaving_anything_out() -> None:
    chart = line(
        categories=tuple(f"Day {i}" for i in range(90)),
        series=tuple(Series(f"CSM {n}", tuple(float(i + n) for i in range(90))) for n in (1, 2)),
        thresholds=BANDS,
    )
    paragraphs = tuple(f"Paragraph {n} " + "word " * 2000 for n in range(3))
    short = check(Reply(heading="Book", paragraphs=paragraphs[:1], charts=(chart,)))
    assert len(charts(short)) == 1  # the chart alone fits, drawn

    card = check(Reply(heading="Book", paragraphs=paragraphs, charts=(chart,)))
    assert not charts(card)
    texts = [b["text"] for b in of_type(card["body"], "TextBlock")]
    assert [t for t in texts if t.startswith("Paragraph")] == [p.strip() for p in paragraphs]
    assert chart.summary in texts and chart.title in texts
    assert OMITTED not in " ".join(texts)


def test_a_card_too_big_even_with_text_charts_leaves_out_details_and_says_so() -> None:
    chart = line()
    paragraphs = tuple(f"Paragraph {n} " + "word " * 2600 for n in range(6))
    card = check(Reply(heading="Book", paragraphs=paragraphs, charts=(chart,)))
    assert not charts(card)
    texts = [b["text"] for b in of_type(card["body"], "TextBlock")]
    assert texts[0] == "Book"
    assert any(OMITTED in t for t in texts)


def test_a_chart_without_categories_is_text() -> None:
    chart = Chart("Nothing yet", ChartKind.LINE, (), (Series("Health", ()),), summary="No data.")
    card = check(Reply(heading="h", charts=(chart,)))
    assert not charts(card)
    assert [b["text"] for b in card["body"]] == ["h", "Nothing yet", "No data."]
