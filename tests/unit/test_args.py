"""Periods, segments and counts as people type them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.args import parse_count, parse_period, parse_scope, parse_segment
from metrics_core.models import Segment

TODAY = dt.date(2026, 11, 20)
D = dt.date


@pytest.mark.parametrize(
    ("token", "start", "end", "label"),
    [
        ("30d", D(2026, 10, 22), D(2026, 11, 21), "last 30 days"),
        ("1w", D(2026, 11, 14), D(2026, 11, 21), "last 1 week"),
        ("12m", D(2025, 11, 26), D(2026, 11, 21), "last 12 months"),
        ("2026", D(2026, 1, 1), D(2027, 1, 1), "2026"),
        ("2026-10", D(2026, 10, 1), D(2026, 11, 1), "October 2026"),
        ("2025-12", D(2025, 12, 1), D(2026, 1, 1), "December 2025"),
        ("q3", D(2026, 7, 1), D(2026, 10, 1), "Q3 2026"),
        ("2025-Q4", D(2025, 10, 1), D(2026, 1, 1), "Q4 2025"),
        ("ytd", D(2026, 1, 1), D(2026, 11, 21), "2026 so far"),
        ("MTD", D(2026, 11, 1), D(2026, 11, 21), "November 2026 so far"),
    ],
)
def test_periods_are_half_open_and_named(token: str, start: D, end: D, label: str) -> None:
    period = parse_period(token, TODAY)
    assert period is not None
    assert (period.start, period.end, period.label) == (start, end, label)


@pytest.mark.parametrize("token", ["0d", "2026-13", "q5", "soon", "99999d", ""])
def test_what_is_not_a_period(token: str) -> None:
    assert parse_period(token, TODAY) is None


def test_segments_counts_and_scope() -> None:
    assert parse_segment("midmarket") is Segment.MID_MARKET
    assert parse_segment("SMB") is Segment.SMB
    assert parse_segment("acme") is None
    assert parse_count("25", high=25) == 25
    assert parse_count("26", high=25) is None
    assert parse_count("-1") is None
    scope = parse_scope("acme smb 90d corp", TODAY)
    assert scope.segment is Segment.SMB
    assert scope.period is not None
    assert scope.period.label == "last 90 days"
    assert scope.rest == ("acme", "corp")
