"""The survey answer of `nps`: NPS, CSAT and CES of a scope and period, read in one go.

Every score comes with its response count and interval (`metrics_core.surveys.scores`);
next to them stand the monthly NPS trend, the weakest segments and CSMs, the latest
detractors' own words and the closed loop for the same scope and period
(`metrics_core.followups.closed_loop`), since a score is only half the story without
whether the unhappy customers behind it were called back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from metrics_core.accounts.lookup import Resolution, resolve_account
from metrics_core.config import FollowUps
from metrics_core.followups.closed_loop import ClosedLoop, closed_loop
from metrics_core.store.frames import survey_responses
from metrics_core.store.models import Segment, SurveyKind
from metrics_core.surveys.nps import NpsResult, nps
from metrics_core.surveys.scores import (
    CesResult,
    CsatResult,
    GroupResult,
    TrendPoint,
    breakdown,
    ces,
    csat,
    latest_detractors,
    monthly_trend,
)

TREND_MONTHS = 6
"""The NPS trend shows the calendar months up to the period's end, this many of them."""
VERBATIMS = 3
CSMS_SHOWN = 8


@dataclass(frozen=True, slots=True)
class Verbatim:
    """A detractor's comment, with who said it and where they work when known."""

    comment: str
    respondent: str | None
    account: str | None
    score: int
    submitted_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SurveyScores:
    nps: NpsResult
    csat: CsatResult
    ces: CesResult
    trend: tuple[TrendPoint[NpsResult], ...]
    """NPS by calendar month, `TREND_MONTHS` of them, the period's last month last."""
    by_segment: tuple[GroupResult[NpsResult], ...]
    """Worst first; empty for one account or one segment, or without NPS answers."""
    by_csm: tuple[GroupResult[NpsResult], ...]
    """The `CSMS_SHOWN` weakest books, worst first; empty without NPS answers."""
    detractors: tuple[Verbatim, ...]
    """The latest detractors who wrote a comment, newest first."""
    closed_loop: ClosedLoop


@dataclass(frozen=True, slots=True)
class SurveyReport:
    resolution: Resolution | None
    """What the account text named, when the question named one."""
    scores: SurveyScores | None
    """None when the account text named no single account."""


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def trend_start(end: dt.date) -> dt.date:
    """The first day of the trend for a period ending (exclusive) on `end`."""
    last_month = pd.Timestamp(end - dt.timedelta(days=1)).to_period("M")
    start: dt.date = (last_month - (TREND_MONTHS - 1)).to_timestamp().date()
    return start


def _text(value: Any) -> str | None:
    """A text cell, or None: pandas stores an absent string as NaN, not None."""
    return value if isinstance(value, str) and value else None


def survey_scores(
    answers: pd.DataFrame,
    *,
    start: dt.date,
    end: dt.date,
    loop: ClosedLoop,
    by_segment: bool,
) -> SurveyScores:
    """The scores of the answers (`store.frames.survey_responses`) submitted in [start,
    end); the trend also reads the earlier answers given, back to `trend_start(end)`."""
    in_period = answers[answers["submitted_at"] >= pd.Timestamp(_utc(start))]
    nps_rows = in_period[in_period["kind"] == SurveyKind.NPS.value]
    history = answers[answers["kind"] == SurveyKind.NPS.value]
    has_nps = len(nps_rows) > 0
    return SurveyScores(
        nps=nps(nps_rows["score"]),
        csat=csat(in_period[in_period["kind"] == SurveyKind.CSAT.value]["score"]),
        ces=ces(in_period[in_period["kind"] == SurveyKind.CES.value]["score"]),
        trend=monthly_trend(history, SurveyKind.NPS, start=trend_start(end), end=end),
        by_segment=breakdown(nps_rows, SurveyKind.NPS, "segment") if by_segment and has_nps else (),
        by_csm=breakdown(nps_rows, SurveyKind.NPS, "owner")[:CSMS_SHOWN] if has_nps else (),
        detractors=tuple(
            Verbatim(
                comment=str(row.comment),
                respondent=_text(row.respondent_name),
                account=_text(row.account),
                score=int(row.score),
                submitted_at=row.submitted_at.to_pydatetime(),
            )
            for row in latest_detractors(nps_rows, VERBATIMS).itertuples()
        ),
        closed_loop=loop,
    )


def survey_report(
    session: Session,
    *,
    account_text: str | None,
    segment: Segment | None,
    start: dt.date,
    end: dt.date,
    follow_ups: FollowUps,
    now: dt.datetime,
) -> SurveyReport:
    """`nps [account | segment] [period]` in one transaction: the account the text names,
    if any, and the scores of the answers in [start, end) with their closed loop."""
    account_ids: list[int] | None = None
    resolution = None
    if account_text:
        resolution = resolve_account(session, account_text)
        if resolution.match is None:
            return SurveyReport(resolution, None)
        account_ids = [resolution.match.id]
    answers = survey_responses(
        session,
        _utc(min(start, trend_start(end))),
        _utc(end),
        account_ids=account_ids,
        segment=segment.value if segment else None,
    )
    loop = closed_loop(
        session,
        _utc(start),
        _utc(end),
        follow_ups,
        now=now,
        account_ids=account_ids,
        segment=segment,
    )
    scores = survey_scores(
        answers,
        start=start,
        end=end,
        loop=loop,
        by_segment=segment is None and account_ids is None,
    )
    return SurveyReport(resolution, scores)
