"""What a digest reports, gathered from stored numbers: the day's snapshots, not a recompute.

A morning digest for a 10,000-account portfolio must be ready in about a second, and
computing every account's health and churn risk from raw usage takes longer than that.
The day's snapshot (`metrics_core.health.daily`) already holds both, so a digest reads it, and
compares it with earlier snapshots for movers, band changes and new churn risks.

Which earlier snapshots: a weekly digest compares with the snapshot exactly 7 days before
(`health.compared_day`, the comparison behind the health answer's "-15 in 7 days"). A
daily digest compares with the previous snapshot day, for what changed overnight, *and*
with the one 7 days before: a CS manager reading it each morning must not miss an account
sliding 2 points a day, which never looks like news overnight but is 14 points in a week.

Movers are the accounts whose health moved by `MOVE_POINTS` or more, biggest move first;
an account is listed under the direction of its larger move, and its "why" is the
component that moved most over that span. "New" risks are accounts that crossed into the
red band or into high churn risk (`churn.high_risk_from`) since this subscription's
previous digest (its run keeps what it reported, `Remembered`), so a CSM is not told every
morning about the same account; the first digest and a preview compare with the snapshot
one period earlier. With nothing to compare with (no earlier snapshot, or one without
churn risk, as backfilled days are), no account is called new.

Everything is decided here, over the whole scope, and only what a digest shows leaves
this module (the few accounts of each list, with the counts behind them), as frozen
dataclasses a presenter words without any further arithmetic.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Select, cast, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import Text

from metrics_core.config import Config
from metrics_core.digests.subscriptions import Scope, cadence_days
from metrics_core.health.scorecard import Band, compared_day
from metrics_core.playbooks.overdue import OverduePlays, overdue_plays
from metrics_core.revenue.rates import RetentionResult, retention_and_arr_in_db
from metrics_core.revenue.renewals import arr_at_stake
from metrics_core.store.db import beside
from metrics_core.store.models import (
    Account,
    DigestCadence,
    DigestScope,
    FollowUp,
    FollowUpStatus,
    HealthSnapshot,
    Renewal,
    RenewalStatus,
    SurveyKind,
    SurveyResponse,
    TeamMember,
)
from metrics_core.surveys.nps import NpsResult, nps
from metrics_core.value.outcomes import OverduePromises, overdue_promises

_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]

TREND_DAYS = 30
RENEWAL_HORIZONS = (30, 60, 90)
WEEK = 7
"""Every digest reports the change over a week, the one the health answer gives."""
MOVE_POINTS = 5.0
"""A health change smaller than this (in points of the 0–100 score) is not a mover.

Scores wobble by a point or two from one day to the next as 30-day windows roll; a list
of such moves hides the account that lost 15. Five points is a sixth of the default
yellow band (40–70): a few such moves take an account into another band.
"""


@dataclass(frozen=True, slots=True)
class ComparedDay:
    """An earlier snapshot day that changes are measured against."""

    day: dt.date
    days: int
    """How many days before the digest's snapshot day it is."""
    available: bool
    """Whether that day has a snapshot; without one nothing is compared with it."""


@dataclass(frozen=True, slots=True)
class HealthSummary:
    """The scope's accounts in the latest snapshot, in a few numbers."""

    accounts: int
    arr: float
    average: float
    """Average health score, 0–100."""
    change: float | None
    """Average health now minus on the first compared day; None without its snapshot."""
    change_days: int | None
    red: int
    """Accounts in the red band."""


NO_HEALTH = HealthSummary(0, 0.0, float("nan"), None, None, 0)


@dataclass(frozen=True, slots=True)
class ComponentMove:
    """A health component from one snapshot to another: what made an account move."""

    name: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class Mover:
    account: str
    score: float
    band: str
    changes: tuple[float | None, ...]
    """The health change against each compared day with a snapshot (`Movers.spans`)."""
    why: ComponentMove | None
    """The component that moved most in the mover's direction over its larger move."""
    move: float
    """The larger of `changes` (by size, sign kept): the move that made it a mover."""
    move_days: int
    """Over how many days `move` happened (one of `Movers.spans`)."""


@dataclass(frozen=True, slots=True)
class Movers:
    spans: tuple[int, ...]
    """Days back of each compared day with a snapshot, in the order of `Mover.changes`."""
    drops: tuple[Mover, ...]
    """The biggest drops, at most `digests.movers` of them."""
    drop_count: int
    gains: tuple[Mover, ...]
    gain_count: int


NO_MOVERS = Movers((), (), 0, (), 0)


@dataclass(frozen=True, slots=True)
class ComponentScore:
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class EnteredRed:
    account: str
    score: float
    owner: str | None
    weakest: ComponentScore | None


@dataclass(frozen=True, slots=True)
class NewlyHighRisk:
    account: str
    probability: float
    owner: str | None
    driver: str | None


@dataclass(frozen=True, slots=True)
class NewRisks:
    high_from: float
    """The churn probability from which a risk is high (`churn.high_risk_from`)."""
    entered_red: tuple[EnteredRed, ...] | None
    """The lowest scores of the accounts new in the red band; None when nothing says which
    accounts were in it before."""
    entered_red_count: int
    newly_high: tuple[NewlyHighRisk, ...] | None
    """The likeliest churners among the accounts newly at high risk; None when which of
    them are new is not known (no churn risk now, or none to compare with)."""
    newly_high_count: int
    at_high_risk: int
    """Accounts at high churn risk now, new or not."""
    compared_without_risk: dt.date | None
    """The compared day whose snapshot holds no churn risk, when that is why which risks
    are new is not known; None when there was no earlier snapshot at all."""


NO_NEW_RISKS = NewRisks(0.0, None, 0, None, 0, 0, None)


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the next digest of a subscription compares with; None where it was not known
    (no snapshot yet, or one without churn risk), so the next digest does not read "none"
    and call every account new."""

    red: tuple[int, ...] | None
    high_risk: tuple[int, ...] | None

    def details(self) -> dict[str, Any]:
        """As a digest run stores it (JSON) and `previous` gives it back."""
        return {
            "red": None if self.red is None else list(self.red),
            "high_risk": None if self.high_risk is None else list(self.high_risk),
        }


@dataclass(frozen=True, slots=True)
class RenewalsDue:
    """Open renewals within `days` days: how many, their ARR and the ARR at stake."""

    days: int
    count: int
    arr: float
    at_stake: float


@dataclass(frozen=True, slots=True)
class Renewing:
    account: str
    renewal_date: dt.date
    arr: float
    probability: float | None


@dataclass(frozen=True, slots=True)
class Renewals:
    due: tuple[RenewalsDue, ...]
    """One per horizon of `RENEWAL_HORIZONS`; empty when nothing renews within the longest."""
    worth_a_call: tuple[Renewing, ...]
    """Renewals within the first horizon, most ARR at stake first (ARR × churn risk), then
    the most ARR: of thirty renewals this month, the five soonest are rarely the five that
    matter."""
    within_first: int
    """How many renewals the first horizon holds."""


@dataclass(frozen=True, slots=True)
class Overdue:
    """An answer in the SLA bands still unclaimed after its SLA ran out."""

    follow_up_id: int
    account: str | None
    owner: str | None
    kind: str
    score: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DigestFacts:
    cadence: DigestCadence
    scope: Scope
    owner_name: str | None
    """The CSM whose book an owner-scoped digest covers; None otherwise, or when they left."""
    as_of: dt.date
    days: int
    snapshot_day: dt.date | None
    """The latest snapshot on or before `as_of`."""
    health: HealthSummary
    compared: tuple[ComparedDay, ...]
    """What changes are measured against, nearest first: the first is one period earlier
    (the previous snapshot day for a daily digest, 7 days for a weekly one), then the week
    for a daily digest. Empty without a snapshot."""
    movers: Movers
    risks: NewRisks
    remembered: Remembered
    retention: RetentionResult
    """The last 12 months."""
    renewals: Renewals
    overdue: tuple[Overdue, ...]
    """The oldest, at most `digests.movers` of them."""
    overdue_count: int
    nps: NpsResult
    trend: tuple[tuple[dt.date, float], ...]
    """The scope's average health per snapshot day, oldest first."""
    overdue_plays: OverduePlays | None = None
    """Playbook plays past due in the scope's open runs; None when no run is open there
    (no playbook runs, so there is nothing to count)."""
    promises: OverduePromises | None = None
    """Success-plan outcomes past their target date and not delivered, the most overdue
    first; None when the scope has no success plans on record (nothing to be late on)."""


def _in_scope(statement: _S, scope: Scope) -> _S:
    if scope.kind is DigestScope.SEGMENT:
        return statement.where(Account.segment == scope.segment)
    if scope.kind is DigestScope.OWNER:
        return statement.where(Account.owner_id == scope.owner_id)
    return statement


@dataclass(frozen=True, slots=True)
class _Days:
    """The snapshot days a digest reads, and the scope's average health on each recent one."""

    snapshot_day: dt.date | None
    compared: list[dt.date]
    trend: list[tuple[dt.date, float]]
    with_snapshots: frozenset[dt.date] | None = None
    """The recent days with a snapshot in the scope, when that pass read them."""


def _days(session: Session, as_of: dt.date, days: int, scope: Scope) -> _Days:
    """`_snapshot_day`, `_compared_days` and `_trend`, in one pass over the recent
    snapshots for a whole portfolio (each of them alone reads every snapshot).

    The days `_compared_days` looks at lie within a week before the snapshot day, so the
    averages per day of the last `TREND_DAYS` and the week before them hold all three
    answers whenever the latest snapshot is within the trend's days; otherwise, and for a
    narrower scope (whose trend is the scope's, whose days are everyone's), each is asked
    alone.
    """
    since = as_of - dt.timedelta(days=TREND_DAYS)
    if scope.kind is DigestScope.PORTFOLIO:
        averages = _averages(session, as_of, TREND_DAYS + WEEK, scope)
        if averages and averages[-1][0] > since:
            latest = averages[-1][0]
            week = compared_day(latest, WEEK)
            if days >= WEEK:
                compared = [week]
            else:
                before = [d for d, _ in averages if week < d < latest]
                nearest = max(before) if before else compared_day(latest, days)
                compared = [nearest, week] if nearest != week else [week]
            return _Days(
                latest,
                compared,
                [(d, a) for d, a in averages if d > since],
                frozenset(d for d, _ in averages),
            )
    snapshot_day = _snapshot_day(session, as_of)
    return _Days(
        snapshot_day,
        [] if snapshot_day is None else _compared_days(session, snapshot_day, days),
        _trend(session, as_of, scope),
    )


def _snapshot_day(session: Session, on_or_before: dt.date) -> dt.date | None:
    return session.scalar(
        select(func.max(HealthSnapshot.day)).where(HealthSnapshot.day <= on_or_before)
    )


def _compared_days(session: Session, snapshot_day: dt.date, days: int) -> list[dt.date]:
    """The days a digest of `days` days measures changes against, nearest first.

    Daily: the previous snapshot day (the day before, or the last one within the week when
    the service missed a day), then the week. Weekly: the week.
    """
    week = compared_day(snapshot_day, WEEK)
    if days >= WEEK:
        return [week]
    previous = session.scalar(
        select(func.max(HealthSnapshot.day)).where(
            HealthSnapshot.day < snapshot_day, HealthSnapshot.day > week
        )
    )
    nearest = previous or compared_day(snapshot_day, days)
    return [nearest, week] if nearest != week else [week]


_SNAPSHOT_COLUMNS = ["account_id", "account", "score", "band", "probability"]
_EARLIER_COLUMNS = ["account_id", "score", "band", "probability"]


def _snapshots(
    session: Session, day: dt.date | None, scope: Scope, scores_on: list[dt.date]
) -> pd.DataFrame:
    """The scope's snapshots of `day`; none (an empty frame) when there is no such day.

    Only what is decided over the whole scope: the components, owners and churn drivers
    of the handful of accounts a digest shows are read for those (`_Shown`), as reading
    and carrying them for a whole portfolio would cost a good part of its second.

    With each account, its score on each of `scores_on` (column `then_k` for the k-th;
    NaN without a snapshot then): a later compared day is measured on nothing else, and
    each account's row of that day is found by its key instead of by reading the table.
    """
    columns = [*_SNAPSHOT_COLUMNS, *(f"then_{k}" for k in range(len(scores_on)))]
    if day is None:
        return pd.DataFrame([], columns=columns).set_index("account_id")
    then = [aliased(HealthSnapshot) for _ in scores_on]
    statement = select(
        HealthSnapshot.account_id,
        Account.name,
        HealthSnapshot.score,
        HealthSnapshot.band,
        HealthSnapshot.churn_probability,
        *(earlier.score for earlier in then),
    ).join(Account, Account.id == HealthSnapshot.account_id)
    for earlier, earlier_day in zip(then, scores_on, strict=True):
        statement = statement.outerjoin(
            earlier,
            (earlier.account_id == HealthSnapshot.account_id) & (earlier.day == earlier_day),
        )
    statement = _in_scope(statement.where(HealthSnapshot.day == day), scope)
    # Core rows as plain tuples: the ORM's per-row work costs more than the query here.
    rows = list(map(tuple, session.connection().execute(statement)))
    return pd.DataFrame(rows, columns=columns).set_index("account_id")


def _has_snapshots(session: Session, day: dt.date, scope: Scope) -> bool:
    """Whether any account of the scope has a snapshot of `day`."""
    statement = _scoped(select(HealthSnapshot.account_id).where(HealthSnapshot.day == day), scope)
    return session.scalar(statement.limit(1)) is not None


def _scoped(statement: _S, scope: Scope) -> _S:
    """`statement` over snapshots narrowed to `scope`, joined with the accounts only when
    the scope needs them (every snapshot has its account; the join costs a lookup a row)."""
    if scope.kind is DigestScope.PORTFOLIO:
        return statement
    return _in_scope(statement.join(Account, Account.id == HealthSnapshot.account_id), scope)


def _earlier_snapshots(session: Session, day: dt.date, scope: Scope) -> pd.DataFrame:
    """The scope's snapshots of the first compared `day`, with only what changes and new
    risks are measured on (later compared days come with today's rows, `_snapshots`)."""
    statement = _scoped(
        select(
            HealthSnapshot.account_id,
            HealthSnapshot.score,
            HealthSnapshot.band,
            HealthSnapshot.churn_probability,
        ).where(HealthSnapshot.day == day),
        scope,
    )
    rows = list(map(tuple, session.connection().execute(statement)))  # see `_snapshots`
    return pd.DataFrame(rows, columns=_EARLIER_COLUMNS).set_index("account_id")


class _Shown:
    """What a digest shows of the few accounts it lists, read when it lists them.

    One query for all the accounts asked about at once, never one per account.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def names(self, account_ids: list[int]) -> dict[int, str]:
        if not account_ids:
            return {}
        rows = self._session.connection().execute(
            select(Account.id, Account.name).where(Account.id.in_(sorted(set(account_ids))))
        )
        return {int(account_id): name for account_id, name in rows}

    def owners_and_drivers(
        self, day: dt.date, account_ids: list[int]
    ) -> dict[int, tuple[str | None, str | None]]:
        """Each account's owner (None without one) and churn driver in `day`'s snapshot."""
        if not account_ids:
            return {}
        owner = aliased(TeamMember)
        rows = self._session.connection().execute(
            select(HealthSnapshot.account_id, owner.name, HealthSnapshot.churn_driver)
            .join(Account, Account.id == HealthSnapshot.account_id)
            .outerjoin(owner, owner.id == Account.owner_id)
            .where(
                HealthSnapshot.day == day,
                HealthSnapshot.account_id.in_(sorted(set(account_ids))),
            )
        )
        return {int(account_id): (name, driver) for account_id, name, driver in rows}

    def components(self, day: dt.date, account_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Each account's component scores on `day`; none ({}) without a snapshot then."""
        if not account_ids:
            return {}
        rows = self._session.connection().execute(
            select(HealthSnapshot.account_id, cast(HealthSnapshot.components, Text)).where(
                HealthSnapshot.day == day,
                HealthSnapshot.account_id.in_(sorted(set(account_ids))),
            )
        )
        return {
            int(account_id): dict(json.loads(stored)) if isinstance(stored, str) and stored else {}
            for account_id, stored in rows
        }


def _trend(session: Session, as_of: dt.date, scope: Scope) -> list[tuple[dt.date, float]]:
    return _averages(session, as_of, TREND_DAYS, scope)


def _averages(
    session: Session, as_of: dt.date, days: int, scope: Scope
) -> list[tuple[dt.date, float]]:
    """The scope's average health on each snapshot day of the `days` up to `as_of`."""
    statement = _scoped(
        select(HealthSnapshot.day, func.avg(HealthSnapshot.score))
        .where(
            HealthSnapshot.day > as_of - dt.timedelta(days=days),
            HealthSnapshot.day <= as_of,
        )
        .group_by(HealthSnapshot.day)
        .order_by(HealthSnapshot.day),
        scope,
    )
    return [(day, float(average)) for day, average in session.execute(statement)]


def _nps(session: Session, scope: Scope, window: tuple[dt.datetime, dt.datetime]) -> NpsResult:
    """NPS of the scope's answers submitted in [window), counted per score in the database.

    Unmatched answers (no account) count for the whole portfolio, not for a segment or a
    book, as `survey_responses` has it.
    """
    statement = select(SurveyResponse.score, func.count()).where(
        SurveyResponse.kind == SurveyKind.NPS,
        SurveyResponse.submitted_at >= window[0],
        SurveyResponse.submitted_at < window[1],
    )
    if scope.kind is not DigestScope.PORTFOLIO:
        statement = _in_scope(
            statement.join(Account, Account.id == SurveyResponse.account_id), scope
        )
    counted = session.execute(statement.group_by(SurveyResponse.score)).all()
    scores = np.array([int(score) for score, _ in counted], dtype=np.int64)
    return nps(np.repeat(scores, [int(n) for _, n in counted]))


def _upcoming_renewals(session: Session, as_of: dt.date, scope: Scope) -> pd.DataFrame:
    horizon = as_of + dt.timedelta(days=max(RENEWAL_HORIZONS))
    statement = select(Renewal.account_id, Renewal.renewal_date, Renewal.arr).where(
        Renewal.status == RenewalStatus.UPCOMING,
        Renewal.renewal_date >= as_of,
        Renewal.renewal_date <= horizon,
    )
    if scope.kind is not DigestScope.PORTFOLIO:  # the accounts' names are read for the shown
        statement = _in_scope(statement.join(Account, Account.id == Renewal.account_id), scope)
    frame = pd.DataFrame(
        list(map(tuple, session.connection().execute(statement.order_by(Renewal.renewal_date)))),
        columns=["account_id", "renewal_date", "arr"],
    )
    frame["days"] = [(day - as_of).days for day in frame["renewal_date"]]
    return frame


def _overdue(session: Session, scope: Scope, config: Config, now: dt.datetime) -> list[Overdue]:
    """Unclaimed past the SLA (`follow_ups.escalate_after_hours`), oldest first."""
    rules = config.follow_ups
    cutoff = now - dt.timedelta(hours=rules.escalate_after_hours)
    owner = aliased(TeamMember)
    statement = (
        select(
            FollowUp.id,
            Account.name,
            owner.name,
            SurveyResponse.kind,
            SurveyResponse.score,
            FollowUp.created_at,
        )
        .join(SurveyResponse, SurveyResponse.id == FollowUp.survey_response_id)
        .outerjoin(Account, Account.id == FollowUp.account_id)
        .outerjoin(owner, owner.id == Account.owner_id)
        .where(
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.band.in_(rules.sla_bands),
            FollowUp.created_at < cutoff,
        )
        .order_by(FollowUp.created_at, FollowUp.id)
    )
    if scope.kind is not DigestScope.PORTFOLIO:  # unmatched answers belong to no one's book
        statement = _in_scope(statement.where(Account.id.is_not(None)), scope)
    return [Overdue(r[0], r[1], r[2], r[3].value, r[4], r[5]) for r in session.execute(statement)]


def _owner_name(session: Session, scope: Scope) -> str | None:
    if scope.kind is not DigestScope.OWNER or scope.owner_id is None:
        return None
    return session.scalar(select(TeamMember.name).where(TeamMember.id == scope.owner_id))


def _text(value: Any) -> str | None:
    """A text cell, or None: pandas stores an absent string as None or NaN."""
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _ids(frame: pd.DataFrame) -> tuple[int, ...]:
    return tuple(sorted(int(i) for i in frame.index))


def _biggest_change(
    now: dict[str, Any], before: dict[str, Any], down: bool
) -> ComponentMove | None:
    """The health component that moved most in the mover's direction, from → to: the reason."""
    changes = {
        name: float(value) - float(before[name])
        for name, value in now.items()
        if value is not None and before.get(name) is not None
    }
    if not changes:
        return None
    name = min(changes, key=changes.__getitem__) if down else max(changes, key=changes.__getitem__)
    change = changes[name]
    if (change < 0) != down or change == 0:
        return None
    return ComponentMove(name, float(before[name]), float(now[name]))


def _weakest(components: dict[str, Any]) -> ComponentScore | None:
    scored = {k: float(v) for k, v in components.items() if v is not None}
    if not scored:
        return None
    name = min(scored, key=scored.__getitem__)
    return ComponentScore(name, scored[name])


@dataclass(frozen=True, slots=True)
class _Earlier:
    """A compared day with its snapshot rows (empty when it has none)."""

    compared: ComparedDay
    before: pd.DataFrame


def _changes(now: pd.Series, then: pd.Series) -> list[float]:
    """`health_change` of each score in `now` against `then` (NaN where it has none there).

    The subtraction is vectorised; the rounding stays Python's `round`, as `health_change`
    rounds, so a move reads the same here as in the health answer.
    """
    difference = now.astype("float64") - then.reindex(now.index).astype("float64")
    return [round(change, 1) for change in difference.tolist()]


def _movers(
    now: pd.DataFrame,
    now_day: dt.date,
    earlier: list[_Earlier],
    limit: int,
    shown: _Shown,
) -> Movers:
    """Drops and gains of `MOVE_POINTS` or more against each compared day, biggest first."""
    compared = [e for e in earlier if e.compared.available]
    if not compared or now.empty:
        return NO_MOVERS
    spans = tuple(e.compared.days for e in compared)
    changes = pd.DataFrame(
        {k: _changes(now["score"], e.before["score"]) for k, e in enumerate(compared)},
        index=now.index,
        dtype=float,
    ).dropna(how="all")
    if changes.empty:
        return Movers(spans, (), 0, (), 0)
    values = changes.to_numpy(dtype=float)
    by = np.nanargmax(np.abs(values), axis=1)  # the larger of an account's moves decides
    moved = pd.DataFrame(
        {"move": values[np.arange(len(values)), by], "by": by}, index=changes.index
    )
    moved = moved[moved["move"].abs() >= MOVE_POINTS].join(now[["account", "score", "band"]])
    lists: dict[bool, pd.DataFrame] = {}
    counts: dict[bool, int] = {}
    for down in (True, False):
        side = moved[moved["move"] < 0] if down else moved[moved["move"] > 0]
        counts[down] = len(side)
        lists[down] = (
            side.assign(size=side["move"].abs())
            .sort_values(["size", "account"], ascending=[False, True])
            .head(limit)
        )
    listed = [int(i) for frame in lists.values() for i in frame.index]
    now_components = shown.components(now_day, listed)
    before_components = [
        shown.components(
            e.compared.day,
            [int(i) for frame in lists.values() for i in frame.index[frame["by"] == k]],
        )
        for k, e in enumerate(compared)
    ]
    sides = {
        down: (
            tuple(
                Mover(
                    account=str(row["account"]),
                    score=float(row["score"]),
                    band=str(row["band"]),
                    changes=tuple(_number(changes.at[account_id, k]) for k in range(len(spans))),
                    why=_biggest_change(
                        now_components.get(int(account_id), {}),
                        before_components[int(row["by"])].get(int(account_id), {}),
                        down,
                    ),
                    move=float(row["move"]),
                    move_days=spans[int(row["by"])],
                )
                for account_id, row in frame.iterrows()
            ),
            counts[down],
        )
        for down, frame in lists.items()
    }
    return Movers(spans, *sides[True], *sides[False])


def _earlier_ids(
    previous: Mapping[str, Any] | None, key: str, fallback: set[int] | None
) -> set[int] | None:
    """Who was in the red (or at high risk) before: as the previous digest reported, else as
    the snapshot one period earlier says; None when neither knows."""
    if previous is not None and previous.get(key) is not None:
        return {int(i) for i in previous[key]}
    return fallback


def _new_risks(
    accounts: pd.DataFrame,
    day: dt.date,
    earlier: list[_Earlier],
    previous: Mapping[str, Any] | None,
    config: Config,
    limit: int,
    shown: _Shown,
) -> tuple[NewRisks, Remembered]:
    high_from = config.churn.high_risk_from
    red = accounts[accounts["band"] == Band.RED.value]
    high = accounts[accounts["probability"].fillna(0) >= high_from]
    risk_known = bool(accounts["probability"].notna().any())
    remembered = Remembered(_ids(red), _ids(high) if risk_known else None)
    period = earlier[0] if earlier else None
    before = period.before if period is not None and period.compared.available else None
    was_red = _earlier_ids(
        previous,
        "red",
        None if before is None else set(before.index[before["band"] == Band.RED.value]),
    )
    knows_churn_risk = before is not None and bool(before["probability"].notna().any())
    was_high = _earlier_ids(
        previous,
        "high_risk",
        set(before.index[before["probability"].fillna(0) >= high_from])
        if before is not None and knows_churn_risk
        else None,
    )
    entered_red: tuple[EnteredRed, ...] | None = None
    entered_red_count = 0
    if was_red is not None:
        all_new_red = red[~red.index.isin(list(was_red))]
        entered_red_count = len(all_new_red)
        lowest = all_new_red.sort_values("score").head(limit)
        ids = [int(i) for i in lowest.index]
        weakest, owners = shown.components(day, ids), shown.owners_and_drivers(day, ids)
        entered_red = tuple(
            EnteredRed(
                account=str(row["account"]),
                score=float(row["score"]),
                owner=_text(owners.get(int(account_id), (None, None))[0]),
                weakest=_weakest(weakest.get(int(account_id), {})),
            )
            for account_id, row in lowest.iterrows()
        )
    newly_high: tuple[NewlyHighRisk, ...] | None = None
    newly_high_count = 0
    if was_high is not None and risk_known:
        all_new_high = high[~high.index.isin(list(was_high))]
        newly_high_count = len(all_new_high)
        likeliest = all_new_high.sort_values("probability", ascending=False).head(limit)
        details = shown.owners_and_drivers(day, [int(i) for i in likeliest.index])
        newly_high = tuple(
            NewlyHighRisk(
                account=str(row.account),
                probability=float(row.probability),
                owner=_text(details.get(int(account_id), (None, None))[0]),
                driver=_text(details.get(int(account_id), (None, None))[1]),
            )
            for account_id, row in zip(likeliest.index, likeliest.itertuples(), strict=True)
        )
    risks = NewRisks(
        high_from=high_from,
        entered_red=entered_red,
        entered_red_count=entered_red_count,
        newly_high=newly_high,
        newly_high_count=newly_high_count,
        at_high_risk=len(high) if risk_known else 0,
        compared_without_risk=period.compared.day
        if period is not None and before is not None
        else None,
    )
    return risks, remembered


def _renewals(
    upcoming: pd.DataFrame, accounts: pd.DataFrame, limit: int, shown: _Shown
) -> Renewals:
    """ARR renewing within each horizon, and the first horizon's renewals most worth a call."""
    if upcoming.empty:
        return Renewals((), (), 0)
    renewals = upcoming.assign(probability=upcoming["account_id"].map(accounts["probability"]))
    renewals = renewals.assign(at_stake=renewals["arr"] * renewals["probability"].fillna(0))
    due = []
    for horizon in RENEWAL_HORIZONS:
        within = renewals[renewals["days"] <= horizon]
        due.append(
            RenewalsDue(
                days=horizon,
                count=len(within),
                arr=float(within["arr"].sum()),
                at_stake=arr_at_stake(within["arr"], within["probability"]),
            )
        )
    first = renewals[renewals["days"] <= RENEWAL_HORIZONS[0]]
    worth = first.sort_values(
        ["at_stake", "arr", "renewal_date"], ascending=[False, False, True]
    ).head(limit)
    names = shown.names([int(i) for i in worth["account_id"]])
    return Renewals(
        due=tuple(due),
        worth_a_call=tuple(
            Renewing(names[int(r.account_id)], r.renewal_date, float(r.arr), _number(r.probability))
            for r in worth.itertuples()
        ),
        within_first=len(first),
    )


def _health(accounts: pd.DataFrame, earlier: list[_Earlier]) -> HealthSummary:
    if accounts.empty:
        return NO_HEALTH
    average = float(accounts["score"].mean())
    period = earlier[0] if earlier else None
    compared = period is not None and period.compared.available
    return HealthSummary(
        accounts=len(accounts),
        arr=float(accounts["arr"].fillna(0).sum()),
        average=average,
        change=average - float(period.before["score"].mean())
        if period is not None and compared
        else None,
        change_days=period.compared.days if period is not None and compared else None,
        red=int((accounts["band"] == Band.RED.value).sum()),
    )


def gather(
    session: Session,
    scope: Scope,
    *,
    cadence: DigestCadence,
    as_of: dt.date,
    window: tuple[dt.datetime, dt.datetime],
    config: Config,
    now: dt.datetime,
    previous: Mapping[str, Any] | None,
) -> DigestFacts:
    """Everything a digest for `scope` says about the period of `cadence` up to `as_of`.

    `window` is the period in UTC instants (survey answers are instants, not days);
    `previous` is what this subscription's previous digest remembered (`Remembered`).
    """
    days = cadence_days(cadence)
    limit = config.digests.movers
    segment = scope.segment.value if scope.kind is DigestScope.SEGMENT and scope.segment else None
    # The year's retention and each account's ARR today, summed per account in the
    # database in one pass over the movements (the segment is a condition on the account),
    # on a second connection while this one reads the snapshots.
    owned = Account.owner_id == scope.owner_id if scope.kind is DigestScope.OWNER else None
    revenue = beside(
        session,
        lambda own: retention_and_arr_in_db(
            own, as_of - dt.timedelta(days=365), as_of + dt.timedelta(days=1), segment, owned
        ),
    )
    known = _days(session, as_of, days, scope)
    snapshot_day, compared_days = known.snapshot_day, known.compared
    # The first compared day in full (what was red, at risk, the average then); the later
    # ones (a daily digest's week) by their scores alone, read with today's snapshots.
    first, later = compared_days[:1], compared_days[1:]
    accounts = _snapshots(session, snapshot_day, scope, later)
    earlier: list[_Earlier] = []
    if snapshot_day is not None and first:
        day = first[0]
        before = _earlier_snapshots(session, day, scope)
        earlier.append(
            _Earlier(ComparedDay(day, (snapshot_day - day).days, not before.empty), before)
        )
        for k, day in enumerate(later):
            scores = accounts.pop(f"then_{k}").dropna().to_frame("score")
            available = (
                day in known.with_snapshots
                if known.with_snapshots is not None
                else _has_snapshots(session, day, scope)
            )
            earlier.append(_Earlier(ComparedDay(day, (snapshot_day - day).days, available), scores))
    year, arr = revenue.result()
    accounts["arr"] = arr.reindex(accounts.index)
    shown = _Shown(session)
    if accounts.empty or snapshot_day is None:
        risks, remembered = NO_NEW_RISKS, Remembered(None, None)  # not known, not "none"
    else:
        risks, remembered = _new_risks(
            accounts, snapshot_day, earlier, previous, config, limit, shown
        )
    overdue = _overdue(session, scope, config, now)
    promises = overdue_promises(
        session,
        as_of,
        segment=scope.segment if scope.kind is DigestScope.SEGMENT else None,
        owner_id=scope.owner_id if scope.kind is DigestScope.OWNER else None,
        limit=limit,
    )
    plays = overdue_plays(
        session,
        now,
        segment=scope.segment if scope.kind is DigestScope.SEGMENT else None,
        owner_id=scope.owner_id if scope.kind is DigestScope.OWNER else None,
    )
    return DigestFacts(
        cadence=cadence,
        scope=scope,
        owner_name=_owner_name(session, scope),
        as_of=as_of,
        days=days,
        snapshot_day=snapshot_day,
        health=_health(accounts, earlier),
        compared=tuple(e.compared for e in earlier),
        movers=NO_MOVERS
        if snapshot_day is None
        else _movers(accounts, snapshot_day, earlier, limit, shown),
        risks=risks,
        remembered=remembered,
        retention=year,
        renewals=_renewals(_upcoming_renewals(session, as_of, scope), accounts, limit, shown),
        overdue=tuple(overdue[:limit]),
        overdue_count=len(overdue),
        nps=_nps(session, scope, window),
        trend=tuple(known.trend),
        overdue_plays=plays if plays.open_runs else None,
        promises=promises if promises.promised else None,
    )


def digest_facts(
    session: Session,
    *,
    cadence: DigestCadence,
    scope: Scope,
    as_of: dt.date,
    window_end: dt.datetime,
    config: Config,
    now: dt.datetime,
    previous: Mapping[str, Any] | None,
) -> DigestFacts:
    """One digest's facts, for a subscription's period (ending at `window_end`) or a preview."""
    days = cadence_days(cadence)
    return gather(
        session,
        scope,
        cadence=cadence,
        as_of=as_of,
        window=(window_end - dt.timedelta(days=days), window_end),
        config=config,
        now=now,
        previous=previous,
    )
