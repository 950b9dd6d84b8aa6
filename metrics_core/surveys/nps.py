"""Net Promoter Score, with a 95 % interval that covers the true score about 95 % of the time.

NPS (Reichheld 2003, "The One Number You Need to Grow", Harvard Business Review) buckets
0–10 answers into detractors (0–6), passives (7–8) and promoters (9–10) and reports
%promoters − %detractors, a number from −100 to 100.

A score without its uncertainty misleads a CS team that reads "NPS fell from 40 to 25" off
twelve answers, so every result carries `n` and an interval. One account's NPS often rests
on 3–20 answers, so the interval has to keep its promise there, not only at n = 500.

- Default, `interval="adjusted-wald"`: add 3/4 of an answer to promoters and to detractors
  and 3 to n (so 1.5 to passives), then apply the trinomial Wald formula below. Rocks 2016
  ("Interval Estimation for the 'Net Promoter Score'", The American Statistician 70(4):
  365–372) found this adjustment among the best of the methods he compared, and Sauro &
  Lewis confirmed it on real survey data ("Evaluating NPS Confidence Intervals with
  Real-World Data", MeasuringU, 2021). Computed exactly over every possible sample from 45
  promoter/passive/detractor mixes, its coverage averages 0.95 at every n from 5 to 100 and
  no mix falls below 0.89 (at n = 4 one falls to 0.87, at n = 3 to 0.84). It never has
  zero width.
- `interval="wald"`: the plain Wald interval on the trinomial variance of the net score,
  `score ± 1.96·sqrt(100²·((p + d) − (p − d)²)/n)` with p and d the promoter and detractor
  shares (Rocks 2016). Kept for comparison: it under-covers at small n (on the same mixes
  its coverage averages 0.81 at n = 5 and 0.88 at n = 10) and has zero width whenever every
  answer is in the same class, which reads as certainty.

Both are clipped to [−100, 100], the range the score can take. Below `NPS_MIN_N` answers
there is no interval at all (`ci_low`/`ci_high` None, `too_few_for_interval` True): at
n = 1 the adjusted interval does not even contain the score, and at 2–4 answers it misses
the true score far more often than 1 time in 20 for some mixes. The reported score never
changes with the interval method: only the interval does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from metrics_core.store.models import SCORE_RANGES, SurveyKind

__all__ = [
    "NPS_MIN_N",
    "Z_95",
    "IntervalMethod",
    "NpsResult",
    "ScoreInput",
    "nps",
    "nps_from_counts",
    "validated_scores",
]

# The contract's critical value; 1.959964… would move intervals by < 0.01 points.
Z_95 = 1.96
PROMOTER_FROM = 9
PASSIVE_FROM = 7
NPS_MIN, NPS_MAX = SCORE_RANGES[SurveyKind.NPS]

IntervalMethod = Literal["wald", "adjusted-wald"]
DEFAULT_INTERVAL: IntervalMethod = "adjusted-wald"
# Fewest answers that get an interval; the module docstring says why 5.
NPS_MIN_N = 5
# Rocks (2016), adjusted Wald: pseudo-answers added before computing the interval.
_ADJUST_PROMOTERS = 0.75
_ADJUST_DETRACTORS = 0.75
_ADJUST_N = 3.0

# Lists, generators, numpy arrays and pandas Series are all iterables of answers.
ScoreInput: TypeAlias = Iterable[Any]


@dataclass(frozen=True, slots=True)
class NpsResult:
    """NPS of a set of answers; `score` is None when `n` is 0, the interval below `NPS_MIN_N`.

    No answers means no score, not a score of 0: a chart or digest must be able to tell
    "nobody answered" from "promoters and detractors balance out". A few answers give a
    score but no interval (`too_few_for_interval`), rather than one that claims more than
    the sample can say.
    """

    score: float | None
    promoters: int
    passives: int
    detractors: int
    n: int
    ci_low: float | None
    ci_high: float | None
    interval: IntervalMethod = DEFAULT_INTERVAL

    @property
    def too_few_for_interval(self) -> bool:
        """Answers exist but fewer than `NPS_MIN_N`: the score stands alone, without interval."""
        return 0 < self.n < NPS_MIN_N

    @property
    def promoter_share(self) -> float | None:
        """Promoters as a fraction (0–1) of all answers."""
        return self.promoters / self.n if self.n else None

    @property
    def passive_share(self) -> float | None:
        return self.passives / self.n if self.n else None

    @property
    def detractor_share(self) -> float | None:
        return self.detractors / self.n if self.n else None


def _show(value: Any) -> Any:
    # numpy 2 reprs scalars as "np.int64(11)"; an error message should say 11.
    return value.item() if isinstance(value, np.generic) else value


def _is_integral(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return True
    return isinstance(value, float | np.floating) and math.isfinite(value) and value == int(value)


def validated_scores(
    values: ScoreInput, *, low: int, high: int, label: str
) -> npt.NDArray[np.int64]:
    """Answers on an integer scale as an int64 array, or ValueError naming the first bad one.

    Survey answers arrive from webhooks and CSV files, so a 9.5, an 11 or an empty cell is
    a data error to surface, never something to round or drop silently: a dropped answer
    changes the score without anyone noticing. Integral floats (9.0) are accepted because
    pandas turns an integer column into floats as soon as a join leaves a gap; NaN,
    booleans and strings are refused.
    """
    if isinstance(values, str | bytes):
        raise TypeError(
            f"{label} scores must be a collection of numbers, not {type(values).__name__}"
        )
    if isinstance(values, pd.Series | pd.Index):
        array: npt.NDArray[Any] = np.asarray(values.to_numpy())
    elif isinstance(values, np.ndarray):
        array = values
    else:
        array = np.asarray(list(values))
    array = array.reshape(-1)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)

    kind = array.dtype.kind
    numbers: npt.NDArray[Any]
    if kind in "iu":
        numbers = array
    elif kind == "f":
        bad = ~np.isfinite(array) | (array != np.floor(array))
        if bad.any():
            raise ValueError(f"{label} score {_show(array[bad.argmax()])!r} is not an integer")
        numbers = array
    elif kind == "O":
        for value in array:
            if not _is_integral(value):
                raise ValueError(f"{label} score {_show(value)!r} is not an integer")
        # Python ints, so a value beyond int64 is reported as out of range, not overflowed.
        numbers = np.asarray([int(value) for value in array], dtype=object)
    else:
        raise ValueError(f"{label} score {_show(array[0])!r} is not an integer")

    outside = np.asarray((numbers < low) | (numbers > high), dtype=bool)
    if outside.any():
        raise ValueError(
            f"{label} score {_show(numbers[outside.argmax()])!r} is outside {low}–{high}"
        )
    return numbers.astype(np.int64)


def _clip(value: float) -> float:
    return min(100.0, max(-100.0, value))


def _wald(promoters: float, detractors: float, n: float) -> tuple[float, float]:
    """score ± z·sd on the trinomial variance 100²·((p + d) − (p − d)²)/n (Rocks 2016)."""
    p, d = promoters / n, detractors / n
    centre = 100.0 * (p - d)
    variance = 100.0**2 * ((p + d) - (p - d) ** 2) / n
    # (p + d) − (p − d)² ≥ 0 mathematically; max() keeps float dust from a sqrt domain error.
    half_width = Z_95 * math.sqrt(max(variance, 0.0))
    return _clip(centre - half_width), _clip(centre + half_width)


def nps_from_counts(
    promoters: int, passives: int, detractors: int, *, interval: IntervalMethod = DEFAULT_INTERVAL
) -> NpsResult:
    """NPS from counts already bucketed (e.g. by a SQL GROUP BY); `nps` goes through here.

    One function computes score and interval, so a count-based query and a list of answers
    can never disagree about what NPS is.
    """
    for name, count in (
        ("promoters", promoters),
        ("passives", passives),
        ("detractors", detractors),
    ):
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {_show(count)!r}")
    if interval not in ("wald", "adjusted-wald"):
        raise ValueError(f"unknown interval method {interval!r}: use 'wald' or 'adjusted-wald'")
    promoters, passives, detractors = int(promoters), int(passives), int(detractors)
    n = promoters + passives + detractors
    if n == 0:
        return NpsResult(None, 0, 0, 0, 0, None, None, interval)
    score = 100.0 * (promoters - detractors) / n
    if n < NPS_MIN_N:
        return NpsResult(score, promoters, passives, detractors, n, None, None, interval)
    if interval == "wald":
        low, high = _wald(promoters, detractors, n)
    else:
        low, high = _wald(
            promoters + _ADJUST_PROMOTERS, detractors + _ADJUST_DETRACTORS, n + _ADJUST_N
        )
    return NpsResult(score, promoters, passives, detractors, n, low, high, interval)


def nps(scores: ScoreInput, *, interval: IntervalMethod = DEFAULT_INTERVAL) -> NpsResult:
    """NPS of 0–10 answers (any iterable, numpy array or pandas Series of integers).

    The 95 % interval is Rocks's (2016) adjusted Wald by default: 3/4 of an answer added
    to promoters and to detractors and 3 to n before the trinomial Wald formula, which
    covers the true score about 95 % of the time from 5 answers on (Sauro & Lewis,
    MeasuringU 2021, found the same on real survey data). `interval="wald"` gives the plain
    trinomial Wald interval, which under-covers at small n and has zero width when every
    answer falls in one class. With fewer than `NPS_MIN_N` (5) answers there is no
    interval: `ci_low`/`ci_high` are None and `too_few_for_interval` is True.
    Raises ValueError naming the first answer that is not an integer in 0–10.
    """
    values = validated_scores(scores, low=NPS_MIN, high=NPS_MAX, label="NPS")
    promoters = int(np.count_nonzero(values >= PROMOTER_FROM))
    detractors = int(np.count_nonzero(values < PASSIVE_FROM))
    passives = int(values.size) - promoters - detractors
    return nps_from_counts(promoters, passives, detractors, interval=interval)
