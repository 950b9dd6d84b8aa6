"""`health validity`: should we believe the health score? Its record on our own renewals.

A health score earns trust by having said "red" before the accounts that churned. This
report replays the company's own history and shows how the score did, in the terms a CS
leader checks: churn rate at the next renewal by band, how well the score ranks churners
above renewals (ROC AUC), how much likelier a red account was to churn (lift), which
components carried signal, the weights the history would prefer, and how often the team
said a score looked wrong.

How the history is replayed, in one definition:

- The renewals are those decided (renewed or churned, `metrics_core.revenue.outcomes`) in
  the last `LOOKBACK_DAYS` days up to the day asked, in the segment asked.
- Each renewal's score is the account's health at a checkpoint before it: the latest of
  the churn model's 30-day cut-offs (`metrics_core.churn.risk.cut_dates`, anchored at the
  start of the usage history) at least `LEAD_DAYS` days before the renewal date, so 60–89
  days ahead, while a CSM could still act. The score is today's scorecard applied to the
  inputs as they stood that day (`account_inputs` sees only rows dated by then), which is
  what the day's stored snapshot holds while the scorecard is unchanged. Replaying rather
  than reading snapshots checks the scorecard the team uses now, and works on imported
  history from the first day; nothing known after the checkpoint enters a score.
- Renewals too early in the history for such a checkpoint (or of accounts that were not
  customers yet at it) are counted, not scored.

Statistics: rates with Agresti–Coull intervals (`metrics_core.proportions.Rate`); the AUC of
the score (lower health = likelier churn) with DeLong's interval on the logit scale
(`roc_auc_interval`); lift of red = churn rate in red ÷ overall churn rate. Each component
gets its own AUC over the renewals where it had data. The suggested weights come from a
logistic regression of churn on the component scores with weights kept at zero or above (a
health weight cannot be negative) and a light ridge penalty, normalised to the current
weights' total; a component without data at a checkpoint is filled with the component's
average. The suggestion is checked out of time: refitted on the older two-thirds of the
renewals, its score is compared with the current one on the newest third. It is a
suggestion: nothing is changed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize
from sqlalchemy.orm import Session

from metrics_core.churn.evaluation import AucEstimate, roc_auc, roc_auc_interval
from metrics_core.churn.risk import cut_dates, history_start
from metrics_core.config import COMPONENTS, Config
from metrics_core.health.feedback import FeedbackSummary, feedback_summary
from metrics_core.health.inputs import account_inputs
from metrics_core.health.scorecard import Band, score_columns
from metrics_core.proportions import Rate
from metrics_core.revenue.outcomes import LOOKBACK_DAYS, DecidedRenewal, decided_renewals
from metrics_core.store.models import Segment

LEAD_DAYS = 60
"""A renewal is scored at the latest checkpoint at least this many days before it."""
FEEDBACK_DAYS = 365
""""Looks wrong" submissions counted: the last year's."""
MIN_RENEWALS = 30
MIN_EACH_OUTCOME = 5
"""Fewer scored renewals than `MIN_RENEWALS`, or fewer than this many churned or renewed,
and the report says there are not enough renewals yet instead of showing rates."""
MIN_EACH_FOR_WEIGHTS = 20
"""Churned and renewed renewals each needed before weights are suggested: with fewer, a
regression on six components mostly fits noise."""
OUT_OF_TIME_SHARE = 1 / 3
MIN_EACH_OUT_OF_TIME = 5
"""The newest third of renewals is the out-of-time check when it holds at least this many
churned and renewed renewals."""
RIDGE = 1.0
"""L2 penalty on the regression's slopes (per unit of a 0–1 component score)."""


class Signal(enum.StrEnum):
    """What one component's AUC says about it."""

    CARRIES = "carries"
    """Its 95 % interval lies above 0.5: lower scores went with churn."""
    NONE_SHOWN = "none_shown"
    """Its interval includes 0.5: no signal shown on these renewals."""
    REVERSED = "reversed"
    """Its interval lies below 0.5: higher scores went with churn."""
    TOO_FEW = "too_few"
    """Too few renewals with data, or no data, to say."""


@dataclass(frozen=True, slots=True)
class BandChurn:
    band: Band
    churn: Rate


@dataclass(frozen=True, slots=True)
class ComponentSignal:
    """One component: how well it alone told churners from renewals, and its weights."""

    name: str
    weight: float
    """The configured weight (`[health.weights]`, or the segment's)."""
    suggested: float | None
    """The weight the backtest prefers, on the same total; None without a suggestion."""
    n: int
    """Scored renewals where this component had data."""
    auc: AucEstimate | None
    """None when it had no data, or its renewals were all churned or all renewed."""

    @property
    def signal(self) -> Signal:
        if self.auc is None or self.auc.ci_low is None or self.auc.ci_high is None:
            return Signal.TOO_FEW
        if self.auc.ci_low > 0.5:
            return Signal.CARRIES
        if self.auc.ci_high < 0.5:
            return Signal.REVERSED
        return Signal.NONE_SHOWN


@dataclass(frozen=True, slots=True)
class OutOfTime:
    """The suggestion refitted on older renewals and tried on the newest ones."""

    tested_from: dt.date
    renewals: int
    churned: int
    current_auc: float
    suggested_auc: float


@dataclass(frozen=True, slots=True)
class ValidityReport:
    as_of: dt.date
    segment: Segment | None
    since: dt.date
    renewals: int
    """Renewals scored (decided in the window, with a checkpoint before them)."""
    churned: int
    too_early: int
    """Renewals decided in the window that could not be scored `LEAD_DAYS` ahead: too early
    in the usage history for a checkpoint, or the account was not a customer yet then."""
    overall: Rate
    bands: tuple[BandChurn, ...]
    auc: AucEstimate | None
    red_lift: float | None
    components: tuple[ComponentSignal, ...]
    weights_total: float
    own_segment_weights: tuple[Segment, ...]
    """Segments with weights of their own, which an unsegmented report scores by but whose
    weights it does not show."""
    suggestion_missing: str | None
    """Why no weights are suggested (None when they are)."""
    out_of_time: OutOfTime | None
    feedback: FeedbackSummary

    @property
    def renewed(self) -> int:
        return self.renewals - self.churned

    @property
    def enough(self) -> bool:
        """Whether the history supports rates and an AUC at all (see `MIN_RENEWALS`)."""
        return (
            self.renewals >= MIN_RENEWALS
            and self.churned >= MIN_EACH_OUTCOME
            and self.renewed >= MIN_EACH_OUTCOME
        )


@dataclass(frozen=True, slots=True)
class _Scored:
    """The replayed renewals as arrays: one row per renewal, oldest first."""

    dates: list[dt.date]
    churned: NDArray[np.int64]
    score: NDArray[np.float64]
    band: NDArray[np.str_]
    components: NDArray[np.float64]  # rows × COMPONENTS, 0–100, NaN where missing


def _checkpoint(cuts: Sequence[dt.date], renewal_date: dt.date) -> dt.date | None:
    """The latest cut-off at least `LEAD_DAYS` before the renewal, if the history has one."""
    index = bisect.bisect_right(cuts, renewal_date - dt.timedelta(days=LEAD_DAYS))
    return cuts[index - 1] if index else None


def _replay(
    session: Session, renewals: Sequence[DecidedRenewal], cuts: Sequence[dt.date], config: Config
) -> tuple[_Scored, int]:
    """Each renewal's health at its checkpoint; and how many renewals had none."""
    by_cut: dict[dt.date, list[DecidedRenewal]] = defaultdict(list)
    too_early = 0
    for renewal in renewals:
        checkpoint = _checkpoint(cuts, renewal.renewal_date)
        if checkpoint is None:
            too_early += 1
        else:
            by_cut[checkpoint].append(renewal)
    rows: list[tuple[dt.date, int, float, str, list[float]]] = []
    for cut in sorted(by_cut):
        wanted = by_cut[cut]
        inputs = account_inputs(session, cut, config, sorted({r.account_id for r in wanted}))
        scored = score_columns(inputs, config)
        at = {int(account_id): i for i, account_id in enumerate(inputs.ids)}
        for renewal in wanted:
            i = at.get(renewal.account_id)
            if i is None:  # not a customer at the checkpoint: nothing to score
                too_early += 1
                continue
            rows.append(
                (
                    renewal.renewal_date,
                    int(renewal.churned),
                    float(scored["score"][i]),
                    str(scored["band"][i]),
                    [float(scored[name][i]) for name in COMPONENTS],
                )
            )
    rows.sort(key=lambda row: row[0])
    scored_rows = _Scored(
        dates=[row[0] for row in rows],
        churned=np.array([row[1] for row in rows], dtype=np.int64),
        score=np.array([row[2] for row in rows], dtype=np.float64),
        band=np.array([row[3] for row in rows], dtype=np.str_),
        components=np.array([row[4] for row in rows], dtype=np.float64).reshape(
            len(rows), len(COMPONENTS)
        ),
    )
    return scored_rows, too_early


def _risk(health: NDArray[np.float64]) -> NDArray[np.float64]:
    """Health (0–100, higher is healthier) as a 0–1 churn ranking for the AUC functions."""
    result: NDArray[np.float64] = np.clip((100.0 - health) / 100.0, 0.0, 1.0)
    return result


def _auc(churned: NDArray[np.int64], health: NDArray[np.float64]) -> AucEstimate | None:
    if churned.size == 0 or churned.min() == churned.max():
        return None
    return roc_auc_interval(churned, _risk(health))


def fit_weights(components: NDArray[np.float64], churned: NDArray[np.int64]) -> NDArray[np.float64]:
    """Non-negative weights (summing to 1, or all 0) that best tell churn from the components.

    `components` is rows × components on 0–100, NaN where missing; a column without any
    data gets weight 0. Logistic regression P(churn) = σ(a − Σ bᵢ·xᵢ/100) with bᵢ ≥ 0 and
    a ridge penalty `RIDGE`·Σbᵢ²/2, fitted by L-BFGS-B; the weights are b / Σb. All zeros
    when no component lowers churn as it rises.
    """
    present = ~np.all(np.isnan(components), axis=0)
    x = components[:, present] / 100.0
    means = np.nanmean(x, axis=0) if x.size else np.zeros(0)
    x = np.where(np.isnan(x), means, x)
    y = churned.astype(np.float64)
    k = x.shape[1]

    def loss(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        z = params[0] - x @ params[1:]
        residual = 1.0 / (1.0 + np.exp(-z)) - y
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + RIDGE * params[1:] @ params[1:] / 2)
        gradient = np.concatenate(([residual.sum()], -(x.T @ residual) + RIDGE * params[1:]))
        return value, gradient

    start = np.zeros(k + 1)
    fitted = optimize.minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(None, None)] + [(0.0, None)] * k
    )
    slopes = np.clip(fitted.x[1:], 0.0, None)
    weights = np.zeros(components.shape[1])
    if slopes.sum() > 1e-9:
        weights[present] = slopes / slopes.sum()
    return weights


def weighted_health(
    components: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The scorecard's arithmetic with other weights: a weighted mean of the components
    each row has, a missing one's weight shared among the others (as `score_columns` does)."""
    have = ~np.isnan(components)
    used = np.where(have, weights, 0.0)
    total = used.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, (np.nan_to_num(components) * used).sum(axis=1) / total, np.nan)
    result: NDArray[np.float64] = np.where(np.isnan(score), np.nanmean(score), score)
    return result


def _out_of_time(scored: _Scored) -> OutOfTime | None:
    """Refit on renewals before the newest third's first date, score the newest third."""
    if not scored.dates:
        return None
    split = scored.dates[int(len(scored.dates) * (1 - OUT_OF_TIME_SHARE))]
    test = np.array([day >= split for day in scored.dates])
    train_y, test_y = scored.churned[~test], scored.churned[test]
    if (
        min(int(train_y.sum()), int((1 - train_y).sum())) < MIN_EACH_OUT_OF_TIME
        or min(int(test_y.sum()), int((1 - test_y).sum())) < MIN_EACH_OUT_OF_TIME
    ):
        return None
    weights = fit_weights(scored.components[~test], train_y)
    if not weights.any():
        return None
    suggested = weighted_health(scored.components[test], weights)
    return OutOfTime(
        tested_from=split,
        renewals=int(test.sum()),
        churned=int(test_y.sum()),
        current_auc=roc_auc(test_y, _risk(scored.score[test])),
        suggested_auc=roc_auc(test_y, _risk(suggested)),
    )


def _suggestion(scored: _Scored) -> tuple[NDArray[np.float64] | None, str | None]:
    churned = int(scored.churned.sum())
    renewed = len(scored.dates) - churned
    if min(churned, renewed) < MIN_EACH_FOR_WEIGHTS:
        return None, (
            f"weights are suggested from {MIN_EACH_FOR_WEIGHTS} churned and "
            f"{MIN_EACH_FOR_WEIGHTS} renewed renewals on (here {churned} and {renewed})"
        )
    weights = fit_weights(scored.components, scored.churned)
    if not weights.any():
        return None, "no component went with fewer churns as it rose: no weights to suggest"
    return weights, None


def health_validity(
    session: Session, *, as_of: dt.date, config: Config, segment: Segment | None = None
) -> ValidityReport:
    """`health validity [segment]` in one transaction (see the module docstring)."""
    since = as_of - dt.timedelta(days=LOOKBACK_DAYS)
    renewals = decided_renewals(session, since=since, until=as_of, segment=segment)
    start = history_start(session)
    cuts = cut_dates(start, as_of) if start is not None else []
    scored, too_early = _replay(session, renewals, cuts, config)
    churned = int(scored.churned.sum())
    overall = Rate.of(churned, len(scored.dates))
    bands = tuple(
        BandChurn(
            band,
            Rate.of(
                int(scored.churned[scored.band == band.value].sum()),
                int((scored.band == band.value).sum()),
            ),
        )
        for band in (Band.RED, Band.YELLOW, Band.GREEN)
    )
    red = bands[0].churn
    red_lift = red.share / overall.share if red.share is not None and overall.share else None
    current: Mapping[str, float] = (
        config.health.weights_for(segment) if segment is not None else config.health.weights
    ).as_dict()
    total = float(sum(current.values()))
    weights, missing = _suggestion(scored)
    components = []
    for index, name in enumerate(COMPONENTS):
        column = scored.components[:, index]
        has = ~np.isnan(column)
        components.append(
            ComponentSignal(
                name=name,
                weight=current[name],
                suggested=None if weights is None else float(weights[index] * total),
                n=int(has.sum()),
                auc=_auc(scored.churned[has], column[has]),
            )
        )
    feedback = feedback_summary(
        session,
        since=as_of - dt.timedelta(days=FEEDBACK_DAYS),
        until=as_of,
        renewals=renewals,
        segment=segment,
    )
    return ValidityReport(
        as_of=as_of,
        segment=segment,
        since=since,
        renewals=len(scored.dates),
        churned=churned,
        too_early=too_early,
        overall=overall,
        bands=bands,
        auc=_auc(scored.churned, scored.score),
        red_lift=red_lift,
        components=tuple(components),
        weights_total=total,
        own_segment_weights=tuple(config.health.segments) if segment is None else (),
        suggestion_missing=missing,
        out_of_time=None if weights is None else _out_of_time(scored),
        feedback=feedback,
    )
