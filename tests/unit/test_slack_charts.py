"""Charts and tables in Slack messages are Slack's own blocks, within every limit Slack sets.

A chart is a `data_visualization` block and a table a `table` block wherever they fit;
Slack refuses the whole message when one of them breaks a limit, so every message here
goes through the Block Kit checks of test_slack_render and the chart and table checks of
tests.slack_blocks, which reads its limits from
tests/conformance/slack-charts-tables-limits.json. The first tests prove that checker
catches what Slack would refuse, starting from Slack's own example blocks.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings

from adapters.platforms.slack.render import render_home, render_message
from bot.reply import Chart, ChartKind, Reply, Series, Table, Threshold
from tests.hostile import examples, hostile_text
from tests.slack_blocks import CONFORMANCE, block_errors, message_errors
from tests.unit.test_slack_render import check_home, check_message, of_type, section_texts

Block = dict[str, Any]
OMITTED = "Some details were left out"


def example(name: str) -> Block:
    """One of Slack's example chart blocks, as transcribed into the conformance folder."""
    path = CONFORMANCE / name
    assert path.is_file(), f"missing conformance example {path}"
    block: Block = json.loads(path.read_text(encoding="utf-8"))
    return block


def bar_example() -> Block:
    return example("slack-data-visualization.example.json")


def line_example() -> Block:
    return example("slack-data-visualization-line-negative.example.json")


def pie_block(*values: float) -> Block:
    segments = [{"label": f"Slice {i}", "value": v} for i, v in enumerate(values)]
    return {
        "type": "data_visualization",
        "title": "Pie",
        "chart": {"type": "pie", "segments": segments},
    }


def line_block(categories: int, series: int = 1) -> Block:
    labels = [f"Day {i}" for i in range(categories)]
    return {
        "type": "data_visualization",
        "title": "Line",
        "chart": {
            "type": "line",
            "series": [
                {"name": f"S{s}", "data": [{"label": c, "value": -i} for i, c in enumerate(labels)]}
                for s in range(series)
            ],
            "axis_config": {"categories": labels},
        },
    }


def table_block(rows: int, columns: int, text: str = "x") -> Block:
    return {
        "type": "table",
        "rows": [[{"type": "raw_text", "text": text} for _ in range(columns)] for _ in range(rows)],
    }


# --- the checker --------------------------------------------------------------------------


def test_slacks_own_examples_pass_the_checker() -> None:
    assert block_errors(bar_example()) == []
    assert block_errors(line_example()) == []


def test_blocks_at_every_limit_pass_the_checker() -> None:
    at_limits = line_block(categories=20, series=6)
    at_limits["title"] = "t" * 50
    at_limits["chart"]["series"][0]["name"] = "n" * 20
    at_limits["chart"]["axis_config"]["x_label"] = "x" * 50
    assert block_errors(at_limits) == []
    assert block_errors(pie_block(1, 2, 3, 4, 5, 0.5)) == []
    assert block_errors(table_block(rows=100, columns=20)) == []
    assert block_errors(table_block(rows=100, columns=20, text="y" * 5)) == []  # 10,000 chars
    assert message_errors([line_block(3), pie_block(1.0), table_block(2, 2)]) == []


def _set(path: str, value: object) -> Callable[[Block], None]:
    """A change to a block at a dotted path (numbers index lists)."""

    def change(block: Block) -> None:
        *parents, last = path.split(".")
        node: Any = block
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


def _all(*changes: Callable[[Block], None]) -> Callable[[Block], None]:
    def change(block: Block) -> None:
        for one in changes:
            one(block)

    return change


def _add_series(count: int) -> Callable[[Block], None]:
    def change(block: Block) -> None:
        first = block["chart"]["series"][0]
        block["chart"]["series"] = [
            {**copy.deepcopy(first), "name": f"Series {i}"} for i in range(count)
        ]

    return change


def _more_categories(count: int) -> Callable[[Block], None]:
    def change(block: Block) -> None:
        labels = [f"Month {i}" for i in range(count)]
        block["chart"]["axis_config"]["categories"] = labels
        for series in block["chart"]["series"]:
            series["data"] = [{"label": label, "value": i} for i, label in enumerate(labels)]

    return change


# Each violation starts from one of Slack's examples and breaks one limit of the file.
VIOLATIONS: dict[str, tuple[Callable[[], Block], Callable[[Block], None], str]] = {
    "21 categories": (line_example, _more_categories(21), r"categories: 21 items, allowed 1 to 20"),
    "7 series": (bar_example, _add_series(7), r"chart\.series: 7 items, allowed 1 to 6"),
    "no series": (bar_example, _set("chart.series", []), r"chart\.series: 0 items"),
    "pie with a zero slice": (lambda: pie_block(3.0, 0.0), lambda b: None, r"above zero"),
    "pie with a negative slice": (lambda: pie_block(3.0, -1.0), lambda b: None, r"above zero"),
    "pie of 7 slices": (lambda: pie_block(*range(1, 8)), lambda b: None, r"segments: 7 items"),
    "51-character title": (bar_example, _set("title", "t" * 51), r"title: 51 characters > 50"),
    "no title": (bar_example, _set("title", ""), r"title: must be a non-empty string"),
    "21-character series name": (
        bar_example,
        _set("chart.series.0.name", "n" * 21),
        r"name: 21 characters > 20",
    ),
    "21-character category": (
        line_example,
        _all(
            _set("chart.axis_config.categories.0", "c" * 21),
            _set("chart.series.0.data.0.label", "c" * 21),
        ),
        r"categories\[0\]: 21 characters > 20",
    ),
    "21-character slice label": (
        lambda: pie_block(1.0),
        _set("chart.segments.0.label", "s" * 21),
        r"label: 21 characters > 20",
    ),
    "51-character axis label": (
        bar_example,
        _set("chart.axis_config.y_label", "y" * 51),
        r"y_label: 51 characters > 50",
    ),
    "a missing point": (
        bar_example,
        lambda b: b["chart"]["series"][1]["data"].pop(),
        r"exactly one point per category",
    ),
    "a point off the axis": (
        line_example,
        _set("chart.series.0.data.1.label", "Mar"),
        r"exactly one point per category",
    ),
    "the same series twice": (
        bar_example,
        _set("chart.series.1.name", "Revenue"),
        r"names must be unique",
    ),
    "a null value": (line_example, _set("chart.series.0.data.0.value", None), r"must be a number"),
    "a value as text": (
        bar_example,
        _set("chart.series.0.data.0.value", "100"),
        r"must be a number",
    ),
    "no axis": (bar_example, lambda b: b["chart"].pop("axis_config"), r"axis_config: required"),
    "a colour": (bar_example, _set("chart.series.0.color", "#ff0000"), r"no colour"),
    "alt text": (bar_example, _set("alt_text", "Revenue vs cost"), r"no alt text"),
    "a scatter chart": (bar_example, _set("chart.type", "scatter"), r"chart\.type: 'scatter'"),
    "a 256-character block id": (bar_example, _set("block_id", "b" * 256), r"block_id: 256"),
}


@pytest.mark.parametrize("name", VIOLATIONS)
def test_the_checker_catches_each_chart_violation(name: str) -> None:
    make, change, expected = VIOLATIONS[name]
    block = make()
    change(block)
    errors = block_errors(block)
    assert any(re.search(expected, error) for error in errors), errors


TABLE_VIOLATIONS: dict[str, tuple[Block, str]] = {
    "101 rows": (table_block(rows=101, columns=2), r"rows: 101 items, allowed 1 to 100"),
    "21 columns": (table_block(rows=2, columns=21), r"rows\[0\]: 21 items, allowed 1 to 20"),
    "10,001 characters": (
        {
            "type": "table",
            "rows": [
                *table_block(rows=100, columns=20, text="y" * 5)["rows"][:-1],
                [{"type": "raw_text", "text": "y" * 5}] * 19
                + [{"type": "raw_text", "text": "y" * 6}],
            ],
        },
        r"10001 characters in cells > 10000",
    ),
    "an empty cell": (table_block(rows=2, columns=2, text=""), r"at least one character"),
    "a raw_number cell": (
        {"type": "table", "rows": [[{"type": "raw_number", "value": 1, "text": "1"}]]},
        r"cell type 'raw_number'",
    ),
    "rows of different widths": (
        {"type": "table", "rows": [*table_block(1, 2)["rows"], *table_block(1, 3)["rows"]]},
        r"different numbers of cells",
    ),
    "a justified column": (
        {**table_block(2, 1), "column_settings": [{"align": "justify"}]},
        r"align: 'justify'",
    ),
    "21 column settings": (
        {**table_block(2, 1), "column_settings": [{"align": "left"}] * 21},
        r"column_settings: 21 items",
    ),
}


@pytest.mark.parametrize("name", TABLE_VIOLATIONS)
def test_the_checker_catches_each_table_violation(name: str) -> None:
    block, expected = TABLE_VIOLATIONS[name]
    errors = block_errors(block)
    assert any(re.search(expected, error) for error in errors), errors


def test_the_checker_catches_what_one_message_may_not_hold() -> None:
    three_charts = [bar_example(), line_example(), pie_block(1.0)]
    assert any("3 chart blocks" in e for e in message_errors(three_charts))
    two_tables = [table_block(2, 2), table_block(2, 2)]
    assert any("2 table blocks" in e for e in message_errors(two_tables))


# --- charts --------------------------------------------------------------------------------


QUARTERS = ("Q1", "Q2", "Q3", "Q4")


def chart(kind: ChartKind, n: int = 1) -> Chart:
    """A small chart of each kind: two series over quarters, or a pie of four slices."""
    if kind is ChartKind.PIE:
        return Chart(
            f"ARR by segment {n}",
            kind,
            ("Enterprise", "Mid-market", "SMB", "Startup"),
            (Series("ARR", (540.0, 210.0, 95.0, 12.5)),),
            f"Enterprise 540k, mid-market 210k, SMB 95k, startups 12.5k (chart {n}).",
            unit="k",
        )
    return Chart(
        f"Renewals by quarter {n}",
        kind,
        QUARTERS,
        (Series("Renewed", (12.0, 15.0, 9.0, 14.0)), Series("Churned", (2.0, 1.0, 4.0, 0.0))),
        f"Renewed 12, 15, 9, 14; churned 2, 1, 4, 0 by quarter (chart {n}).",
        y_label="Accounts",
    )


def drawn(block: Block) -> dict[str, list[tuple[str, float]]]:
    """What a chart block draws: each series (or the pie) as (label, value) pairs."""
    body = block["chart"]
    if body["type"] == "pie":
        return {"": [(s["label"], s["value"]) for s in body["segments"]]}
    return {s["name"]: [(p["label"], p["value"]) for p in s["data"]] for s in body["series"]}


def context_under(blocks: list[Block], block: Block) -> str:
    """The text of the context line right under `block`."""
    after = blocks[blocks.index(block) + 1]
    assert after["type"] == "context", after
    return "\n".join(element["text"] for element in after["elements"])


@pytest.mark.parametrize("kind", list(ChartKind))
@pytest.mark.parametrize("count", [1, 2, 3])
def test_up_to_two_charts_are_drawn_natively_and_a_third_as_text(
    kind: ChartKind, count: int
) -> None:
    charts = tuple(chart(kind, n) for n in range(1, count + 1))
    message = check_message(render_message(Reply("Renewals", charts=charts)))
    native = of_type(message.blocks, "data_visualization")
    assert [b["title"] for b in native] == [c.title for c in charts[:2]]
    for block, source in zip(native, charts, strict=False):
        assert block["chart"]["type"] == kind.value
        if kind is ChartKind.PIE:
            assert drawn(block) == {
                "": list(zip(source.categories, source.series[0].values, strict=True))
            }
        else:
            assert drawn(block) == {
                s.name: list(zip(source.categories, s.values, strict=True)) for s in source.series
            }
            assert block["chart"]["axis_config"]["categories"] == list(QUARTERS)
            assert block["chart"]["axis_config"]["y_label"] == "Accounts"
        assert context_under(message.blocks, block) == source.summary
    texts = section_texts(message.blocks)
    if count == 3:
        (third,) = [t for t in texts if t.startswith(f"*{charts[2].title}*")]
        assert charts[2].summary in third
    else:
        assert not [t for t in texts if "Renewals by quarter" in t or "ARR by segment" in t]
    # Notifications and screen readers get only `text`: every summary is there.
    for source in charts:
        assert source.summary in message.text
    assert OMITTED not in str(message.blocks)


def test_charts_on_the_home_tab_are_text() -> None:
    charts = (chart(ChartKind.LINE), chart(ChartKind.PIE))
    view = check_home(render_home([Reply("Renewals", charts=charts)]))
    assert of_type(view["blocks"], "data_visualization") == []
    texts = section_texts(view["blocks"])
    for source in charts:
        assert any(t.startswith(f"*{source.title}*") and source.summary in t for t in texts)


def daily(days: int) -> Chart:
    start = dt.date(2026, 1, 1)
    dates = [start + dt.timedelta(days=d) for d in range(days)]
    values = tuple(float(50 + (d * 7) % 23 - (d // 10)) for d in range(days))
    return Chart(
        f"Average health, last {days} days",
        ChartKind.LINE,
        tuple(f"{day:%b %d}" for day in dates),
        (Series("Average health", values),),
        f"Average health {values[0]:.0f} on Jan 01, {values[-1]:.0f} on the last day.",
        y_label="Health (0-100)",
        thresholds=(Threshold("Red below", 40.0), Threshold("Green from", 70.0)),
    )


def test_90_daily_points_draw_20_evenly_spaced_ones_with_the_last_and_say_so() -> None:
    source = daily(90)
    message = check_message(render_message(Reply("Portfolio", charts=(source,))))
    (block,) = of_type(message.blocks, "data_visualization")
    categories = block["chart"]["axis_config"]["categories"]
    assert len(categories) == 20
    positions = [source.categories.index(label) for label in categories]
    assert positions[0] == 0 and positions[-1] == 89
    gaps = [b - a for a, b in itertools.pairwise(positions)]
    assert max(gaps) - min(gaps) <= 1 and min(gaps) >= 1
    series = drawn(block)
    # The values drawn are the real ones at those days, not averages.
    assert series["Average health"] == [
        (source.categories[i], source.series[0].values[i]) for i in positions
    ]
    # Thresholds are flat series beside the data.
    assert series["Red below"] == [(label, 40) for label in categories]
    assert series["Green from"] == [(label, 70) for label in categories]
    line = context_under(message.blocks, block)
    assert line.startswith(source.summary)
    assert "20 of the 90 points" in line
    assert source.summary in message.text


def test_twenty_points_are_drawn_as_they_are() -> None:
    source = daily(20)
    message = check_message(render_message(Reply("Portfolio", charts=(source,))))
    (block,) = of_type(message.blocks, "data_visualization")
    assert block["chart"]["axis_config"]["categories"] == list(source.categories)
    assert context_under(message.blocks, block) == source.summary


def test_negative_values_are_drawn_as_they_are() -> None:
    for kind in (ChartKind.LINE, ChartKind.BAR, ChartKind.AREA):
        source = Chart(
            "Net ARR change",
            kind,
            ("Jan", "Feb", "Mar"),
            (Series("Change", (-10.0, 5.5, -0.25)),),
            "Net ARR change: −10k in January, +5.5k in February, −0.25k in March.",
            unit="k",
        )
        message = check_message(render_message(Reply("ARR", charts=(source,))))
        (block,) = of_type(message.blocks, "data_visualization")
        assert drawn(block) == {"Change": [("Jan", -10), ("Feb", 5.5), ("Mar", -0.25)]}
        assert block["chart"]["axis_config"]["y_label"] == "k"


def test_long_labels_are_shortened_and_stay_distinct() -> None:
    categories = (
        "Enterprise accounts in EMEA",
        "Enterprise accounts in APAC",
        "Enterprise accounts in North America",
        "Enterprise accounts in North Africa",
        "Enterprise accounts in North America",  # the same label twice
    )
    source = Chart(
        "A title far longer than the fifty characters Slack allows for a chart",
        ChartKind.BAR,
        categories,
        (
            Series("Gross revenue retention, trailing", (90.0, 91.0, 92.0, 93.0, 94.0)),
            Series("Gross revenue retention, forward", (88.0, 89.0, 90.0, 91.0, 92.0)),
        ),
        "GRR trailing 90–94 %, forward 88–92 % across the five groups.",
        unit="%",
    )
    message = check_message(render_message(Reply("GRR", charts=(source,))))
    (block,) = of_type(message.blocks, "data_visualization")
    assert len(block["title"]) <= 50 and block["title"].startswith("A title far longer")
    labels = block["chart"]["axis_config"]["categories"]
    names = [s["name"] for s in block["chart"]["series"]]
    for shown, full in [
        *zip(labels, categories, strict=True),
        *zip(names, (s.name for s in source.series), strict=True),
    ]:
        assert len(shown) <= 20
        assert shown[:8] == full[:8]  # still recognisably the same label
    assert len(set(labels)) == 5 and len(set(names)) == 2
    # Every value stays with its own category and series, in order.
    for name, series in zip(names, source.series, strict=True):
        assert drawn(block)[name] == list(zip(labels, series.values, strict=True))


def test_a_pie_of_many_slices_shows_the_five_largest_and_the_rest_as_one() -> None:
    labels = ("A", "B", "C", "D", "E", "F", "G", "H")
    values = (5.0, 40.0, 3.0, 20.0, 12.0, 8.0, 2.0, 10.0)
    source = Chart(
        "Tickets by topic", ChartKind.PIE, labels, (Series("Tickets", values),), "Mostly B and D."
    )
    message = check_message(render_message(Reply("Support", charts=(source,))))
    (block,) = of_type(message.blocks, "data_visualization")
    slices = drawn(block)[""]
    assert slices[:5] == [("B", 40), ("D", 20), ("E", 12), ("F", 8), ("H", 10)]
    other_label, other = slices[5]
    assert "3" in other_label and other == 5 + 3 + 2
    assert sum(v for _, v in slices) == sum(values)  # every share is what it was
    assert "5 largest of 8 slices" in context_under(message.blocks, block)


def test_a_chart_of_more_series_than_slack_draws_is_text() -> None:
    source = Chart(
        "Health by CSM",
        ChartKind.LINE,
        QUARTERS,
        tuple(Series(f"CSM {i}", (60.0 + i, 61.0, 62.0, 63.0)) for i in range(5)),
        "Five CSMs' books between 60 and 65.",
        thresholds=(Threshold("Red below", 40.0), Threshold("Green from", 70.0)),
    )
    message = check_message(render_message(Reply("Team", charts=(source,))))
    assert of_type(message.blocks, "data_visualization") == []
    (text,) = [t for t in section_texts(message.blocks) if t.startswith("*Health by CSM*")]
    assert source.summary in text and "CSM 4" in text
    assert source.summary in message.text


def test_a_chart_without_categories_is_text() -> None:
    source = Chart("Nothing yet", ChartKind.BAR, (), (Series("None", ()),), "No data yet.")
    message = check_message(render_message(Reply("Empty", charts=(source,))))
    assert of_type(message.blocks, "data_visualization") == []
    assert any("No data yet." in t for t in section_texts(message.blocks))


def test_a_chart_that_no_longer_fits_the_message_is_drawn_as_text() -> None:
    paragraphs = ("Long paragraph. " * 156,) * 3  # about 7,500 characters in all
    wide = Chart(
        "Usage by product area",
        ChartKind.AREA,
        tuple(f"Product area number {i:02d}" for i in range(20)),
        tuple(
            Series(f"Team number {s} of six", tuple(float(i * s) for i in range(20)))
            for s in range(6)
        ),
        "Usage grows in every area; team 5 leads.",
    )
    message = check_message(render_message(Reply("Usage", paragraphs=paragraphs, charts=(wide,))))
    assert of_type(message.blocks, "data_visualization") == []
    assert any(t.startswith("*Usage by product area*") for t in section_texts(message.blocks))
    assert wide.summary in message.text


def test_every_summary_is_in_the_notification_text_even_after_a_long_paragraph() -> None:
    words = " ".join(f"word{i}" for i in range(4000))
    charts = (daily(90), chart(ChartKind.PIE), chart(ChartKind.BAR, 3))
    message = check_message(render_message(Reply("Digest", paragraphs=(words,), charts=charts)))
    assert message.text.startswith("Digest\nword0 word1")
    assert len(message.text) <= 3000
    for source in charts:
        assert source.summary in message.text


def test_summaries_are_escaped_wherever_they_are_mrkdwn() -> None:
    source = Chart(
        "<!channel> & co",
        ChartKind.LINE,
        ("a", "b"),
        (Series("<@U0CSM1>", (1.0, 2.0)),),
        "From 1 to 2 <!here> & <http://evil.example|click>",
    )
    message = check_message(render_message(Reply("Escapes", charts=(source,))))
    (block,) = of_type(message.blocks, "data_visualization")
    assert block["title"] == "<!channel> & co"  # a plain string, shown as written
    escaped = "From 1 to 2 &lt;!here&gt; &amp; &lt;http://evil.example|click&gt;"
    assert context_under(message.blocks, block) == escaped
    assert escaped in message.text and "<!here>" not in message.text


@settings(max_examples=examples(100))
@given(title=hostile_text(), label=hostile_text(), name=hostile_text())
def test_charts_of_any_text_stay_within_slacks_limits(title: str, label: str, name: str) -> None:
    source = Chart(
        title,
        ChartKind.BAR,
        (label, label + "x", label),
        (Series(name, (1.0, 2.0, 3.0)), Series(name, (3.0, 2.0, 1.0))),
        "Summary.",
        x_label=label,
        y_label=name,
    )
    pie = Chart(title, ChartKind.PIE, (label, label), (Series(name, (1.0, 2.0)),), "Pie.")
    message = check_message(render_message(Reply("Any", charts=(source, pie))))
    assert len(of_type(message.blocks, "data_visualization")) == 2


# --- tables ------------------------------------------------------------------------------


def rows_of(block: Block) -> list[list[str]]:
    return [[cell["text"] for cell in row] for row in block["rows"]]


def grid(rows: int, columns: int, cell: Callable[[int, int], str] | None = None) -> Table:
    make = cell or (lambda r, c: f"r{r}c{c}")
    return Table(
        tuple(f"Column {c}" for c in range(columns)),
        tuple(tuple(make(r, c) for c in range(columns)) for r in range(rows)),
    )


def test_a_table_is_a_native_table_with_numbers_aligned_right() -> None:
    table = Table(
        ("Account", "ARR", "Health", "Renews", "Why"),
        (
            (
                "Acme Corp",
                "$120k",
                "58/100",
                "2026-11-30",
                "31 of 100 seats active in 30 days, down 22 %",
            ),
            ("Globex", "$1,200.5k", "—", "2027-01-15", ""),
            ("Initech", "-$3k", "> 99 %", "2026-12-01", "Renewal call booked"),
        ),
        title="Renewing soon",
    )
    message = check_message(render_message(Reply("Renewals", tables=(table,))))
    (block,) = of_type(message.blocks, "table")
    assert rows_of(block) == [
        ["Account", "ARR", "Health", "Renews", "Why"],
        [
            "Acme Corp",
            "$120k",
            "58/100",
            "2026-11-30",
            "31 of 100 seats active in 30 days, down 22 %",
        ],
        ["Globex", "$1,200.5k", "—", "2027-01-15", "—"],
        ["Initech", "-$3k", "> 99 %", "2026-12-01", "Renewal call booked"],
    ]
    aligns = [setting["align"] for setting in block["column_settings"]]
    assert aligns == ["left", "right", "right", "left", "left"]
    assert block["column_settings"][4].get("is_wrapped") is True
    # The title is a line above the table, which has none of its own.
    assert message.blocks[message.blocks.index(block) - 1]["text"]["text"] == "*Renewing soon*"
    assert not [t for t in section_texts(message.blocks) if "```" in t]


def test_cells_are_one_line_and_shown_whole() -> None:
    long = "word " * 60
    table = Table(("Account", "Note"), (("Acme\nCorp", long),))
    message = check_message(render_message(Reply("Notes", tables=(table,))))
    (block,) = of_type(message.blocks, "table")
    assert rows_of(block)[1] == ["Acme Corp", long.strip()]


@pytest.mark.parametrize(
    ("rows", "columns", "native"),
    [
        (99, 3, True),  # 100 rows with the header: the most a table block takes
        (100, 3, False),
        (5, 20, True),
        (5, 21, False),
    ],
)
def test_tables_at_and_over_the_row_and_column_limits(
    rows: int, columns: int, native: bool
) -> None:
    table = grid(rows, columns)
    message = check_message(render_message(Reply("Grid", tables=(table,))))
    tables = of_type(message.blocks, "table")
    if native:
        (block,) = tables
        assert len(block["rows"]) == rows + 1
        assert rows_of(block)[-1] == list(table.rows[-1])
    else:
        assert tables == []
        (text,) = [t for t in section_texts(message.blocks) if "```" in t]
        assert "Column 0" in text


def _table_of_chars(total: int) -> Table:
    """A 20-column table whose cells, header included, hold exactly `total` characters."""
    header = tuple(f"C{c:02d}" for c in range(20))  # 3 characters each
    rows, left = divmod(total - 60, 200)
    body: list[tuple[str, ...]] = [("x" * 10,) * 20 for _ in range(rows)]
    if left:
        base, extra = divmod(left, 20)
        assert base >= 1
        body.append(tuple("y" * (base + (c < extra)) for c in range(20)))
    table = Table(header, tuple(body))
    assert sum(len(cell) for row in (header, *body) for cell in row) == total
    return table


@pytest.mark.parametrize(("chars", "native"), [(9_000, True), (10_000, False), (10_001, False)])
def test_tables_near_the_character_limit(chars: int, native: bool) -> None:
    table = _table_of_chars(chars)
    message = check_message(render_message(Reply("Wide", tables=(table,))))
    tables = of_type(message.blocks, "table")
    if native:
        (block,) = tables
        assert rows_of(block)[1:] == [list(row) for row in table.rows]
    else:
        # At 10,000 characters the block's own limit is met, but the table and a heading
        # no longer fit the message's text budget: it is shown as monospace text.
        assert tables == []
        (text,) = [t for t in section_texts(message.blocks) if "```" in t]
        assert text.splitlines()[1].split() == list(table.columns)


def test_one_table_per_message_is_native_the_next_is_text() -> None:
    first = Table(("Account", "ARR"), (("Acme", "$120k"),), title="First")
    second = Table(("Account", "NPS"), (("Globex", "+20"),), title="Second")
    message = check_message(render_message(Reply("Two", tables=(first, second))))
    (block,) = of_type(message.blocks, "table")
    assert rows_of(block) == [["Account", "ARR"], ["Acme", "$120k"]]
    (text,) = [t for t in section_texts(message.blocks) if "```" in t]
    assert text.startswith("*Second*\n```") and "Globex" in text


def test_a_table_over_the_limits_leaves_the_native_block_to_the_next() -> None:
    message = check_message(render_message(Reply("Two", tables=(grid(150, 2), grid(3, 2)))))
    (block,) = of_type(message.blocks, "table")
    assert len(block["rows"]) == 4
    (text,) = [t for t in section_texts(message.blocks) if "```" in t]
    assert "r149c1" in text


def test_tables_on_the_home_tab_are_text() -> None:
    view = check_home(render_home([Reply("Home", tables=(grid(3, 2),))]))
    assert of_type(view["blocks"], "table") == []
    assert any("```" in t for t in section_texts(view["blocks"]))


def test_tables_and_charts_together_keep_within_the_message_limits() -> None:
    reply = Reply(
        "Everything",
        paragraphs=tuple(f"Paragraph {i}." for i in range(40)),
        tables=(grid(99, 20), grid(10, 3)),
        charts=(daily(90), chart(ChartKind.PIE), chart(ChartKind.BAR, 3)),
    )
    message = check_message(render_message(reply))
    assert len(message.blocks) <= 50
    for source in reply.charts:
        assert source.summary in message.text
