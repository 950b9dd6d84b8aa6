"""Periods, segments and counts as people type them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.args import parse_count, parse_period, parse_scope, parse_segment
from metrics_core.store.models import Segment

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


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("last month", D(2026, 10, 1), D(2026, 11, 1), "October 2026"),
        ("Previous Month", D(2026, 10, 1), D(2026, 11, 1), "October 2026"),
        ("this month", D(2026, 11, 1), D(2026, 12, 1), "November 2026"),
        ("this quarter", D(2026, 10, 1), D(2027, 1, 1), "Q4 2026"),
        ("last quarter", D(2026, 7, 1), D(2026, 10, 1), "Q3 2026"),
        ("this year", D(2026, 1, 1), D(2027, 1, 1), "2026"),
        ("last year", D(2025, 1, 1), D(2026, 1, 1), "2025"),
        ("last 30 days", D(2026, 10, 22), D(2026, 11, 21), "last 30 days"),
        ("past 2 weeks", D(2026, 11, 7), D(2026, 11, 21), "last 2 weeks"),
        ("90 days", D(2026, 8, 23), D(2026, 11, 21), "last 90 days"),
        ("90days", D(2026, 8, 23), D(2026, 11, 21), "last 90 days"),
        ("q3 2025", D(2025, 7, 1), D(2025, 10, 1), "Q3 2025"),
        ("2025 Q3", D(2025, 7, 1), D(2025, 10, 1), "Q3 2025"),
        ("last week", D(2026, 11, 9), D(2026, 11, 16), "week of 9 November 2026"),
    ],
)
def test_periods_people_say_in_words(text: str, start: D, end: D, label: str) -> None:
    scope = parse_scope(f"smb {text}", TODAY)
    assert scope.problem is None
    assert scope.period is not None
    assert (scope.period.start, scope.period.end, scope.period.label) == (start, end, label)
    assert (scope.segment, scope.rest) == (Segment.SMB, ())


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("2026-13", "2026-13"),
        ("acme 2026-00", "2026-00"),
        ("q5 smb", "q5"),
        ("2026-q0", "2026-q0"),
        ("0d", "0d"),
        ("99999d", "99999d"),
        ("2026-10-05", "2026-10-05"),
        ("0000", "0000"),
        ("last 0 days", "last 0 days"),
    ],
)
def test_a_mistyped_period_is_named_not_searched_as_an_account(text: str, token: str) -> None:
    scope = parse_scope(text, TODAY)
    assert scope.period is None
    assert scope.problem == f"“{token}” is not a period"
    assert token not in " ".join(scope.rest)


def test_a_period_in_the_future_is_refused() -> None:
    scope = parse_scope("2027", TODAY)
    assert scope.problem == "2027 has not started yet"


def test_words_that_are_no_period_stay_for_the_account_search() -> None:
    scope = parse_scope("last mile logistics", TODAY)
    assert (scope.period, scope.problem, scope.rest) == (None, None, ("last", "mile", "logistics"))
