"""Account health: 0–100, higher is healthier, from a configurable scorecard.

Six components, each scored 0–100 from point-in-time inputs (`metrics_core.health.inputs`):
product usage (active users against seats, and their trend), feature adoption breadth,
support load, sentiment (latest NPS and recent CSAT), relationship (days since the last
CSM touchpoint) and commercial signals (expansion, contraction, renewal exposure).
Weights come from `closeloop.toml`, per segment if configured. When an input is missing
its weight is shared among the others and the answer says so, rather than scoring a gap
as zero and calling a quiet account unhealthy.

Scoring is vectorised over a frame of accounts, so one account and the whole portfolio go
through the same arithmetic. Daily snapshots store the results, so trends and movers are
read from history instead of being recomputed.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from metrics_core.churn.risk import RiskModel, churn_risk
from metrics_core.config import COMPONENTS, Config
from metrics_core.health.inputs import Columns, Inputs, account_inputs
from metrics_core.store import input_versions
from metrics_core.store.bulk import write_frame
from metrics_core.store.db import reader, writer
from metrics_core.store.models import HealthSnapshot, Segment

USAGE_LEVEL_SHARE = 0.7  # of the usage component; the rest is its trend


class Band(enum.StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


def band_for(score: float, config: Config) -> Band:
    bands = config.health.bands
    if score < bands.red_below:
        return Band.RED
    if score < bands.green_from:
        return Band.YELLOW
    return Band.GREEN


def _linear(value: NDArray[Any], zero_at: float, full_at: float) -> NDArray[Any]:
    """0 at `zero_at`, 100 at `full_at`, straight in between, clipped; NaN stays NaN."""
    return np.clip((value - zero_at) / (full_at - zero_at), 0, 1) * 100


def _divide(numerator: NDArray[Any], denominator: NDArray[Any]) -> NDArray[Any]:
    """Elementwise division, NaN where the denominator is not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def component_scores(c: Columns, config: Config) -> Columns:
    """Each component's 0–100 score per account; NaN where its input is missing."""
    rules = config.health
    level = _linear(_divide(c["active_users"], c["seats"]), 0, rules.usage.full_marks_active_share)
    trend = _linear(_divide(c["active_users"], c["active_users_prev"]) - 1, -0.5, 0.5)
    usage = np.where(
        np.isnan(trend), level, USAGE_LEVEL_SHARE * level + (1 - USAGE_LEVEL_SHARE) * trend
    )
    usage = np.clip(usage - config.usage_drop.health_penalty * c["usage_drop"], 0, None)

    support = rules.support
    penalty = (
        support.penalty_urgent * c["open_urgent"]
        + support.penalty_high * c["open_high"]
        + support.penalty_normal * c["open_normal"]
        + support.penalty_low * c["open_low"]
        + support.penalty_per_extra_ticket
        * np.clip(c["tickets_recent"] - c["tickets_prev"], 0, None)
    )

    nps_part = c["latest_nps"] * 10
    csat_part = (c["csat_mean"] - 1) / 4 * 100
    both = np.vstack([nps_part, csat_part])
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(both), axis=0)
        sentiment = np.where(counts > 0, np.nansum(both, axis=0) / np.maximum(counts, 1), np.nan)

    relationship = rules.relationship
    touch = 100 - _linear(
        c["days_since_touch"], relationship.full_marks_days, relationship.zero_marks_days
    )
    never_touched = np.isnan(c["days_since_touch"]) & c["touches_known"].astype(bool)

    arr = c["arr"]
    contraction_share = np.nan_to_num(
        _divide(c["contraction_recent"], arr + c["contraction_recent"])
    )
    with np.errstate(invalid="ignore"):
        near_renewal = c["days_to_renewal"] <= rules.commercial.renewal_exposure_days
    commercial = (
        75
        + 25 * (c["expansion_recent"] > 0)
        - np.clip(200 * contraction_share, None, 50)
        - 10 * near_renewal
    )
    return {
        "usage": np.where(c["usage_known"].astype(bool), usage, np.nan),
        "adoption": _linear(
            _divide(c["features_used"], c["features_total"]),
            0,
            rules.adoption.full_marks_feature_share,
        ),
        "support": np.clip(100 - penalty, 0, 100),
        "sentiment": sentiment,
        "relationship": np.where(never_touched, 0.0, touch),
        "commercial": np.where(np.nan_to_num(arr) > 0, np.clip(commercial, 0, 100), np.nan),
    }


def score_columns(inputs: Inputs, config: Config) -> Columns:
    """Scores, effective weights and bands for every account of `inputs`.

    Keys: `score`, `band`, one score per component and one `w_<component>` effective
    weight per component (0 where missing; the present ones sum to 1).
    """
    scores = component_scores(inputs.columns, config)
    segments = inputs.columns["segment"]
    weights = {name: np.zeros(len(inputs)) for name in COMPONENTS}
    for segment in set(segments.tolist()):
        rows = segments == segment
        for name, weight in config.health.weights_for(Segment(segment)).as_dict().items():
            weights[name][rows] = weight
    for name in COMPONENTS:
        weights[name] = np.where(np.isnan(scores[name]), 0.0, weights[name])
    present = np.sum([weights[name] for name in COMPONENTS], axis=0)
    total = np.zeros(len(inputs))
    result: Columns = {}
    for name in COMPONENTS:
        weights[name] = _divide(weights[name], present)
        weights[name] = np.nan_to_num(weights[name])
        total += np.nan_to_num(scores[name]) * weights[name]
        result[name] = scores[name]
        result[f"w_{name}"] = weights[name]
    result["score"] = np.round(total, 1)
    bands = config.health.bands
    result["band"] = np.select(
        [result["score"] < bands.red_below, result["score"] < bands.green_from],
        [Band.RED.value, Band.YELLOW.value],
        Band.GREEN.value,
    )
    return result


def score_frame(inputs: Inputs, config: Config) -> pd.DataFrame:
    """`score_columns` as a DataFrame indexed by account id."""
    return pd.DataFrame(
        score_columns(inputs, config), index=pd.Index(inputs.ids, name="account_id")
    )


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    score: float | None  # None: no data, weight redistributed
    weight: float  # effective weight after redistribution (0 when missing)
    detail: str

    @property
    def contribution(self) -> float:
        """Points this component adds to the score."""
        return 0.0 if self.score is None else self.score * self.weight

    @property
    def shortfall(self) -> float:
        """Points this component costs the score against a perfect 100."""
        return 0.0 if self.score is None else (100 - self.score) * self.weight


@dataclass(frozen=True, slots=True)
class HealthResult:
    score: float
    band: Band
    components: tuple[Component, ...]
    as_of: dt.date
    change_7d: float | None
    change_30d: float | None
    coverage: float = 1.0
    """Share of the scorecard's configured weight that had data (1.0 = every component)."""

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components if c.score is None)

    @property
    def biggest_drag(self) -> Component | None:
        """The component that costs the most points, if any costs more than one."""
        worst = max(self.components, key=lambda c: c.shortfall)
        return worst if worst.shortfall >= 1 else None


def _f(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _details(row: dict[str, Any], config: Config, as_of: dt.date) -> dict[str, str]:
    """Why each component scored as it did, in words a CSM can repeat to the customer."""
    window = config.health.usage.window_days
    details: dict[str, str] = {}
    if not row["usage_known"]:
        details["usage"] = "no usage data"
    else:
        active, seats = _f(row["active_users"]) or 0.0, int(row["seats"])
        if seats > 0:
            text = f"{active:.0f} of {seats} seats active on an average day"
        else:  # usage is scored against seats: without a count it is missing, not zero
            text = f"{active:.0f} active users on an average day"
        prev = _f(row["active_users_prev"])
        if prev:
            text += f", {active / prev - 1:+.0%} against the previous {window} days"
        if row["usage_lag_days"] > 0:
            through = as_of - dt.timedelta(days=int(row["usage_lag_days"]))
            text += f" (usage data through {through:%Y-%m-%d})"
        if row["usage_drop"]:
            text += (
                f"; usage dropped {-row['usage_drop_change']:.0%} below its usual "
                f"level in the last {config.usage_drop.recent_days} days"
            )
        if seats <= 0:
            text += "; not scored: no seat count recorded (`seats` in `closeloop import accounts`)"
        details["usage"] = text
    total = int(row["features_total"])
    details["adoption"] = (
        f"{int(row['features_used'])} of {total} features used in {window} days"
        if total
        else "no feature data"
    )
    open_hot = int(row["open_urgent"] + row["open_high"])
    open_all = open_hot + int(row["open_normal"] + row["open_low"])
    opened = int(row["tickets_recent"])
    details["support"] = (
        f"{_count(open_all, 'open ticket')} ({open_hot} high or urgent), "
        f"{opened} opened in {window} days"
    )
    parts = []
    if (nps := _f(row["latest_nps"])) is not None:
        parts.append(f"latest NPS answer {nps:.0f}/10")
    if (csat := _f(row["csat_mean"])) is not None:
        parts.append(f"CSAT average {csat:.1f}/5")
    details["sentiment"] = ", ".join(parts) or "no survey answers in the window"
    days = _f(row["days_since_touch"])
    if days is not None:
        details["relationship"] = f"last CSM touchpoint {days:.0f} days ago"
    else:
        details["relationship"] = (
            "no CSM touchpoint recorded" if row["touches_known"] else "no activity data"
        )
    commercial = []
    if row["expansion_recent"] > 0:
        commercial.append(f"expanded by {row['expansion_recent']:,.0f}")
    if row["contraction_recent"] > 0:
        commercial.append(f"contracted by {row['contraction_recent']:,.0f}")
    if (to_renewal := _f(row["days_to_renewal"])) is not None:
        commercial.append(f"renewal in {to_renewal:.0f} days")
    details["commercial"] = ", ".join(commercial) or "no contract data"
    return details


def _snapshot_scores(
    session: Session, account_id: int, days: Sequence[dt.date]
) -> dict[dt.date, float]:
    rows = session.execute(
        select(HealthSnapshot.day, HealthSnapshot.score).where(
            HealthSnapshot.account_id == account_id, HealthSnapshot.day.in_(days)
        )
    ).all()
    return {day: float(score) for day, score in rows}


def compared_day(day: dt.date, days: int) -> dt.date:
    """The snapshot a change "in `days` days" is measured against: exactly that far back.

    Not the nearest earlier snapshot: a change called "in 7 days" spans 7 days or is not
    given. The health answer and the digest's movers both take their earlier day here.
    """
    return day - dt.timedelta(days=days)


def health_change(score: float, earlier: float | None) -> float | None:
    """How far a score moved from an earlier one, to a tenth of a point; None without one."""
    return None if earlier is None else round(score - earlier, 1)


def _coverage(components: tuple[Component, ...], config: Config, segment: str) -> float:
    weights = config.health.weights_for(Segment(segment)).as_dict()
    total = sum(weights.values())
    present = sum(weights[c.name] for c in components if c.score is not None)
    return present / total if total else 0.0


def account_health(
    session: Session, account_id: int, as_of: dt.date, config: Config
) -> HealthResult | None:
    """One account's health with its components and change; None if it is not a customer."""
    inputs = account_inputs(session, as_of, config, [account_id])
    if len(inputs) == 0:
        return None
    scored = {name: values[0] for name, values in score_columns(inputs, config).items()}
    details = _details({name: values[0] for name, values in inputs.columns.items()}, config, as_of)
    components = tuple(
        Component(
            name=name,
            score=_f(scored[name]),
            weight=float(scored[f"w_{name}"]),
            detail=details[name],
        )
        for name in COMPONENTS
    )
    week, month = compared_day(as_of, 7), compared_day(as_of, 30)
    history = _snapshot_scores(session, account_id, (week, month))
    score = float(scored["score"])
    return HealthResult(
        score=score,
        band=Band(scored["band"]),
        components=components,
        as_of=as_of,
        change_7d=health_change(score, history.get(week)),
        change_30d=health_change(score, history.get(month)),
        coverage=_coverage(components, config, inputs.columns["segment"][0]),
    )


def portfolio_health(session: Session, as_of: dt.date, config: Config) -> pd.DataFrame:
    """Every customer's score, band, components and inputs as of a day."""
    inputs = account_inputs(session, as_of, config)
    return inputs.frame().join(score_frame(inputs, config))


def store_snapshots(
    engine: Engine, as_of: dt.date, config: Config, model: RiskModel | None = None
) -> int:
    """Compute and store (or replace) every customer's health for `as_of`.

    With the day's churn `model`, each snapshot also keeps the churn risk and its main
    driver, so digests read the day's numbers instead of recomputing them.

    The book is scored in a read transaction and only the writing holds the write lock: on
    SQLite one writer at a time may hold it, and scoring a large book takes long enough
    for survey webhooks and usage batches waiting behind it to give up.
    """
    with Session(reader(engine)) as session, session.begin():
        inputs = account_inputs(session, as_of, config)
        scored = inputs.frame().join(score_frame(inputs, config))
        probability: list[float | None] = [None] * len(scored)
        driver: list[str | None] = [None] * len(scored)
        if model is not None:
            risk = churn_risk(session, as_of, config, model, inputs=inputs).reindex(scored.index)
            probability = [None if pd.isna(p) else round(float(p), 4) for p in risk["probability"]]
            driver = [str(d[0][0])[:64] if d else None for d in risk["drivers"]]
        frame = pd.DataFrame(
            {
                "account_id": scored.index.astype(int),
                "day": as_of,
                "score": scored["score"].astype(float),
                "band": scored["band"].astype(str),
                "components": [
                    {name: (None if pd.isna(v) else round(float(v), 1)) for name, v in row.items()}
                    for row in scored[list(COMPONENTS)].to_dict("records")
                ],
                "churn_probability": probability,
                "churn_driver": driver,
            }
        )
    with Session(writer(engine)) as session, session.begin():
        written = write_frame(
            session.connection(),
            HealthSnapshot.__table__,  # type: ignore[arg-type]
            frame,
            conflict=["account_id", "day"],
        )
        # A stored day is history that later days' changes are measured against.
        input_versions.bump(session)
        return written


def backfill_snapshots(
    engine: Engine,
    as_of: dt.date,
    days: int,
    config: Config,
    progress: Callable[[dt.date], None] | None = None,
    risk_for: Callable[[dt.date], RiskModel | None] | None = None,
) -> list[dt.date]:
    """Snapshots for `as_of` and the `days` before it that have none yet (oldest first).

    Today's snapshot is always recomputed (the day is not over); past days that already
    have one are kept, because history should say what was known then. `risk_for(day)`
    gives the churn model to score a day with (None: health only).
    """
    first = as_of - dt.timedelta(days=days)
    with Session(engine) as session:
        done = set(
            session.scalars(
                select(HealthSnapshot.day).where(HealthSnapshot.day >= first).distinct()
            )
        )
    wanted = [first + dt.timedelta(days=n) for n in range(days + 1)]
    todo = [day for day in wanted if day == as_of or day not in done]
    for day in todo:
        store_snapshots(engine, day, config, risk_for(day) if risk_for is not None else None)
        if progress is not None:
            progress(day)
    return todo
