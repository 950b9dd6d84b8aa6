"""A checker for Slack's native chart and table blocks, read from the compiled limits.

Slack publishes no schema for `data_visualization` and `table` blocks and no released
slack_sdk models the chart, so nothing else would tell a test that a block breaks one of
their limits before Slack refuses the whole message. Every limit comes from
tests/conformance/slack-charts-tables-limits.json (each entry there cites where it was
read); where Slack's launch pages and later reports differ, the checker holds blocks to
the stricter of the two, which satisfies both. The few rules not in that file say where
they come from beside the check.

`block_errors` checks one block, `message_errors` a message's blocks (the per-message
limits too); both return what is wrong, in words, and an empty list for a good block.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CONFORMANCE = Path(__file__).parent / "conformance"
LIMITS_FILE = CONFORMANCE / "slack-charts-tables-limits.json"

# Keys that would ask for a colour or stand in for alt text; the block has neither
# ("data_visualization.colors", "data_visualization.fallback_text" in the limits file).
_COLOUR_WORDS = ("color", "colour", "palette", "style")
_ALT_WORDS = ("alt_text", "alt_txt", "fallback")


@dataclass(frozen=True)
class ChartTableLimits:
    """The limits the checker applies, each read from the limits file."""

    chart_fields: frozenset[str]
    title_max: int
    block_id_max: int
    chart_types: frozenset[str]
    charts_per_message: int
    pie_fields: frozenset[str]
    segments_min: int
    segments_max: int
    segment_fields: frozenset[str]
    segment_label_max: int
    series_chart_fields: frozenset[str]
    series_min: int
    series_max: int
    series_name_max: int
    points_min: int
    points_max: int
    point_fields: frozenset[str]
    point_label_max: int
    axis_fields: frozenset[str]
    category_max: int
    categories_max: int
    axis_label_max: int
    table_fields: frozenset[str]
    table_block_id_max: int
    table_rows_max: int
    table_cells_max: int
    cell_types: frozenset[str]
    column_settings_max: int
    aligns: frozenset[str]
    tables_per_message: int
    table_chars_max: int


def _entry(raw: dict[str, Any], name: str) -> dict[str, Any]:
    entry = raw.get(name)
    assert isinstance(entry, dict), f"{name} is not in {LIMITS_FILE.name}"
    return entry


def _within_both(entry: dict[str, Any]) -> int:
    """The stricter of the launch value and the later one: a block within it is within both."""
    values = [entry["value"], entry.get("later_value", entry["value"])]
    return int(min(values))


def _max_in(text: str, name: str) -> int:
    """The number after "max" in a field's description ("string, required, max 20")."""
    found = re.search(r"max (\d+)", text)
    assert found, f"no maximum in {name}: {text!r}"
    return int(found.group(1))


@cache
def chart_table_limits() -> ChartTableLimits:
    """Every limit the checker applies, read once from the conformance file."""
    assert LIMITS_FILE.is_file(), f"Slack's chart and table limits are missing: {LIMITS_FILE}"
    raw = json.loads(LIMITS_FILE.read_text(encoding="utf-8"))

    def e(name: str) -> dict[str, Any]:
        return _entry(raw, name)

    axis = e("data_visualization.axis_config.fields")["value"]
    points = e("data_visualization.data_point.fields")["value"]
    assert "> 0" in e("data_visualization.segment.value")["value"]
    assert "not allowed" in e("data_visualization.data_point.value.null")["value"]
    assert "unique" in e("data_visualization.series.name")["value"]
    # Cell types both the launch page and later text accept.
    cell_types = set(e("table.cell_types")["value"])
    cell_types &= set(e("table.cell_types").get("later_value", cell_types))
    settings = e("table.column_settings")["value"]
    table_fields = e("table.fields")["value"]
    return ChartTableLimits(
        chart_fields=frozenset(e("data_visualization.fields")["value"]),
        title_max=int(e("data_visualization.title.max_chars")["value"]),
        block_id_max=int(e("data_visualization.block_id.max_chars")["value"]),
        chart_types=frozenset(e("data_visualization.chart.type.enum")["value"]),
        charts_per_message=int(e("data_visualization.per_message.max_blocks")["value"]),
        pie_fields=frozenset(e("data_visualization.pie.fields")["value"]),
        segments_min=int(e("data_visualization.pie.segments.count")["min"]),
        segments_max=_within_both(e("data_visualization.pie.segments.count")),
        segment_fields=frozenset({"label", "value"}),  # segment.label + segment.value entries
        segment_label_max=int(e("data_visualization.segment.label.max_chars")["value"]),
        series_chart_fields=frozenset(e("data_visualization.bar|area|line.fields")["value"]),
        series_min=int(e("data_visualization.series.count")["min"]),
        series_max=_within_both(e("data_visualization.series.count")),
        series_name_max=_max_in(e("data_visualization.series.name")["value"], "series.name"),
        points_min=int(e("data_visualization.series.data.count")["min"]),
        points_max=_within_both(e("data_visualization.series.data.count")),
        point_fields=frozenset(points),
        point_label_max=_max_in(points["label"], "data_point.label"),
        axis_fields=frozenset(axis),
        category_max=_max_in(axis["categories"], "axis_config.categories"),
        categories_max=int(e("data_visualization.axis_config.categories.max_items")["value"]),
        axis_label_max=min(
            _max_in(axis["x_label"], "x_label"), _max_in(axis["y_label"], "y_label")
        ),
        table_fields=frozenset(table_fields),
        table_block_id_max=_max_in(table_fields["block_id"], "table.block_id"),
        table_rows_max=_within_both(e("table.rows.max_items")),
        table_cells_max=_within_both(e("table.row.cells.max_items")),
        cell_types=frozenset(cell_types),
        column_settings_max=int(settings["max_items"]),
        aligns=frozenset(re.findall(r"[a-z]+", settings["align"].split(",")[0])),
        tables_per_message=int(e("table.per_message.max_blocks")["value"]),
        table_chars_max=_within_both(e("table.cells.max_total_chars")),
    )


# --- the checks --------------------------------------------------------------------------


def _unknown(node: dict[str, Any], allowed: Iterable[str], where: str) -> list[str]:
    errors = []
    for key in sorted(set(node) - set(allowed)):
        lowered = key.lower()
        if any(word in lowered for word in _COLOUR_WORDS):
            errors.append(f"{where}: {key!r}: the chart block takes no colour or style")
        elif any(word in lowered for word in _ALT_WORDS):
            errors.append(f"{where}: {key!r}: the chart block has no alt text")
        else:
            errors.append(f"{where}: unknown field {key!r}")
    return errors


def _string(value: object, most: int, where: str) -> list[str]:
    if not isinstance(value, str) or not value:
        return [f"{where}: must be a non-empty string, got {value!r}"]
    if len(value) > most:
        return [f"{where}: {len(value)} characters > {most}: {value!r}"]
    return []


def _number(value: object, where: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return [f"{where}: must be a number, got {value!r}"]
    if not math.isfinite(value):
        return [f"{where}: must be finite, got {value!r}"]
    return []


def _count(items: object, low: int, high: int, where: str) -> list[str]:
    if not isinstance(items, list):
        return [f"{where}: must be a list"]
    if not low <= len(items) <= high:
        return [f"{where}: {len(items)} items, allowed {low} to {high}"]
    return []


def _pie_errors(chart: dict[str, Any], limits: ChartTableLimits) -> list[str]:
    errors = _unknown(chart, limits.pie_fields, "chart")
    segments = chart.get("segments")
    errors += _count(segments, limits.segments_min, limits.segments_max, "chart.segments")
    for i, segment in enumerate(segments if isinstance(segments, list) else ()):
        where = f"chart.segments[{i}]"
        errors += _unknown(segment, limits.segment_fields, where)
        errors += _string(segment.get("label"), limits.segment_label_max, f"{where}.label")
        errors += _number(segment.get("value"), f"{where}.value")
        value = segment.get("value")
        if isinstance(value, (int, float)) and not value > 0:
            errors.append(f"{where}.value: a slice must be above zero, got {value!r}")
    return errors


def _series_errors(chart: dict[str, Any], limits: ChartTableLimits) -> list[str]:
    errors = _unknown(chart, limits.series_chart_fields, "chart")
    axis = chart.get("axis_config")
    categories: list[Any] = []
    if not isinstance(axis, dict):
        errors.append("chart.axis_config: required")
    else:
        errors += _unknown(axis, limits.axis_fields, "chart.axis_config")
        raw = axis.get("categories")
        errors += _count(raw, 1, limits.categories_max, "chart.axis_config.categories")
        categories = raw if isinstance(raw, list) else []
        for i, category in enumerate(categories):
            errors += _string(category, limits.category_max, f"chart.axis_config.categories[{i}]")
        if len(set(map(str, categories))) != len(categories):
            errors.append("chart.axis_config.categories: two categories are alike")
        for key in ("x_label", "y_label"):
            if key in axis:
                errors += _string(axis[key], limits.axis_label_max, f"chart.axis_config.{key}")
    series = chart.get("series")
    errors += _count(series, limits.series_min, limits.series_max, "chart.series")
    names: list[Any] = []
    for i, one in enumerate(series if isinstance(series, list) else ()):
        where = f"chart.series[{i}]"
        errors += _unknown(one, {"name", "data"}, where)
        names.append(one.get("name"))
        errors += _string(one.get("name"), limits.series_name_max, f"{where}.name")
        data = one.get("data")
        errors += _count(data, limits.points_min, limits.points_max, f"{where}.data")
        labels = []
        for j, point in enumerate(data if isinstance(data, list) else ()):
            at = f"{where}.data[{j}]"
            errors += _unknown(point, limits.point_fields, at)
            errors += _string(point.get("label"), limits.point_label_max, f"{at}.label")
            errors += _number(point.get("value"), f"{at}.value")
            labels.append(point.get("label"))
        if categories and sorted(map(str, labels)) != sorted(map(str, categories)):
            errors.append(f"{where}.data: needs exactly one point per category, got {labels}")
    if len(set(map(str, names))) != len(names):
        errors.append(f"chart.series: names must be unique, got {names}")
    return errors


def _chart_block_errors(block: dict[str, Any], limits: ChartTableLimits) -> list[str]:
    errors = _unknown(block, limits.chart_fields, "block")
    errors += _string(block.get("title"), limits.title_max, "title")
    if "block_id" in block:
        errors += _string(block["block_id"], limits.block_id_max, "block_id")
    chart = block.get("chart")
    if not isinstance(chart, dict):
        return [*errors, "chart: required"]
    kind = chart.get("type")
    if kind not in limits.chart_types:
        return [*errors, f"chart.type: {kind!r} is not one of {sorted(limits.chart_types)}"]
    if kind == "pie":
        return errors + _pie_errors(chart, limits)
    return errors + _series_errors(chart, limits)


def _cell_text(cell: object) -> str:
    """The characters a table cell shows: its `text` strings (one for raw_text, the text
    runs of a rich_text)."""
    if isinstance(cell, dict):
        own = cell["text"] if isinstance(cell.get("text"), str) else ""
        return own + "".join(_cell_text(v) for k, v in cell.items() if k != "text")
    if isinstance(cell, list):
        return "".join(map(_cell_text, cell))
    return ""


def _table_block_errors(block: dict[str, Any], limits: ChartTableLimits) -> list[str]:
    errors = _unknown(block, limits.table_fields, "block")
    if "block_id" in block:
        errors += _string(block["block_id"], limits.table_block_id_max, "block_id")
    rows = block.get("rows")
    errors += _count(rows, 1, limits.table_rows_max, "rows")
    widths = set()
    for i, row in enumerate(rows if isinstance(rows, list) else ()):
        errors += _count(row, 1, limits.table_cells_max, f"rows[{i}]")
        widths.add(len(row) if isinstance(row, list) else -1)
        for j, cell in enumerate(row if isinstance(row, list) else ()):
            where = f"rows[{i}][{j}]"
            kind = cell.get("type") if isinstance(cell, dict) else None
            if kind not in limits.cell_types:
                errors.append(f"{where}: cell type {kind!r} not in {sorted(limits.cell_types)}")
            elif kind == "raw_text":
                # An empty raw_text is refused ("must be more than 0 characters",
                # vercel/chat#373; slack_sdk RawTextObject "at least 1 character").
                errors += _unknown(cell, {"type", "text"}, where)
                text = cell.get("text")
                if not isinstance(text, str) or not text:
                    errors.append(f"{where}: raw_text needs at least one character")
    if len(widths) > 1:
        # Not stated for `table`; `data_table` requires it, and a ragged table reads badly.
        errors.append(f"rows: rows have different numbers of cells {sorted(widths)}")
    settings = block.get("column_settings")
    if settings is not None:
        errors += _count(settings, 0, limits.column_settings_max, "column_settings")
        for i, setting in enumerate(settings if isinstance(settings, list) else ()):
            if setting is None:
                continue
            where = f"column_settings[{i}]"
            errors += _unknown(setting, {"align", "is_wrapped"}, where)
            if "align" in setting and setting["align"] not in limits.aligns:
                errors.append(f"{where}.align: {setting['align']!r} not in {sorted(limits.aligns)}")
            if "is_wrapped" in setting and not isinstance(setting["is_wrapped"], bool):
                errors.append(f"{where}.is_wrapped: must be true or false")
    chars = table_chars(block)
    if chars > limits.table_chars_max:
        errors.append(f"rows: {chars} characters in cells > {limits.table_chars_max}")
    return errors


def table_chars(block: dict[str, Any]) -> int:
    """Characters over all cells of a table block."""
    rows = block.get("rows")
    return sum(
        len(_cell_text(cell))
        for row in (rows if isinstance(rows, list) else ())
        for cell in (row if isinstance(row, list) else ())
    )


def block_errors(block: dict[str, Any]) -> list[str]:
    """What is wrong with one `data_visualization` or `table` block, in words."""
    limits = chart_table_limits()
    kind = block.get("type")
    if kind == "data_visualization":
        return _chart_block_errors(block, limits)
    if kind == "table":
        return _table_block_errors(block, limits)
    raise ValueError(f"not a chart or table block: {kind!r}")


def message_errors(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """What is wrong with a message's chart and table blocks, one by one and together."""
    limits = chart_table_limits()
    charts = [b for b in blocks if b.get("type") == "data_visualization"]
    tables = [b for b in blocks if b.get("type") == "table"]
    errors = [
        f"blocks[{i}].{error}"
        for i, block in enumerate(blocks)
        if block.get("type") in ("data_visualization", "table")
        for error in block_errors(block)
    ]
    if len(charts) > limits.charts_per_message:
        errors.append(f"{len(charts)} chart blocks in one message > {limits.charts_per_message}")
    if len(tables) > limits.tables_per_message:
        errors.append(f"{len(tables)} table blocks in one message > {limits.tables_per_message}")
    chars = sum(map(table_chars, tables))
    if chars > limits.table_chars_max:
        errors.append(f"{chars} characters in the message's table cells > {limits.table_chars_max}")
    return errors
