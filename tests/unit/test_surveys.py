"""CSAT, CES, monthly trends, breakdowns and verbatims, against hand-worked answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from metrics_core.models import SurveyKind
from metrics_core.nps import nps
from metrics_core.surveys import (
    CesResult,
    CsatResult,
    GroupResult,
    TrendPoint,
    breakdown,
    ces,
    csat,
    latest_detractors,
    monthly_trend,
    wilson_interval,
)

EXACT = 1e-9
UTC = dt.UTC
Z2 = 1.96**2  # 3.8416


def at(
    year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


# --- CSAT -------------------------------------------------------------------------------


def test_csat_without_answers() -> None:
    assert csat([]) == CsatResult(score=None, satisfied=0, n=0, ci_low=None, ci_high=None)
    assert csat([]).share is None


def test_csat_a_worked_wilson_interval() -> None:
    # 10 answers, 8 of them 4 or 5 → CSAT 80 %.
    # Wilson: z² = 3.8416, denominator = 1 + 3.8416/10 = 1.38416
    # centre = (0.8 + 3.8416/20)/1.38416 = 0.99208/1.38416 = 0.716738
    # half   = 1.96·sqrt(0.8·0.2/10 + 3.8416/400)/1.38416 = 1.96·0.160012/1.38416 = 0.226581
    # → [0.490157, 0.943319], i.e. 49.02 % to 94.33 %.
    result = csat([5, 5, 4, 4, 5, 4, 5, 4, 3, 1])
    assert (result.n, result.satisfied, result.score, result.share) == (10, 8, 80.0, 0.8)
    assert result.ci_low == pytest.approx(49.015684672072335, abs=EXACT)
    assert result.ci_high == pytest.approx(94.33190520193067, abs=EXACT)


def test_csat_a_single_answer_still_has_a_wide_interval() -> None:
    # One satisfied answer: Wilson's bounds are n/(n + z²) and 1 → [1/4.8416, 1] = [20.65 %, 100 %].
    happy = csat([5])
    assert (happy.score, happy.n) == (100.0, 1)
    assert happy.ci_low == pytest.approx(100 / (1 + Z2), abs=EXACT)
    assert happy.ci_low == pytest.approx(20.654329147389294, abs=EXACT)
    assert happy.ci_high == pytest.approx(100.0, abs=EXACT)
    # One unsatisfied answer mirrors it: [0, z²/(1 + z²)] = [0, 79.35 %].
    unhappy = csat([3])
    assert (unhappy.score, unhappy.satisfied) == (0.0, 0)
    assert unhappy.ci_low == pytest.approx(0.0, abs=EXACT)
    assert unhappy.ci_high == pytest.approx(100 * Z2 / (1 + Z2), abs=EXACT)


def test_csat_three_is_not_satisfied_four_is() -> None:
    assert csat([3, 4]).satisfied == 1


def test_wilson_interval_directly() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.49015684672072335, abs=EXACT)
    assert high == pytest.approx(0.9433190520193067, abs=EXACT)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([0], "CSAT score 0 is outside 1–5"),
        ([6], "CSAT score 6 is outside 1–5"),
        ([4.5], "CSAT score 4.5 is not an integer"),
    ],
)
def test_csat_refuses_answers_off_the_scale(scores: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        csat(scores)


# --- CES --------------------------------------------------------------------------------


def test_ces_without_answers_and_with_one() -> None:
    assert ces([]) == CesResult(score=None, n=0, sd=None, ci_low=None, ci_high=None)
    # One answer has no spread to estimate: mean only, no interval.
    assert ces([5]) == CesResult(score=5.0, n=1, sd=None, ci_low=None, ci_high=None)


def test_ces_a_worked_t_interval() -> None:
    # 3, 4, 5, 6: mean 4.5; deviations −1.5, −0.5, 0.5, 1.5 → squares sum to 5
    # sd = sqrt(5/3) = 1.290994; t(0.975, 3 df) = 3.182446
    # half width = 3.182446·1.290994/sqrt(4) = 2.054260 → [2.445740, 6.554260]
    result = ces([3, 4, 5, 6])
    assert (result.score, result.n) == (4.5, 4)
    assert result.sd == pytest.approx(1.2909944487358056, abs=EXACT)
    assert result.ci_low == pytest.approx(4.5 - 2.0542602567605206, abs=1e-9)
    assert result.ci_high == pytest.approx(4.5 + 2.0542602567605206, abs=1e-9)


def test_ces_small_sample_interval_is_clipped_to_the_scale() -> None:
    # 6, 7: mean 6.5, sd 0.7071; t(0.975, 1 df) = 12.706 → half width 6.353 → [0.147, 12.853]
    # clipped to the 1–7 scale.
    result = ces([6, 7])
    assert (result.score, result.ci_low, result.ci_high) == (6.5, 1.0, 7.0)


def test_ces_identical_answers_have_zero_spread() -> None:
    assert ces([6, 6, 6]) == CesResult(score=6.0, n=3, sd=0.0, ci_low=6.0, ci_high=6.0)


@pytest.mark.parametrize("bad", [0, 8])
def test_ces_refuses_answers_off_the_scale(bad: int) -> None:
    with pytest.raises(ValueError, match=f"^CES score {bad} is outside 1–7$"):
        ces([4, bad])


# --- monthly trend ----------------------------------------------------------------------


def test_month_boundaries_are_utc_calendar_months() -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    responses = frame(
        [
            # 23:59:59 UTC on 31 January is still January …
            {"kind": "nps", "score": 10, "submitted_at": at(2024, 1, 31, 23, 59, 59)},
            # … and so is 00:30 on 1 February in UTC+1 (= 23:30 UTC on 31 January).
            {
                "kind": "nps",
                "score": 9,
                "submitted_at": dt.datetime(2024, 2, 1, 0, 30, tzinfo=plus_one),
            },
            # Midnight UTC on 1 February is February.
            {"kind": "nps", "score": 0, "submitted_at": at(2024, 2, 1, 0, 0, 0)},
            # Leap day, last second: February.
            {"kind": "nps", "score": 8, "submitted_at": at(2024, 2, 29, 23, 59, 59)},
        ]
    )
    trend = monthly_trend(responses, "nps")
    assert [point.month for point in trend] == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
    january, february = trend
    assert january.result == nps([10, 9])  # NPS 100 from 2 answers
    assert february.result == nps([0, 8])  # one detractor, one passive → −50
    assert (january.n, february.n, february.result.score) == (2, 2, -50.0)


def test_empty_months_are_shown_not_skipped_and_other_kinds_ignored() -> None:
    responses = frame(
        [
            {"kind": SurveyKind.NPS, "score": 9, "submitted_at": at(2025, 1, 10)},
            {"kind": "csat", "score": 1, "submitted_at": at(2025, 2, 10)},
            {"kind": "nps", "score": 3, "submitted_at": at(2025, 3, 10)},
        ]
    )
    trend = monthly_trend(responses, SurveyKind.NPS)
    assert [(p.month.month, p.n, p.result.score) for p in trend] == [
        (1, 1, 100.0),
        (2, 0, None),
        (3, 1, -100.0),
    ]


def test_a_window_lists_every_month_in_it() -> None:
    responses = frame(
        [
            {"kind": "csat", "score": 5, "submitted_at": at(2024, 12, 31, 23, 59, 59)},
            {"kind": "csat", "score": 5, "submitted_at": at(2025, 3, 1)},
            {"kind": "csat", "score": 2, "submitted_at": at(2025, 3, 2, 0, 0, 0)},
            {"kind": "csat", "score": 4, "submitted_at": at(2026, 1, 1, 0, 0, 0)},
        ]
    )
    trend = monthly_trend(responses, "csat", start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 1))
    assert len(trend) == 12
    assert trend[0].month == dt.date(2025, 1, 1)
    assert trend[-1].month == dt.date(2025, 12, 1)
    # The answers on 31 Dec 2024 and 1 Jan 2026 fall outside [start, end).
    assert sum(point.n for point in trend) == 2
    march = trend[2]
    assert isinstance(march, TrendPoint)
    assert march.result == csat([5, 2])
    assert march.result.score == 50.0
    # A window ending mid-month keeps that month but only the answers before `end`:
    # the answer at 00:00 UTC on 2 March is already outside [.., 2 March).
    partial = monthly_trend(responses, "csat", start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 2))
    assert [(p.month.month, p.n) for p in partial] == [(1, 0), (2, 0), (3, 1)]
    assert partial[-1].result == csat([5])


def test_ces_trend_and_an_empty_frame() -> None:
    responses = frame([{"kind": "ces", "score": 6, "submitted_at": at(2025, 5, 5)}])
    (may,) = monthly_trend(responses, "ces")
    assert may.result == ces([6])
    empty = responses.iloc[:0]
    assert monthly_trend(empty, "ces") == ()
    window = monthly_trend(empty, "ces", start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 1))
    assert [(p.month, p.n) for p in window] == [(dt.date(2025, 1, 1), 0), (dt.date(2025, 2, 1), 0)]


def test_naive_timestamps_are_refused() -> None:
    responses = frame([{"kind": "nps", "score": 9, "submitted_at": dt.datetime(2025, 1, 31, 23)}])
    with pytest.raises(ValueError, match="timezone-naive"):
        monthly_trend(responses, "nps")


def test_missing_columns_and_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        monthly_trend(pd.DataFrame({"kind": ["nps"], "score": [9]}), "nps")
    with pytest.raises(ValueError, match="SurveyKind"):
        monthly_trend(frame([]), "sus")


# --- breakdown --------------------------------------------------------------------------


def _segment_responses() -> pd.DataFrame:
    when = at(2025, 6, 1)
    rows = [
        # Enterprise: 2 promoters, 1 detractor → (2 − 1)/3 = 33.3
        ("Enterprise", 10),
        ("Enterprise", 9),
        ("Enterprise", 2),
        # SMB: 1 promoter, 1 passive, 2 detractors → (1 − 2)/4 = −25
        ("SMB", 9),
        ("SMB", 7),
        ("SMB", 6),
        ("SMB", 0),
        # Mid-market: 1 promoter, 1 detractor → 0
        ("Mid-market", 10),
        ("Mid-market", 5),
        # No account matched: 1 passive → 0, a smaller group than Mid-market
        (None, 8),
    ]
    return frame(
        [{"kind": "nps", "score": s, "segment": g, "submitted_at": when} for g, s in rows]
        + [{"kind": "csat", "score": 5, "segment": "SMB", "submitted_at": when}]
    )


def test_breakdown_by_segment_worst_first() -> None:
    groups = breakdown(_segment_responses(), "nps", "segment")
    assert [(g.group, g.n, g.result.score) for g in groups] == [
        ("SMB", 4, -25.0),
        ("Mid-market", 2, 0.0),  # ties with the unmatched group on score; larger n first
        (None, 1, 0.0),
        ("Enterprise", 3, pytest.approx(100 / 3)),
    ]
    assert groups[0] == GroupResult("SMB", nps([9, 7, 6, 0]))
    assert sum(g.n for g in groups) == 10  # the CSAT row is not an NPS answer


def test_breakdown_of_ces_by_owner() -> None:
    when = at(2025, 6, 1)
    responses = frame(
        [
            {"kind": "ces", "score": 7, "owner": "U0CSM1", "submitted_at": when},
            {"kind": "ces", "score": 5, "owner": "U0CSM1", "submitted_at": when},
            {"kind": "ces", "score": 2, "owner": "U0CSM2", "submitted_at": when},
        ]
    )
    groups = breakdown(responses, SurveyKind.CES, "owner")
    assert [(g.group, g.result.score) for g in groups] == [("U0CSM2", 2.0), ("U0CSM1", 6.0)]
    with pytest.raises(ValueError, match="lacks column"):
        breakdown(responses, "ces", "segment")


# --- verbatims --------------------------------------------------------------------------


def _verbatim_responses() -> pd.DataFrame:
    return frame(
        [
            {
                "id": "r1",
                "kind": "nps",
                "score": 2,
                "comment": "Too slow",
                "submitted_at": at(2025, 3, 1),
            },
            {
                "id": "r2",
                "kind": "nps",
                "score": 6,
                "comment": "Support never answers",
                "submitted_at": at(2025, 3, 5),
            },
            {
                "id": "r3",
                "kind": "nps",
                "score": 0,
                "comment": "   ",
                "submitted_at": at(2025, 3, 9),
            },
            {
                "id": "r4",
                "kind": "nps",
                "score": 4,
                "comment": None,
                "submitted_at": at(2025, 3, 8),
            },
            {
                "id": "r5",
                "kind": "nps",
                "score": 7,
                "comment": "Fine I guess",
                "submitted_at": at(2025, 3, 7),
            },
            {
                "id": "r6",
                "kind": "csat",
                "score": 1,
                "comment": "Awful call",
                "submitted_at": at(2025, 3, 6),
            },
            {
                "id": "r7",
                "kind": "nps",
                "score": 3,
                "comment": "Billing is confusing",
                # 02:00 on 4 March in UTC+5 is 21:00 UTC on 3 March.
                "submitted_at": dt.datetime(
                    2025, 3, 4, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))
                ),
            },
        ]
    )


def test_latest_detractors_newest_first_with_text_only() -> None:
    verbatims = latest_detractors(_verbatim_responses(), limit=10)
    # r3 (blank), r4 (no comment), r5 (passive) and r6 (CSAT) are not detractor verbatims.
    assert verbatims["id"].tolist() == ["r2", "r7", "r1"]
    assert verbatims["comment"].tolist() == [
        "Support never answers",
        "Billing is confusing",
        "Too slow",
    ]
    assert verbatims["submitted_at"].tolist()[1] == pd.Timestamp("2025-03-03 21:00", tz="UTC")
    assert list(verbatims.index) == [0, 1, 2]


def test_latest_detractors_limit() -> None:
    assert latest_detractors(_verbatim_responses(), limit=1)["id"].tolist() == ["r2"]
    assert len(latest_detractors(_verbatim_responses(), limit=0)) == 0
    with pytest.raises(ValueError, match="limit"):
        latest_detractors(_verbatim_responses(), limit=-1)
