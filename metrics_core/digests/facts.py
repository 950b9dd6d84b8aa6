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
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Select, cast, func, select, type_coerce
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import String, Text

from metrics_core.config import Config
from metrics_core.digests.subscriptions import Scope
from metrics_core.health.scorecard import compared_day
from metrics_core.revenue.rates import RetentionResult, arr_by_account, retention
from metrics_core.store.frames import movements, survey_responses
from metrics_core.store.models import (
    Account,
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
class Comparison:
    """An earlier snapshot day that changes are measured against."""

    day: dt.date
    days: int
    """How many days before the digest's snapshot day it is."""
    before: pd.DataFrame
    """Index account_id: score, band, probability, and components_json (the components as
    stored, decoded by `components` for the few accounts shown); empty when that day has no
    snapshot (then nothing is compared with it)."""

    @property
    def available(self) -> bool:
        return not self.before.empty

    def components(self, account_id: int) -> dict[str, Any]:
        """One account's component scores that day; {} when it had no snapshot."""
        if account_id not in self.before.index:
            return {}
        stored = self.before.at[account_id, "components_json"]
        return dict(json.loads(stored)) if stored else {}

    @property
    def knows_churn_risk(self) -> bool:
        """Whether that day's snapshot holds churn risk (backfilled days hold none)."""
        return bool(self.before["probability"].notna().any())


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
    as_of: dt.date
    snapshot_day: dt.date | None
    accounts: pd.DataFrame
    """Index account_id: account, owner, segment, score, band, components, probability,
    driver, arr; from the latest snapshot on or before `as_of`."""
    comparisons: tuple[Comparison, ...]
    """What changes are measured against, nearest first: the first is one period earlier
    (the previous snapshot day for a daily digest, 7 days for a weekly one), then the week
    for a daily digest. Empty without a snapshot."""
    retention: RetentionResult
    renewals: pd.DataFrame
    """account_id, account, renewal_date, arr, days (to renewal), within the longest horizon."""
    overdue: list[Overdue]
    nps: NpsResult
    trend: list[tuple[dt.date, float]]
    """The scope's average health per snapshot day, oldest first."""


def _in_scope(statement: _S, scope: Scope) -> _S:
    if scope.kind is DigestScope.SEGMENT:
        return statement.where(Account.segment == scope.segment)
    if scope.kind is DigestScope.OWNER:
        return statement.where(Account.owner_id == scope.owner_id)
    return statement


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


_SNAPSHOT_COLUMNS = [
    "account_id",
    "account",
    "owner",
    "segment",
    "score",
    "band",
    "components",
    "probability",
    "driver",
]
_EARLIER_COLUMNS = ["account_id", "score", "band", "components_json", "probability"]


def _snapshots(session: Session, day: dt.date | None, scope: Scope) -> pd.DataFrame:
    """The scope's snapshots of `day`; none (an empty frame) when there is no such day."""
    if day is None:
        return pd.DataFrame([], columns=_SNAPSHOT_COLUMNS).set_index("account_id")
    owner = aliased(TeamMember)
    statement = _in_scope(
        select(
            HealthSnapshot.account_id,
            Account.name,
            owner.name,
            type_coerce(Account.segment, String),
            HealthSnapshot.score,
            HealthSnapshot.band,
            HealthSnapshot.components,
            HealthSnapshot.churn_probability,
            HealthSnapshot.churn_driver,
        )
        .join(Account, Account.id == HealthSnapshot.account_id)
        .outerjoin(owner, owner.id == Account.owner_id)
        .where(HealthSnapshot.day == day),
        scope,
    )
    # Core rows as plain tuples: the ORM's per-row work costs more than the query here.
    rows = list(map(tuple, session.connection().execute(statement)))
    return pd.DataFrame(rows, columns=_SNAPSHOT_COLUMNS).set_index("account_id")


def _earlier_snapshots(session: Session, day: dt.date, scope: Scope) -> pd.DataFrame:
    """The scope's snapshots of an earlier `day`, with only what changes are measured on.

    The components stay as stored text: a whole portfolio's worth of JSON decoded for the
    handful of movers a digest shows would cost a tenth of its second.
    """
    statement = _in_scope(
        select(
            HealthSnapshot.account_id,
            HealthSnapshot.score,
            HealthSnapshot.band,
            cast(HealthSnapshot.components, Text),
            HealthSnapshot.churn_probability,
        )
        .join(Account, Account.id == HealthSnapshot.account_id)
        .where(HealthSnapshot.day == day),
        scope,
    )
    rows = list(map(tuple, session.connection().execute(statement)))  # see `_snapshots`
    return pd.DataFrame(rows, columns=_EARLIER_COLUMNS).set_index("account_id")


def _trend(session: Session, as_of: dt.date, scope: Scope) -> list[tuple[dt.date, float]]:
    statement = _in_scope(
        select(HealthSnapshot.day, func.avg(HealthSnapshot.score))
        .join(Account, Account.id == HealthSnapshot.account_id)
        .where(
            HealthSnapshot.day > as_of - dt.timedelta(days=TREND_DAYS),
            HealthSnapshot.day <= as_of,
        )
        .group_by(HealthSnapshot.day)
        .order_by(HealthSnapshot.day),
        scope,
    )
    return [(day, float(average)) for day, average in session.execute(statement)]


def _renewals(session: Session, as_of: dt.date, scope: Scope) -> pd.DataFrame:
    horizon = as_of + dt.timedelta(days=max(RENEWAL_HORIZONS))
    statement = _in_scope(
        select(Renewal.account_id, Account.name, Renewal.renewal_date, Renewal.arr)
        .join(Account, Account.id == Renewal.account_id)
        .where(
            Renewal.status == RenewalStatus.UPCOMING,
            Renewal.renewal_date >= as_of,
            Renewal.renewal_date <= horizon,
        )
        .order_by(Renewal.renewal_date),
        scope,
    )
    frame = pd.DataFrame(
        [tuple(r) for r in session.execute(statement)],
        columns=["account_id", "account", "renewal_date", "arr"],
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


def _account_ids(session: Session, scope: Scope) -> list[int] | None:
    if scope.kind is DigestScope.PORTFOLIO:
        return None
    return list(session.scalars(_in_scope(select(Account.id), scope)))


def gather(
    session: Session,
    scope: Scope,
    *,
    as_of: dt.date,
    days: int,
    window: tuple[dt.datetime, dt.datetime],
    config: Config,
    now: dt.datetime,
) -> DigestFacts:
    """Everything a digest for `scope` says about the `days` up to `as_of`.

    `window` is the period in UTC instants (survey answers are instants, not days).
    """
    snapshot_day = _snapshot_day(session, as_of)
    accounts = _snapshots(session, snapshot_day, scope)
    comparisons = (
        ()
        if snapshot_day is None
        else tuple(
            Comparison(day, (snapshot_day - day).days, _earlier_snapshots(session, day, scope))
            for day in _compared_days(session, snapshot_day, days)
        )
    )
    ids = _account_ids(session, scope)
    moves = movements(session, ids, until=as_of)
    accounts["arr"] = arr_by_account(moves, as_of + dt.timedelta(days=1)).reindex(accounts.index)
    segment = scope.segment.value if scope.kind is DigestScope.SEGMENT and scope.segment else None
    year = retention(moves, as_of - dt.timedelta(days=365), as_of + dt.timedelta(days=1), segment)
    answers = survey_responses(
        session,
        window[0],
        window[1],
        kind=SurveyKind.NPS,
        account_ids=ids if scope.kind is DigestScope.OWNER else None,
        segment=segment,
    )
    return DigestFacts(
        as_of=as_of,
        snapshot_day=snapshot_day,
        accounts=accounts,
        comparisons=comparisons,
        retention=year,
        renewals=_renewals(session, as_of, scope),
        overdue=_overdue(session, scope, config, now),
        nps=nps(answers["score"]),
        trend=_trend(session, as_of, scope),
    )
