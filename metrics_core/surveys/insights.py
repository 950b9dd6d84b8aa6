"""`nps insights`: does the NPS band foretell what happens at the renewal, here?

Practitioners report that in B2B the NPS answer goes only weakly with churn but strongly
with expansion: a satisfied customer renews, and only a delighted one buys more. Whether
that holds for this company is a question its own renewals can answer, so this report
answers it from them instead of repeating the rule of thumb.

Definitions (one each):

- Renewals: those decided in the last `LOOKBACK_DAYS` days, with their outcome (churned,
  contracted, flat or expanded; `metrics_core.revenue.outcomes`).
- The account's band at a renewal is that of its latest NPS answer submitted between
  `ANSWER_WINDOW_DAYS` and `ANSWER_LEAD_DAYS` days before the renewal date: recent enough
  to describe the relationship, and given before the renewal was being negotiated, so an
  answer given in anger at a price rise does not count as having foretold the churn.
  The latest answer rather than an account NPS because one account's answers are few, and
  the latest is what the CSM reads (the health scorecard's sentiment uses it too).
  Renewals without such an answer are a row of their own ("no answer").
- Per band: churn, contraction and expansion rates over all of the band's renewals, each
  with its count and Agresti–Coull interval (`metrics_core.proportions.Rate`).
- Whether the band separates an outcome: the difference between promoters' and detractors'
  rates with Newcombe's hybrid score interval (`metrics_core.proportions.difference`).
  Below `MIN_PER_BAND` renewals in either band the report says there are too few to tell,
  however large the difference looks.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.proportions import Difference, Rate, difference
from metrics_core.revenue.outcomes import (
    LOOKBACK_DAYS,
    DecidedRenewal,
    RenewalOutcome,
    decided_renewals,
)
from metrics_core.store.models import Account, AnswerBand, Segment, SurveyKind, SurveyResponse
from metrics_core.surveys.scores import band_of

ANSWER_WINDOW_DAYS = 365
ANSWER_LEAD_DAYS = 30
MIN_PER_BAND = 10
"""Fewest renewals among promoters and among detractors before the report says whether the
band separates an outcome."""
BANDS = (AnswerBand.PROMOTER, AnswerBand.PASSIVE, AnswerBand.DETRACTOR, None)
"""The rows, in reading order; None is renewals without an answer in the window."""


class Verdict(enum.StrEnum):
    """What the promoter–detractor difference in one outcome says."""

    SEPARATES = "separates"
    """Promoters did better than detractors, and the interval leaves out no difference."""
    REVERSED = "reversed"
    """Detractors did better, and the interval leaves out no difference."""
    UNCLEAR = "unclear"
    """The interval includes no difference: these renewals do not tell."""
    TOO_FEW = "too_few"
    """Fewer than `MIN_PER_BAND` promoter or detractor renewals."""


@dataclass(frozen=True, slots=True)
class BandOutcomes:
    band: AnswerBand | None
    churn: Rate
    contraction: Rate
    expansion: Rate

    @property
    def renewals(self) -> int:
        return self.churn.n


@dataclass(frozen=True, slots=True)
class Comparison:
    """Promoters' rate of one outcome against detractors'."""

    outcome: RenewalOutcome
    promoters: Rate
    detractors: Rate
    difference: Difference | None
    """Promoters' rate minus detractors'."""

    @property
    def verdict(self) -> Verdict:
        if min(self.promoters.n, self.detractors.n) < MIN_PER_BAND or self.difference is None:
            return Verdict.TOO_FEW
        if not self.difference.clear:
            return Verdict.UNCLEAR
        # Promoters doing better is fewer churns and contractions, more expansions.
        better = self.difference.estimate > 0
        if self.outcome is not RenewalOutcome.EXPANDED:
            better = not better
        return Verdict.SEPARATES if better else Verdict.REVERSED


@dataclass(frozen=True, slots=True)
class NpsInsights:
    as_of: dt.date
    segment: Segment | None
    since: dt.date
    renewals: int
    """Decided renewals in the window, with or without an answer before them."""
    bands: tuple[BandOutcomes, ...]
    """Promoters, passives, detractors and no answer, in that order."""
    churn: Comparison
    contraction: Comparison
    expansion: Comparison

    @property
    def answered(self) -> int:
        """Renewals whose account had an answer in the window before them."""
        return sum(row.renewals for row in self.bands if row.band is not None)


def _answers(
    session: Session, since: dt.datetime, until: dt.datetime, segment: Segment | None
) -> dict[int, tuple[list[dt.datetime], list[int]]]:
    """Each account's NPS answers submitted in [since, until), oldest first."""
    query = (
        select(SurveyResponse.account_id, SurveyResponse.submitted_at, SurveyResponse.score)
        .where(
            SurveyResponse.kind == SurveyKind.NPS,
            SurveyResponse.account_id.is_not(None),
            SurveyResponse.submitted_at >= since,
            SurveyResponse.submitted_at < until,
        )
        .order_by(SurveyResponse.submitted_at, SurveyResponse.id)
    )
    if segment is not None:
        query = query.join(Account, Account.id == SurveyResponse.account_id).where(
            Account.segment == segment
        )
    answers: dict[int, tuple[list[dt.datetime], list[int]]] = defaultdict(lambda: ([], []))
    for account_id, submitted_at, score in session.execute(query):
        if account_id is None:  # excluded by the query; for the type checker
            continue
        times, scores = answers[account_id]
        times.append(submitted_at)
        scores.append(int(score))
    return answers


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def band_before(
    renewal: DecidedRenewal, answers: dict[int, tuple[list[dt.datetime], list[int]]]
) -> AnswerBand | None:
    """The band of the account's latest answer in the window before the renewal, if any."""
    times, scores = answers.get(renewal.account_id, ([], []))
    end = _midnight(renewal.renewal_date - dt.timedelta(days=ANSWER_LEAD_DAYS))
    start = _midnight(renewal.renewal_date - dt.timedelta(days=ANSWER_WINDOW_DAYS))
    index = bisect.bisect_left(times, end) - 1
    if index < 0 or times[index] < start:
        return None
    return band_of(SurveyKind.NPS, scores[index])


def _rate(rows: Sequence[DecidedRenewal], outcome: RenewalOutcome) -> Rate:
    return Rate.of(sum(row.outcome is outcome for row in rows), len(rows))


def _comparison(
    outcome: RenewalOutcome, by_band: Mapping[AnswerBand | None, Sequence[DecidedRenewal]]
) -> Comparison:
    promoters = _rate(by_band[AnswerBand.PROMOTER], outcome)
    detractors = _rate(by_band[AnswerBand.DETRACTOR], outcome)
    return Comparison(outcome, promoters, detractors, difference(promoters, detractors))


def nps_insights(
    session: Session, *, as_of: dt.date, segment: Segment | None = None
) -> NpsInsights:
    """`nps insights [segment]` in one transaction (see the module docstring)."""
    since = as_of - dt.timedelta(days=LOOKBACK_DAYS)
    renewals = decided_renewals(session, since=since, until=as_of, segment=segment)
    answers = _answers(
        session,
        _midnight(since - dt.timedelta(days=ANSWER_WINDOW_DAYS)),
        _midnight(as_of - dt.timedelta(days=ANSWER_LEAD_DAYS)),
        segment,
    )
    by_band: dict[AnswerBand | None, list[DecidedRenewal]] = {band: [] for band in BANDS}
    for renewal in renewals:
        by_band[band_before(renewal, answers)].append(renewal)
    bands = tuple(
        BandOutcomes(
            band,
            _rate(by_band[band], RenewalOutcome.CHURNED),
            _rate(by_band[band], RenewalOutcome.CONTRACTED),
            _rate(by_band[band], RenewalOutcome.EXPANDED),
        )
        for band in BANDS
    )

    return NpsInsights(
        as_of=as_of,
        segment=segment,
        since=since,
        renewals=len(renewals),
        bands=bands,
        churn=_comparison(RenewalOutcome.CHURNED, by_band),
        contraction=_comparison(RenewalOutcome.CONTRACTED, by_band),
        expansion=_comparison(RenewalOutcome.EXPANDED, by_band),
    )
