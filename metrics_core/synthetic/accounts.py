"""Who the customers are and what happens to them: segment, contracts and trajectory.

Each account draws a trajectory up front (healthy, expanding, declining-then-churning,
at-risk with the renewal still ahead, churning without warning, saved after a decline).
Every later table reads the same per-account curves — usage level, health, mood — so the
signals agree with each other and with the contracts: most accounts that churn show
falling usage, more urgent tickets and worse NPS in the months before.

Churn is made exactly as predictable as real B2B churn, not more. About a third of
churners look healthy to the end (a budget cut, an acquisition, a champion who left),
some accounts decline and are saved at their renewal, healthy accounts dip and recover,
and the static traits of churners (seat adoption, feature breadth, mood, CSM attention)
overlap widely with everyone else's. A churn model backtested on this book ranks
churners with a ROC AUC of about 0.75–0.8, where published B2B churn models land,
instead of the near-perfect separation a book of clean stories would allow.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from metrics_core.revenue.arr import Term
from metrics_core.synthetic.contacts import ContactPlan, plan_contacts
from metrics_core.synthetic.team import (
    BOOK_SIZE,
    ENTERPRISE,
    MID_MARKET,
    SEGMENTS,
    SMB,
    TeamPlan,
)
from metrics_core.synthetic.text import TOPICS, Picker, company_names
from metrics_core.synthetic.window import (
    FAR,
    BoolArray,
    FloatArray,
    IntArray,
    Window,
    add_years,
    as_bool,
    as_float,
    as_int,
)


class Trajectory(enum.IntEnum):
    HEALTHY = 0
    EXPANDING = 1
    CHURNING = 2  # declines for months, then churns at its renewal
    AT_RISK = 3  # declining now, renewal still ahead
    SILENT_CHURN = 4  # looks healthy to the end, churns anyway
    RECOVERED = 5  # declined before its last renewal, renewed (often smaller), recovering
    LAPSED = 6  # churned in the years before the window: contracts only, no signals


SEGMENT_SHARE = (0.10, 0.30)  # Enterprise, Mid-market; SMB takes the rest
ARR_RANGE = ((80_000.0, 1_200_000.0), (15_000.0, 120_000.0), (1_500.0, 20_000.0))
SEAT_RANGE = ((200.0, 5_000.0), (25.0, 400.0), (3.0, 40.0))
# Share of each segment that churns in a year: small customers churn more.
CHURN_SHARE = (0.05, 0.10, 0.13)
# Of those, the share whose signals stay healthy to the end.
SILENT_CHURN_SHARE = 0.25
AT_RISK_SHARE = 0.12
RECOVERED_SHARE = 0.08
# Customers lost in the years before the window: without them the contract history
# would show no churn before this year, and retention of earlier years and the renewal
# cohorts would look near perfect. About the same yearly rate as inside the window.
LAPSED_YEARS = 2
LAPSED_SHARE = tuple(LAPSED_YEARS * 0.85 * share for share in CHURN_SHARE)
EXPANDING_SHARE = 0.22
NEW_CUSTOMER_SHARE = 0.18
# Which renewal (1 = the first) a churner leaves at.
CHURN_AT_TERM = (0.46, 0.28, 0.15, 0.08, 0.03)
MAX_TERMS = 6

FEATURES = (
    "dashboards",
    "reports",
    "alerts",
    "integrations",
    "api",
    "exports",
    "workflows",
    "sso",
)
FEATURE_POPULARITY = np.array([1.0, 0.9, 0.6, 0.5, 0.3, 0.55, 0.35, 0.4])
FEATURE_BREADTH = {
    Trajectory.HEALTHY: (3, 7),
    Trajectory.EXPANDING: (4, 8),
    Trajectory.CHURNING: (2, 6),
    Trajectory.AT_RISK: (3, 6),
    Trajectory.SILENT_CHURN: (3, 7),
    Trajectory.RECOVERED: (3, 6),
    Trajectory.LAPSED: (3, 7),
}

ACME_NAME = "Acme Corp"
ACME_EXTERNAL_ID = "ACME"
ACME_SLUG = "acme"
ACME_RENEWAL_IN_DAYS = 75
ACME_ARR = (300_000.0, 360_000.0, 420_000.0, 420_000.0)
ACME_SEATS = 1_200


@dataclass(frozen=True)
class Curves:
    """Per-account parameters of the usage, health and mood curves."""

    adoption: FloatArray  # share of seats active on a normal weekday at full health
    ramp_days: FloatArray
    growth: FloatArray  # relative usage growth per year
    decline_start: FloatArray
    decline_end: FloatArray
    decline_floor: FloatArray
    dip_center: FloatArray
    dip_width: FloatArray
    dip_depth: FloatArray
    mood_base: FloatArray
    sessions_per_user: FloatArray
    events_per_session: FloatArray
    attention: FloatArray  # how much CSM time the account gets, 1 = the norm
    escalates: BoolArray  # whether the CSM steps up touches when health falls


@dataclass(frozen=True)
class AccountPlan:
    """All accounts as parallel arrays; row 0 is always Acme Corp."""

    window: Window
    ids: IntArray
    external_ids: list[str]
    names: list[str]
    domains: list[str]
    segment: IntArray
    trajectory: IntArray
    owner_id: IntArray
    owner_first_name: list[str]
    seats: IntArray
    lifecycle: list[str]
    created_on: list[dt.date]
    terms: list[list[Term]]
    # Day indices in the window; the churn day is exclusive (no usage on it), FAR if none.
    first_start: IntArray
    churn_day: IntArray
    term_start: IntArray  # (accounts, MAX_TERMS), padded with FAR
    term_scale: FloatArray  # each term's ARR over the current ARR: seats follow contracts
    curve: Curves
    features: BoolArray  # (accounts, features): which features the account adopted
    feature_floor: FloatArray  # health below which a feature falls out of use
    feature_intensity: FloatArray
    pain_topic: IntArray
    love_topic: IntArray
    contacts: ContactPlan

    @property
    def count(self) -> int:
        return len(self.ids)

    def is_customer(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> BoolArray:
        index = as_int(rows)
        day = np.asarray(t)
        return as_bool((day >= self.first_start[index]) & (day < self.churn_day[index]))

    def health(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
        """1 for a thriving account, falling through a decline or a temporary dip."""
        index = as_int(rows)
        day = as_float(t)
        curve = self.curve
        start = curve.decline_start[index]
        progress = np.clip((day - start) / (curve.decline_end[index] - start), 0, 1)
        decline = 1.0 - (1.0 - curve.decline_floor[index]) * progress
        closeness = 1.0 - np.abs(day - curve.dip_center[index]) / curve.dip_width[index]
        dip = 1.0 - curve.dip_depth[index] * np.clip(closeness, 0, 1)
        return as_float(decline * dip)

    def mood(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
        """How the customer feels (0–1): the account's baseline, dragged down by decline."""
        index = as_int(rows)
        feeling = self.curve.mood_base[index] + 0.9 * (self.health(index, t) - 1.0)
        return as_float(np.clip(feeling, 0.02, 1.0))

    def usage_level(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
        """Share of the adoption ceiling in use: onboarding ramp × growth × health."""
        index = as_int(rows)
        day = as_float(t)
        since = day - self.first_start[index]
        ramp = np.clip(0.25 + 0.75 * since / self.curve.ramp_days[index], 0.25, 1.0)
        years_to_now = (day - self.window.last_index) / 365.0
        growth = np.clip(1.0 + self.curve.growth[index] * years_to_now, 0.5, 1.5)
        return as_float(ramp * growth * self.health(index, day))

    def seat_scale(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
        """Seats on day t relative to today's, stepping with each contract term."""
        index = as_int(rows)
        day = np.asarray(t)
        reached = self.term_start[index] <= day[..., None]
        term = np.clip(reached.sum(axis=-1) - 1, 0, MAX_TERMS - 1)
        scales = np.broadcast_to(self.term_scale[index], (*term.shape, MAX_TERMS))
        return as_float(np.take_along_axis(scales, term[..., None], axis=-1)[..., 0])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": self.ids,
                "external_id": self.external_ids,
                "name": self.names,
                "domain": self.domains,
                "segment": [SEGMENTS[s] for s in self.segment.tolist()],
                "owner_id": self.owner_id,
                "seats": self.seats,
                "lifecycle_stage": self.lifecycle,
                "created_on": np.array(self.created_on, dtype="datetime64[D]"),
            }
        )


def segment_counts(count: int) -> tuple[int, int, int]:
    """Exact segment sizes (not draws), so small data sets keep the intended mix."""
    enterprise = max(1, round(count * SEGMENT_SHARE[0]))
    mid = min(count - enterprise, round(count * SEGMENT_SHARE[1]))
    return enterprise, mid, count - enterprise - mid


def _segments(count: int, rng: np.random.Generator) -> IntArray:
    """Segment per account, shuffled, with Acme's Enterprise slot first."""
    enterprise, mid, smb = segment_counts(count)
    others = np.array(
        [ENTERPRISE] * (enterprise - 1) + [MID_MARKET] * mid + [SMB] * smb, dtype=np.int64
    )
    return as_int(np.concatenate([[ENTERPRISE], rng.permutation(others)]))


def _trajectories(segment: IntArray, years: float, rng: np.random.Generator) -> IntArray:
    """Each account's story; the share that churns inside the window grows with its years."""
    churn = 1.0 - (1.0 - np.asarray(CHURN_SHARE)[segment]) ** years
    roll = rng.random(len(segment))
    silent = rng.random(len(segment)) < SILENT_CHURN_SHARE
    trajectory = np.full(len(segment), Trajectory.HEALTHY, dtype=np.int64)
    troubled = churn + AT_RISK_SHARE + RECOVERED_SHARE
    trajectory[roll < troubled + EXPANDING_SHARE] = Trajectory.EXPANDING
    trajectory[roll < troubled] = Trajectory.RECOVERED
    trajectory[roll < churn + AT_RISK_SHARE] = Trajectory.AT_RISK
    trajectory[roll < churn] = np.where(silent, Trajectory.SILENT_CHURN, Trajectory.CHURNING)[
        roll < churn
    ]
    # Drawn among the accounts that did not churn inside the window, so the window keeps
    # its yearly churn rate among the customers it started with.
    lapsed = rng.random(len(segment)) < np.asarray(LAPSED_SHARE)[segment] / (1.0 - churn)
    trajectory[lapsed & (roll >= churn)] = Trajectory.LAPSED
    trajectory[0] = Trajectory.AT_RISK
    return trajectory


def _log_range(low: FloatArray, high: FloatArray, quantile: FloatArray) -> FloatArray:
    return as_float(np.exp(np.log(low) + quantile * (np.log(high) - np.log(low))))


def _renewal_change(trajectory: int, last: bool, kind: float, size: float) -> float:
    """Relative ARR change at a renewal: flat, price uplift, expansion or contraction."""
    if trajectory == Trajectory.EXPANDING:
        if last:
            return 0.15 + 0.55 * size
        return 0.0 if kind < 0.5 else 0.05 + 0.2 * size
    if last and trajectory in (Trajectory.CHURNING, Trajectory.AT_RISK, Trajectory.RECOVERED):
        if kind < 0.25:
            return -(0.08 + 0.22 * size)
        return 0.0 if kind < 0.8 else 0.03 + 0.05 * size
    if kind < 0.6:
        return 0.0
    if kind < 0.9:
        return 0.03 + 0.05 * size
    return -(0.05 + 0.2 * size)


def _round_arr(value: float, segment: int) -> float:
    step = 100.0 if segment == ENTERPRISE else 10.0
    return max(step, round(value / step) * step)


def plan_accounts(
    n: int,
    window: Window,
    team: TeamPlan,
    rng: np.random.Generator,
    picker: Picker,
    id_base: Mapping[str, int],
) -> AccountPlan:
    """Every account's facts, contracts and curves; ids continue from `id_base` per table."""
    segment = _segments(n, rng)
    trajectory = _trajectories(segment, window.days / 365.0, rng)
    churning = np.isin(trajectory, (Trajectory.CHURNING, Trajectory.SILENT_CHURN))
    expanding = trajectory == Trajectory.EXPANDING
    recovered = trajectory == Trajectory.RECOVERED
    lapsed = trajectory == Trajectory.LAPSED
    gone = churning | lapsed

    arr_low = np.array([r[0] for r in ARR_RANGE])[segment]
    arr_high = np.array([r[1] for r in ARR_RANGE])[segment]
    # Within a segment, small contracts churn more often and large ones expand more.
    quantile = rng.random(n)
    quantile = np.where(gone, quantile**1.5, np.where(expanding, quantile**0.8, quantile))
    arr_now = _log_range(arr_low, arr_high, quantile)
    seat_quantile = np.clip(quantile + rng.normal(0.0, 0.15, n), 0.0, 1.0)
    seat_low = np.array([r[0] for r in SEAT_RANGE])[segment]
    seat_high = np.array([r[1] for r in SEAT_RANGE])[segment]
    seats = as_int(np.rint(_log_range(seat_low, seat_high, seat_quantile)))

    # Tenure in annual terms (1 = signed within the last year); expanding and saved
    # accounts have renewed at least once, since both show at a renewal.
    tenure = rng.choice(np.arange(2, MAX_TERMS + 1), size=n, p=[0.3, 0.25, 0.18, 0.15, 0.12])
    tenure[(rng.random(n) < NEW_CUSTOMER_SHARE) & ~expanding & ~recovered] = 1
    # Customers are lost mostly at their first renewals: the share churning at each one
    # then falls as the customers who stay prove their fit (Fader & Hardie 2007). Drawing
    # churners' tenure like everyone else's would make the oldest renewals the riskiest.
    tenure[gone] = rng.choice(np.arange(1, MAX_TERMS), size=int(gone.sum()), p=CHURN_AT_TERM)
    renewal_in = rng.integers(1, 366, n)
    # A saved account's last renewal (a year before the next) fell inside the window, late
    # enough for the slide before it to show.
    renewal_in[recovered] = rng.integers(45, 336, int(recovered.sum()))
    churn_index = rng.integers(min(1, window.last_index), window.days, n)
    churn_index[lapsed] = -rng.integers(1, 365 * LAPSED_YEARS + 1, int(lapsed.sum()))
    change_kind = rng.random((n, MAX_TERMS))
    change_size = rng.random((n, MAX_TERMS))
    lead_days = rng.integers(7, 61, n)

    # Acme Corp: a customer for almost four years that grew, now dipping before renewal.
    tenure[0] = len(ACME_ARR)
    renewal_in[0] = ACME_RENEWAL_IN_DAYS
    seats[0] = ACME_SEATS

    contract_id = id_base["contracts"]
    terms: list[list[Term]] = []
    term_start = np.full((n, MAX_TERMS), FAR, dtype=np.int64)
    term_scale = np.ones((n, MAX_TERMS))
    first_start = np.zeros(n, dtype=np.int64)
    churn_day = np.full(n, FAR, dtype=np.int64)
    created_on: list[dt.date] = []
    lifecycle: list[str] = []
    for i in range(n):
        k = int(tenure[i])
        seg = int(segment[i])
        if gone[i]:
            end = window.date(int(churn_index[i]))
            if (end.month, end.day) == (2, 29):  # terms are whole years: no leap-day ends
                end -= dt.timedelta(days=1)
            churn_day[i] = window.index(end)
        else:
            end = window.as_of + dt.timedelta(days=int(renewal_in[i]))
        bounds = [add_years(end, j - k) for j in range(k + 1)]
        arrs = [_round_arr(float(arr_now[i]), seg)]
        for j in range(k - 1, 0, -1):
            change = _renewal_change(
                int(trajectory[i]), j == k - 1, change_kind[i, j], change_size[i, j]
            )
            arrs.insert(0, _round_arr(arrs[0] / (1.0 + change), seg))
        if i == 0:
            arrs = list(ACME_ARR)
        account_terms = []
        for j in range(k):
            contract_id += 1
            account_terms.append(
                Term(
                    contract_id,
                    bounds[j],
                    bounds[j + 1],
                    arrs[j],
                    churned=bool(gone[i]) and j == k - 1,
                )
            )
            term_start[i, j] = window.index(bounds[j])
            term_scale[i, j] = arrs[j] / arrs[-1]
        terms.append(account_terms)
        first_start[i] = window.index(bounds[0])
        created_on.append(bounds[0] - dt.timedelta(days=int(lead_days[i])))
        age = (window.as_of - bounds[0]).days
        if gone[i]:
            lifecycle.append("churned")
        else:
            lifecycle.append("onboarding" if age < 90 else "adopting" if age < 365 else "mature")

    curve = _curves(n, trajectory, segment, churn_day, renewal_in, window, rng)
    features, feature_floor, feature_intensity = _features(trajectory, rng)
    pain_topic = rng.integers(0, len(TOPICS), n)
    love_topic = rng.integers(0, len(TOPICS), n)
    pain_topic[0] = TOPICS.index("performance")
    love_topic[0] = TOPICS.index("integrations")

    owner_id = _owners(segment, team, rng)
    # Overloaded CSMs touch each account less often.
    _, book, book_size = np.unique(owner_id, return_inverse=True, return_counts=True)
    load = book_size[book] / np.asarray(BOOK_SIZE)[segment]
    curve = replace(curve, attention=as_float(curve.attention * np.clip(load**-0.3, 0.7, 1.3)))

    names = [(ACME_NAME, ACME_SLUG), *company_names(n - 1, picker, (ACME_SLUG,))]
    ids = as_int(np.arange(1, n + 1) + id_base["accounts"])
    domains = [f"{slug}.example" for _, slug in names]
    contacts = plan_contacts(ids, segment, domains, picker, id_base["contacts"])
    return AccountPlan(
        window=window,
        ids=ids,
        external_ids=[ACME_EXTERNAL_ID, *(f"ACC-{i:05d}" for i in range(1, n))],
        names=[name for name, _ in names],
        domains=domains,
        segment=segment,
        trajectory=trajectory,
        owner_id=owner_id,
        owner_first_name=[team.first_names[o] for o in owner_id.tolist()],
        seats=seats,
        lifecycle=lifecycle,
        created_on=created_on,
        terms=terms,
        first_start=first_start,
        churn_day=churn_day,
        term_start=term_start,
        term_scale=term_scale,
        curve=curve,
        features=features,
        feature_floor=feature_floor,
        feature_intensity=feature_intensity,
        pain_topic=as_int(pain_topic),
        love_topic=as_int(love_topic),
        contacts=contacts,
    )


def _curves(
    n: int,
    trajectory: IntArray,
    segment: IntArray,
    churn_day: IntArray,
    renewal_in: IntArray,
    window: Window,
    rng: np.random.Generator,
) -> Curves:
    """Per-account curve parameters, drawn by trajectory.

    Per-trajectory levels are deliberately close and their spreads wide: a churner is on
    average a little less adopted, less happy and less looked after, not a different kind
    of customer.
    """
    last = float(window.last_index)
    churning = trajectory == Trajectory.CHURNING
    at_risk = trajectory == Trajectory.AT_RISK
    expanding = trajectory == Trajectory.EXPANDING
    recovered = trajectory == Trajectory.RECOVERED
    steady = ~(churning | at_risk | recovered)

    #                       healthy expanding churning at-risk silent recovered lapsed
    adoption_low = np.array([0.45, 0.55, 0.32, 0.38, 0.42, 0.38, 0.42])[trajectory]
    adoption_high = np.array([0.85, 0.9, 0.72, 0.72, 0.85, 0.78, 0.85])[trajectory]
    adoption = adoption_low + (adoption_high - adoption_low) * rng.random(n)
    adoption += np.array([-0.05, 0.0, 0.08])[segment]  # small teams use more of their seats

    growth = rng.normal(0.02, 0.04, n)
    growth[expanding] = rng.uniform(0.12, 0.35, int(expanding.sum()))

    decline_start = np.full(n, float(FAR))
    decline_end = np.full(n, float(FAR + 1))
    decline_floor = np.ones(n)
    churn_at = churn_day.astype(np.float64)
    lead = rng.uniform(60, 200, n)
    tail = rng.uniform(0, 21, n)
    decline_start[churning] = (churn_at - lead)[churning]
    decline_end[churning] = (churn_at - tail)[churning]
    decline_floor[churning] = rng.uniform(0.15, 0.6, n)[churning]
    risk_lead = rng.uniform(30, 150, n)
    risk_tail = rng.uniform(0, 30, n)
    decline_start[at_risk] = (last - risk_lead)[at_risk]
    decline_end[at_risk] = (last + risk_tail)[at_risk]
    decline_floor[at_risk] = rng.uniform(0.4, 0.7, n)[at_risk]

    # Some healthy accounts dip for a few weeks and recover: the false alarms a
    # usage-drop detector has to live with.
    dipping = steady & (rng.random(n) < 0.12)
    dip_center = rng.uniform(0, max(last, 1.0), n)
    dip_width = rng.uniform(7, 21, n)
    dip_depth = np.where(dipping, rng.uniform(0.2, 0.45, n), 0.0)
    # A saved account: a slide of months into its last renewal, then a slow recovery.
    last_renewal = last + renewal_in.astype(np.float64) - 365.0
    dip_center[recovered] = (last_renewal - rng.uniform(0, 20, n))[recovered]
    dip_width[recovered] = rng.uniform(60, 150, n)[recovered]
    dip_depth[recovered] = rng.uniform(0.3, 0.65, n)[recovered]

    mood_base = np.array([0.77, 0.82, 0.68, 0.68, 0.74, 0.7, 0.74])[trajectory]
    mood_base += rng.normal(0, 0.08, n)
    attention = np.array([1.0, 1.1, 0.7, 0.8, 0.95, 1.0, 0.95])[trajectory]
    attention *= rng.lognormal(0, 0.3, n)
    attention[rng.random(n) < 0.1] *= 0.3  # the accounts nobody has looked at in a while

    # Acme's story: usage slipping for the last five weeks, ahead of its renewal.
    adoption[0], growth[0], mood_base[0], attention[0] = 0.62, 0.05, 0.72, 1.0
    decline_start[0], decline_end[0], decline_floor[0] = last - 35, last, 0.55
    dip_depth[0] = 0.0
    return Curves(
        adoption=as_float(np.clip(adoption, 0.1, 0.95)),
        ramp_days=as_float(rng.uniform(45, 120, n)),
        growth=as_float(growth),
        decline_start=as_float(decline_start),
        decline_end=as_float(decline_end),
        decline_floor=as_float(decline_floor),
        dip_center=as_float(dip_center),
        dip_width=as_float(dip_width),
        dip_depth=as_float(dip_depth),
        mood_base=as_float(np.clip(mood_base, 0.2, 0.98)),
        sessions_per_user=as_float(rng.uniform(1.2, 2.6, n)),
        events_per_session=as_float(rng.uniform(12, 40, n)),
        attention=as_float(attention),
        escalates=as_bool(rng.random(n) < np.where(churning | at_risk | recovered, 0.5, 0.2)),
    )


def _features(
    trajectory: IntArray, rng: np.random.Generator
) -> tuple[BoolArray, FloatArray, FloatArray]:
    """Which features each account uses: popular ones first, broader for healthy accounts."""
    n = len(trajectory)
    low = np.array([FEATURE_BREADTH[t][0] for t in Trajectory])[trajectory]
    high = np.array([FEATURE_BREADTH[t][1] for t in Trajectory])[trajectory]
    breadth = rng.integers(low, high + 1)
    # Gumbel top-k: a weighted draw without replacement, vectorised over accounts.
    keys = np.log(FEATURE_POPULARITY) + rng.gumbel(size=(n, len(FEATURES)))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    adopted = rank < breadth[:, None]
    floor = rng.uniform(0.3, 0.95, (n, len(FEATURES)))
    intensity = rng.lognormal(0, 0.4, (n, len(FEATURES)))
    return as_bool(adopted), as_float(floor), as_float(intensity)


def _owners(segment: IntArray, team: TeamPlan, rng: np.random.Generator) -> IntArray:
    """Books of near-equal size per segment; Acme (row 0) goes to the first Enterprise CSM."""
    owner = np.zeros(len(segment), dtype=np.int64)
    for seg, csms in enumerate(team.csm_ids):
        rows = np.flatnonzero(segment == seg)
        if not len(rows):
            continue
        if seg == ENTERPRISE:
            rows = np.concatenate([rows[:1], rng.permutation(rows[1:])])
        else:
            rows = rng.permutation(rows)
        for csm, book in zip(csms.tolist(), np.array_split(rows, len(csms)), strict=True):
            owner[book] = csm
    return as_int(owner)
