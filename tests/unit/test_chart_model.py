"""The neutral chart: what a handler may say, stored and read back, drawn as text."""

from __future__ import annotations

import pytest

from bot.charts import chart_lines, drawn_series
from bot.reply import Chart, ChartKind, Reply, Series, Threshold
from bot.reply_codec import decode, encode

HEALTH = Chart(
    title="Health, last 4 weeks",
    kind=ChartKind.LINE,
    categories=("Nov 09", "Nov 16", "Nov 23", "Nov 30"),
    series=(Series("Health", (71.0, 66.0, 58.0, 52.0)),),
    summary="Health 71 on Nov 09, 52 on Nov 30; red below 40, green from 70.",
    y_label="Health",
    thresholds=(Threshold("Red below", 40.0), Threshold("Green from", 70.0)),
)


def test_a_series_needs_one_value_per_category() -> None:
    with pytest.raises(ValueError, match="3 values for 4 categories"):
        Chart("t", ChartKind.BAR, ("a", "b", "c", "d"), (Series("s", (1, 2, 3)),), "s")


def test_a_pie_has_one_series_of_slices_above_zero() -> None:
    with pytest.raises(ValueError, match="zero or less"):
        Chart("t", ChartKind.PIE, ("a", "b"), (Series("s", (3.0, 0.0)),), "3 and 0")
    with pytest.raises(ValueError, match="one series"):
        two = (Series("s", (1.0,)), Series("u", (2.0,)))
        Chart("t", ChartKind.PIE, ("a",), two, "1 and 2")


def test_no_chart_without_its_words_or_with_a_value_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="no text summary"):
        Chart("t", ChartKind.LINE, ("a",), (Series("s", (1.0,)),), "  ")
    with pytest.raises(ValueError, match="not finite"):
        Chart("t", ChartKind.LINE, ("a",), (Series("s", (float("nan"),)),), "nan")


def test_thresholds_are_drawn_as_flat_series_after_the_data() -> None:
    drawn = drawn_series(HEALTH)
    assert [s.name for s in drawn] == ["Health", "Red below", "Green from"]
    assert drawn[1].values == (40.0,) * 4
    assert drawn[2].values == (70.0,) * 4


def test_a_stored_chart_reads_back_the_same() -> None:
    reply = Reply(heading="h", charts=(HEALTH,))
    assert decode(encode(reply)) == reply


def test_a_chart_stored_before_kinds_existed_reads_back_as_a_line() -> None:
    stored = encode(Reply(heading="h"))
    stored["charts"] = [
        {"title": "Average health", "points": [["Nov 01", 61.5], ["Nov 02", 60.0]], "unit": ""}
    ]
    (chart,) = decode(stored).charts
    assert chart.kind is ChartKind.LINE
    assert chart.categories == ("Nov 01", "Nov 02")
    assert chart.series[0].values == (61.5, 60.0)
    assert "61.5" in chart.summary and "60" in chart.summary


def test_as_text_a_chart_keeps_its_title_shape_and_numbers() -> None:
    title, shape, summary = chart_lines(HEALTH)
    assert title == HEALTH.title
    assert "█" in shape and "Nov 09 → Nov 30" in shape
    assert HEALTH.summary in summary


def test_a_pie_as_text_names_each_slice_with_its_share() -> None:
    pie = Chart(
        "Risk bands",
        ChartKind.PIE,
        ("Low", "High"),
        (Series("Customers", (30.0, 10.0)),),
        "30 low, 10 high",
    )
    lines = chart_lines(pie)
    assert "  Low: 30 (75%)" in lines and "  High: 10 (25%)" in lines
