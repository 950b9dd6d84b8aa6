"""CSAT, CES, and the survey views the bot shows: monthly trends, breakdowns, verbatims.

Every result carries `n`, and every interval is None rather than invented when the sample
cannot support one, so a digest can print "CSAT 100 % (n = 1)" and nobody mistakes one
happy customer for a trend. A 95 % interval has to cover the true value about 95 % of the
time at the handful of answers one account gets, not only at hundreds; below a minimum n
(`MIN_N_FOR_INTERVAL`, 5 answers for each metric) there is no interval at all.

- CSAT is the share of 4–5 answers on a 1–5 scale (design "Definitions"), reported in
  percent with the Agresti–Coull ("adjusted Wald") interval: add z²/2 ≈ 1.92 satisfied
  and 1.92 unsatisfied answers, then apply the Wald formula (Agresti & Coull 1998,
  "Approximate is better than 'exact' for interval estimation of binomial proportions",
  The American Statistician 52(2): 119–126). Sauro & Lewis found it the best of the usual
  methods on samples of 5–15 drawn from real data ("Estimating Completion Rates from Small
  Samples Using Binomial Confidence Intervals", Proceedings of the Human Factors and
  Ergonomics Society 49th Annual Meeting, 2005). Not the textbook Wald interval, which
  collapses to zero width at 100 % satisfied; and not Wilson, whose coverage dips to
  0.83–0.85 for shares of 97–99 % (where a happy account's CSAT sits) at n up to 17
  (Brown, Cai & DasGupta 2001, "Interval Estimation for a Binomial Proportion",
  Statistical Science 16(2): 101–133, describe the dip). Computed exactly over shares
  0.50–0.99 and n = 5–150, Agresti–Coull's coverage averages 0.95–0.97 and never falls
  below 0.90; at n = 4 it falls to 0.885.
- CES is the mean on the 1–7 agreement scale of CES 2.0 ("The company made it easy for me
  to handle my issue"; Dixon, Toman & DeLisi 2013, "The Effortless Experience"): higher
  means less effort. Its interval is Student's t on n − 1 degrees of freedom (Student
  1908, "The probable error of a mean", Biometrika 6(1)) around the sample mean, with the
  sample variance pooled with one pseudo-answer of variance `CES_PRIOR_SD`² = 1.5² (a
  quarter of the largest variance a 1–7 scale allows): `s'² = ((n − 1)·s² + 1.5²)/n`.
  The plain t interval has zero width when every answer is the same, which happens often
  on a bounded scale with small n (five answers of 7 from customers of whom 80 % answer 7),
  and then it misses the true mean every time; in a simulation over 42 CES distributions
  centred between 3 and 6.5 its coverage was 0.65 at worst at n = 5 and 0.86 at n = 20.
  With the pooled variance the coverage averages 0.98 at n = 5, 0.97 at n = 10 and 0.95 at
  n = 100, and no distribution fell below 0.89. Below 5 answers the interval would span
  most of the scale (coverage above 0.99: it says nothing), so there is none.
- NPS goes through `metrics_core.surveys.nps.nps`: one definition everywhere.

Frames handed in have one row per response with columns `kind` ("nps"/"csat"/"ces" or
`SurveyKind`), `score` and `submitted_at` (timezone-aware; months are UTC calendar
months), plus whatever else the caller wants to group by or show (`segment`, `owner`,
`comment`, account and respondent names, the response id for a claim button).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeAlias, TypeVar, overload

import numpy as np
import pandas as pd
from scipy import stats

from metrics_core.store.models import SCORE_RANGES, AnswerBand, SurveyKind
from metrics_core.surveys import nps as nps_module
from metrics_core.surveys.nps import (
    NPS_MAX,
    NPS_MIN,
    NPS_MIN_N,
    PROMOTER_FROM,
    Z_95,
    NpsResult,
    validated_scores,
)

__all__ = [
    "CES_MIN_N",
    "CSAT_MIN_N",
    "MIN_N_FOR_INTERVAL",
    "CesResult",
    "CsatResult",
    "GroupResult",
    "SurveyResult",
    "TrendPoint",
    "agresti_coull_interval",
    "band_of",
    "breakdown",
    "ces",
    "csat",
    "latest_detractors",
    "monthly_trend",
    "newcombe_difference_interval",
    "welch_difference",
    "wilson_interval",
]

CSAT_MIN, CSAT_MAX = SCORE_RANGES[SurveyKind.CSAT]
CSAT_SATISFIED_FROM = 4
CES_MIN, CES_MAX = SCORE_RANGES[SurveyKind.CES]
DETRACTOR_BELOW = 7  # NPS 0–6, the same cut as metrics_core.surveys.nps
# One pseudo-answer's spread pooled into the CES variance (module docstring).
CES_PRIOR_SD = (CES_MAX - CES_MIN) / 4

# Fewest answers that get an interval, per metric; the module docstrings say why.
CSAT_MIN_N = 5
CES_MIN_N = 5
MIN_N_FOR_INTERVAL: dict[SurveyKind, int] = {
    SurveyKind.NPS: NPS_MIN_N,
    SurveyKind.CSAT: CSAT_MIN_N,
    SurveyKind.CES: CES_MIN_N,
}

# (detractor up to, promoter from) on each scale. NPS by its definition; CSAT's satisfied
# answers (4–5) are its promoters and 1–2 its detractors; CES 2.0 is an agreement scale
# whose 5–7 agree that the company made it easy and 1–3 disagree.
_BAND_CUTS: dict[SurveyKind, tuple[int, int]] = {
    SurveyKind.NPS: (DETRACTOR_BELOW - 1, PROMOTER_FROM),
    SurveyKind.CSAT: (2, CSAT_SATISFIED_FROM),
    SurveyKind.CES: (3, 5),
}


def band_of(kind: SurveyKind, score: int) -> AnswerBand:
    """Detractor, passive or promoter: what alert routing and SLAs need, on every scale."""
    detractor_to, promoter_from = _BAND_CUTS[kind]
    if score <= detractor_to:
        return AnswerBand.DETRACTOR
    if score >= promoter_from:
        return AnswerBand.PROMOTER
    return AnswerBand.PASSIVE


@dataclass(frozen=True, slots=True)
class CsatResult:
    """CSAT in percent (0–100) with its Agresti–Coull 95 % interval.

    `score` is None when n is 0; the interval is None below `CSAT_MIN_N` answers.
    """

    score: float | None
    satisfied: int
    n: int
    ci_low: float | None
    ci_high: float | None

    @property
    def too_few_for_interval(self) -> bool:
        """Answers exist but fewer than `CSAT_MIN_N`: the score stands alone, without interval."""
        return 0 < self.n < CSAT_MIN_N

    @property
    def share(self) -> float | None:
        """Satisfied answers as a fraction (0–1)."""
        return self.satisfied / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class CesResult:
    """Mean CES (1–7, higher = easier) with a t-based 95 % interval.

    `score` is None when n is 0. `sd` (sample standard deviation) needs two answers, so it
    is None when n is 1; the interval is None below `CES_MIN_N` answers. Identical answers
    have `sd` 0 but an interval of non-zero width: the spread of the pseudo-answer pooled
    into the variance stands in for the spread the sample could not show.
    """

    score: float | None
    n: int
    sd: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def too_few_for_interval(self) -> bool:
        """Answers exist but fewer than `CES_MIN_N`: the score stands alone, without interval."""
        return 0 < self.n < CES_MIN_N


SurveyResult: TypeAlias = NpsResult | CsatResult | CesResult
R_co = TypeVar("R_co", bound=SurveyResult, covariant=True)


@dataclass(frozen=True, slots=True)
class TrendPoint(Generic[R_co]):
    """One UTC calendar month of a trend; `month` is the month's first day."""

    month: dt.date
    result: R_co

    @property
    def n(self) -> int:
        return self.result.n


@dataclass(frozen=True, slots=True)
class GroupResult(Generic[R_co]):
    """One group of a breakdown; `group` is None for responses with no value in the column."""

    group: Hashable | None
    result: R_co

    @property
    def n(self) -> int:
        return self.result.n


def _check_proportion(successes: int, n: int) -> None:
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes} of {n}")


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson (1927) score interval for a proportion, as fractions in [0, 1].

    It inverts the score test instead of plugging the observed share into its own
    variance, so 5 satisfied out of 5 gives [0.57, 1.0] rather than Wald's [1.0, 1.0].
    CSAT uses `agresti_coull_interval` instead: Wilson's coverage dips well below 95 %
    for shares near 100 % at small n (module docstring).
    """
    _check_proportion(successes, n)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def agresti_coull_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Agresti–Coull ("adjusted Wald") interval for a proportion, as fractions in [0, 1].

    Adds z²/2 successes and z²/2 failures, then applies the Wald formula to the adjusted
    share: p̃ = (x + z²/2)/(n + z²), p̃ ± z·sqrt(p̃(1 − p̃)/(n + z²)), clipped to [0, 1]. The
    adjusted share is never 0 or 1, so the interval never has zero width; 5 satisfied out
    of 5 gives [0.51, 1.0] rather than Wald's [1.0, 1.0].
    """
    _check_proportion(successes, n)
    z2 = z * z
    adjusted_n = n + z2
    share = (successes + z2 / 2) / adjusted_n
    half_width = z * math.sqrt(share * (1 - share) / adjusted_n)
    return max(0.0, share - half_width), min(1.0, share + half_width)


def newcombe_difference_interval(
    successes_a: int, n_a: int, successes_b: int, n_b: int, z: float = Z_95
) -> tuple[float, float]:
    """95 % interval of the difference of two independent proportions p_a − p_b, in [−1, 1].

    Newcombe's hybrid score interval (method 10 of Newcombe 1998, "Interval estimation for
    the difference between independent proportions: comparison of eleven methods",
    Statistics in Medicine 17(8): 873–890) combines each group's `wilson_interval`:
    δ − sqrt((p_a − l_a)² + (u_b − p_b)²) to δ + sqrt((u_a − p_a)² + (p_b − l_b)²). Its
    coverage stays near 95 % at the group sizes of tens where the Wald difference interval
    is too narrow, and it never leaves [−1, 1].
    """
    _check_proportion(successes_a, n_a)
    _check_proportion(successes_b, n_b)
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson_interval(successes_a, n_a, z)
    low_b, high_b = wilson_interval(successes_b, n_b, z)
    difference = p_a - p_b
    low = difference - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = difference + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return max(-1.0, low), min(1.0, high)


def welch_difference(
    values_a: Iterable[float], values_b: Iterable[float]
) -> tuple[float, float, float]:
    """Difference of two means, mean_a − mean_b, with its 95 % Welch t interval.

    Welch's t (Welch 1947, "The generalization of 'Student's' problem when several
    different population variances are involved", Biometrika 34(1/2): 28–35) does not
    assume the groups share a variance, with Welch–Satterthwaite degrees of freedom.
    Returns (difference, low, high); needs at least two values in each group.
    """
    a = np.asarray(list(values_a), dtype=np.float64)
    b = np.asarray(list(values_b), dtype=np.float64)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"need at least 2 values per group, got {a.size} and {b.size}")
    difference = float(a.mean() - b.mean())
    share_a, share_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    standard_error = math.sqrt(share_a + share_b)
    if standard_error == 0.0:  # every value identical in both groups: nothing to spread
        return difference, difference, difference
    freedom = (share_a + share_b) ** 2 / (share_a**2 / (a.size - 1) + share_b**2 / (b.size - 1))
    half_width = float(stats.t.ppf(0.975, freedom)) * standard_error
    return difference, difference - half_width, difference + half_width


def csat(scores: Iterable[Any]) -> CsatResult:
    """CSAT of 1–5 answers: the percentage answering 4 or 5, with an Agresti–Coull interval.

    No interval below `CSAT_MIN_N` answers (see the module docstring for why).
    Raises ValueError naming the first answer that is not an integer in 1–5.
    """
    values = validated_scores(scores, low=CSAT_MIN, high=CSAT_MAX, label="CSAT")
    n = int(values.size)
    satisfied = int(np.count_nonzero(values >= CSAT_SATISFIED_FROM))
    if n == 0:
        return CsatResult(None, 0, 0, None, None)
    score = 100.0 * satisfied / n
    if n < CSAT_MIN_N:
        return CsatResult(score, satisfied, n, None, None)
    low, high = agresti_coull_interval(satisfied, n)
    return CsatResult(score, satisfied, n, 100.0 * low, 100.0 * high)


@functools.lru_cache(maxsize=256)
def _t_975(degrees_of_freedom: int) -> float:
    """Student's t 97.5 % quantile, kept per df: a breakdown asks for the same few often."""
    return float(stats.t.ppf(0.975, degrees_of_freedom))


def ces(scores: Iterable[Any]) -> CesResult:
    """CES 2.0 mean of 1–7 answers with a 95 % t interval on a pooled variance, within [1, 7].

    The sample variance is pooled with one pseudo-answer of variance `CES_PRIOR_SD`², so
    identical answers still get an honest, non-zero width; no interval below `CES_MIN_N`
    answers (see the module docstring for the method and its simulated coverage).
    Raises ValueError naming the first answer that is not an integer in 1–7.
    """
    values = validated_scores(scores, low=CES_MIN, high=CES_MAX, label="CES")
    n = int(values.size)
    if n == 0:
        return CesResult(None, 0, None, None, None)
    mean = float(values.mean())
    if n == 1:
        return CesResult(mean, 1, None, None, None)
    sd = float(values.std(ddof=1))
    if n < CES_MIN_N:
        return CesResult(mean, n, sd, None, None)
    pooled_variance = ((n - 1) * sd**2 + CES_PRIOR_SD**2) / n
    half_width = _t_975(n - 1) * math.sqrt(pooled_variance / n)
    return CesResult(
        mean,
        n,
        sd,
        max(float(CES_MIN), mean - half_width),
        min(float(CES_MAX), mean + half_width),
    )


_SCORERS: dict[SurveyKind, Callable[[Iterable[Any]], SurveyResult]] = {
    SurveyKind.NPS: nps_module.nps,
    SurveyKind.CSAT: csat,
    SurveyKind.CES: ces,
}


def _require(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"survey frame lacks column(s) {', '.join(missing)}")


def _of_kind(frame: pd.DataFrame, kind: SurveyKind | str) -> tuple[SurveyKind, pd.DataFrame]:
    survey_kind = SurveyKind(kind)
    _require(frame, ("kind", "score", "submitted_at"))
    # Elementwise ==, not isin: SurveyKind members hash by name, so a hash lookup would
    # miss them against the string values.
    return survey_kind, frame.loc[(frame["kind"] == survey_kind.value).to_numpy(dtype=bool)]


def _utc_instants(values: pd.Series) -> pd.Series:
    """`submitted_at` as UTC timestamps; naive or missing values are refused, not guessed.

    A naive timestamp could be local time anywhere, and guessing moves late-evening
    answers into the wrong month.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted = values.dt.tz_convert("UTC")
    elif values.empty:
        converted = pd.to_datetime(values).dt.tz_localize("UTC")
    elif values.dtype.kind == "M":
        raise ValueError("submitted_at is timezone-naive; pass timezone-aware UTC instants")
    else:
        try:
            converted = pd.to_datetime(values)
        except (TypeError, ValueError):
            # Mixed offsets need utc=True, which would also take naive values as UTC.
            if any(isinstance(v, dt.datetime) and v.tzinfo is None for v in values):
                raise ValueError(
                    "submitted_at mixes naive and timezone-aware values; pass UTC instants"
                ) from None
            converted = pd.to_datetime(values, utc=True)
        if converted.dt.tz is None:
            raise ValueError("submitted_at is timezone-naive; pass timezone-aware UTC instants")
        converted = converted.dt.tz_convert("UTC")
    if converted.isna().any():
        raise ValueError("submitted_at has a missing value; every response needs its instant")
    return converted


def _utc_bound(day: dt.date) -> pd.Timestamp:
    if isinstance(day, dt.datetime):
        if day.tzinfo is None:
            raise ValueError(f"naive datetime {day!r}: pass a date or a timezone-aware datetime")
        return pd.Timestamp(day).tz_convert("UTC")
    return pd.Timestamp(day).tz_localize("UTC")


def _month_index(instant: pd.Timestamp) -> int:
    return int(instant.year) * 12 + int(instant.month) - 1


@overload
def monthly_trend(
    frame: pd.DataFrame,
    kind: Literal[SurveyKind.NPS, "nps"],
    *,
    start: dt.date | None = ...,
    end: dt.date | None = ...,
) -> tuple[TrendPoint[NpsResult], ...]: ...
@overload
def monthly_trend(
    frame: pd.DataFrame,
    kind: Literal[SurveyKind.CSAT, "csat"],
    *,
    start: dt.date | None = ...,
    end: dt.date | None = ...,
) -> tuple[TrendPoint[CsatResult], ...]: ...
@overload
def monthly_trend(
    frame: pd.DataFrame,
    kind: Literal[SurveyKind.CES, "ces"],
    *,
    start: dt.date | None = ...,
    end: dt.date | None = ...,
) -> tuple[TrendPoint[CesResult], ...]: ...
@overload
def monthly_trend(
    frame: pd.DataFrame,
    kind: SurveyKind | str,
    *,
    start: dt.date | None = ...,
    end: dt.date | None = ...,
) -> tuple[TrendPoint[SurveyResult], ...]: ...
def monthly_trend(
    frame: pd.DataFrame,
    kind: SurveyKind | str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> tuple[TrendPoint[SurveyResult], ...]:
    """The `kind` result for each UTC calendar month, oldest first, with no gaps.

    Months without answers are present with n = 0 (score None) so a chart shows the gap
    instead of joining the neighbours. Without `start`/`end` the months run from the first
    to the last answer; with them, only answers in [start, end) count (UTC days) and every
    month touching that window is listed, so "the last 12 months" always has 12 points.
    """
    survey_kind, rows = _of_kind(frame, kind)
    instants = _utc_instants(rows["submitted_at"])
    keep = np.ones(len(rows), dtype=bool)
    lower = _utc_bound(start) if start is not None else None
    upper = _utc_bound(end) if end is not None else None
    if lower is not None and upper is not None and lower >= upper:
        raise ValueError(f"empty window: start {start} is not before end {end}")
    if lower is not None:
        keep &= (instants >= lower).to_numpy(dtype=bool)
    if upper is not None:
        keep &= (instants < upper).to_numpy(dtype=bool)
    rows, instants = rows.loc[keep], instants.loc[keep]

    months = instants.dt.year * 12 + instants.dt.month - 1
    first = _month_index(lower) if lower is not None else None
    last = _month_index(upper - pd.Timedelta(1, "ns")) if upper is not None else None
    if first is None or last is None:
        if months.empty:
            return ()
        first = int(months.min()) if first is None else first
        last = int(months.max()) if last is None else last

    scorer = _SCORERS[survey_kind]
    by_month = {int(month): scores for month, scores in rows["score"].groupby(months)}
    empty = rows["score"].iloc[:0]
    return tuple(
        TrendPoint(dt.date(index // 12, index % 12 + 1, 1), scorer(by_month.get(index, empty)))
        for index in range(first, last + 1)
    )


def _worst_first(item: GroupResult[SurveyResult]) -> tuple[bool, float, int, str]:
    score = item.result.score
    return (score is None, 0.0 if score is None else score, -item.n, str(item.group))


@overload
def breakdown(
    frame: pd.DataFrame, kind: Literal[SurveyKind.NPS, "nps"], by: str
) -> tuple[GroupResult[NpsResult], ...]: ...
@overload
def breakdown(
    frame: pd.DataFrame, kind: Literal[SurveyKind.CSAT, "csat"], by: str
) -> tuple[GroupResult[CsatResult], ...]: ...
@overload
def breakdown(
    frame: pd.DataFrame, kind: Literal[SurveyKind.CES, "ces"], by: str
) -> tuple[GroupResult[CesResult], ...]: ...
@overload
def breakdown(
    frame: pd.DataFrame, kind: SurveyKind | str, by: str
) -> tuple[GroupResult[SurveyResult], ...]: ...
def breakdown(
    frame: pd.DataFrame, kind: SurveyKind | str, by: str
) -> tuple[GroupResult[SurveyResult], ...]:
    """The `kind` result per value of column `by` (segment, owner, …), worst first.

    Worst first (lowest NPS, CSAT or CES — CES 2.0 is higher-is-easier) because the reader
    acts on the weak groups; ties put the larger group first, and each row carries `n` so
    a −100 from two answers is visibly thin evidence. Responses with no value in `by`
    form their own group (None) so the groups always add up to the whole.
    """
    survey_kind, rows = _of_kind(frame, kind)
    _require(rows, (by,))
    scorer = _SCORERS[survey_kind]
    groups = [
        GroupResult(None if _is_missing(key) else key, scorer(scores))
        for key, scores in rows.groupby(by, dropna=False, sort=False)["score"]
    ]
    return tuple(sorted(groups, key=_worst_first))


def _is_missing(value: Any) -> bool:
    missing = pd.isna(value)
    return bool(missing) if isinstance(missing, bool | np.bool_) else False


def latest_detractors(frame: pd.DataFrame, limit: int = 5) -> pd.DataFrame:
    """The newest NPS detractor verbatims: rows with score 0–6 and a non-blank comment.

    Returns the caller's rows (all columns, `submitted_at` in UTC), newest first, at most
    `limit` of them, index 0…k−1. A frame rather than a dataclass because what goes next
    to a verbatim — account, respondent, response id for the claim button — is whatever
    the query put in the frame. `len()` of the result is its n. Other survey kinds are
    ignored: "detractor" is an NPS definition.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
    _, rows = _of_kind(frame, SurveyKind.NPS)
    _require(rows, ("comment",))
    scores = validated_scores(rows["score"], low=NPS_MIN, high=NPS_MAX, label="NPS")
    text = rows["comment"].fillna("").astype(str).str.strip()
    chosen = rows.loc[(scores < DETRACTOR_BELOW) & (text != "").to_numpy(dtype=bool)]
    chosen = chosen.assign(submitted_at=_utc_instants(chosen["submitted_at"]))
    newest_first = chosen.sort_values("submitted_at", ascending=False, kind="stable")
    return newest_first.head(limit).reset_index(drop=True)
