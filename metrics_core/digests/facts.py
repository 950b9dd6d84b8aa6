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
from sqlalchemy import Select, cast, func, select, type_coerce
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import String, Text

from metrics_core.config import Config
from metrics_core.digests.subscriptions import Scope, cadence_days
from metrics_core.health.scorecard import Band, compared_day, health_change
from metrics_core.playbooks.overdue import OverduePlays, overdue_plays
from metrics_core.revenue.rates import RetentionResult, arr_by_account, retention
from metrics_core.revenue.renewals import arr_at_stake
from metrics_core.store.frames import movements, survey_responses
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
    "components_json",
    "probability",
    "driver",
]
_EARLIER_COLUMNS = ["account_id", "score", "band", "components_json", "probability"]


def _snapshots(session: Session, day: dt.date | None, scope: Scope) -> pd.DataFrame:
    """The scope's snapshots of `day`; none (an empty frame) when there is no such day.

    The components stay as stored text: a whole portfolio's worth of JSON decoded for the
    handful of accounts a digest shows would cost a tenth of its second.
    """
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
            cast(HealthSnapshot.components, Text),
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
    """The scope's snapshots of an earlier `day`, with only what changes are measured on."""
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


def _components(frame: pd.DataFrame, account_id: int) -> dict[str, Any]:
    """One account's component scores in a snapshot frame; {} when it has none there."""
    if account_id not in frame.index:
        return {}
    stored = frame.at[account_id, "components_json"]
    return dict(json.loads(stored)) if isinstance(stored, str) and stored else {}


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


def _upcoming_renewals(session: Session, as_of: dt.date, scope: Scope) -> pd.DataFrame:
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


def _movers(now: pd.DataFrame, earlier: list[_Earlier], limit: int) -> Movers:
    """Drops and gains of `MOVE_POINTS` or more against each compared day, biggest first."""
    compared = [e for e in earlier if e.compared.available]
    if not compared or now.empty:
        return NO_MOVERS
    spans = tuple(e.compared.days for e in compared)
    changes = pd.DataFrame(
        {
            k: [
                health_change(float(score), None if pd.isna(then) else float(then))
                for score, then in zip(
                    now["score"], e.before["score"].reindex(now.index), strict=True
                )
            ]
            for k, e in enumerate(compared)
        },
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
    sides: dict[bool, tuple[tuple[Mover, ...], int]] = {}
    for down in (True, False):
        side = moved[moved["move"] < 0] if down else moved[moved["move"] > 0]
        shown = side.assign(size=side["move"].abs()).sort_values(
            ["size", "account"], ascending=[False, True]
        )
        sides[down] = (
            tuple(
                Mover(
                    account=str(row["account"]),
                    score=float(row["score"]),
                    band=str(row["band"]),
                    changes=tuple(_number(changes.at[account_id, k]) for k in range(len(spans))),
                    why=_biggest_change(
                        _components(now, account_id),
                        _components(compared[int(row["by"])].before, account_id),
                        down,
                    ),
                    move=float(row["move"]),
                    move_days=spans[int(row["by"])],
                )
                for account_id, row in shown.head(limit).iterrows()
            ),
            len(side),
        )
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
    earlier: list[_Earlier],
    previous: Mapping[str, Any] | None,
    config: Config,
    limit: int,
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
        entered_red = tuple(
            EnteredRed(
                account=str(row["account"]),
                score=float(row["score"]),
                owner=_text(row["owner"]),
                weakest=_weakest(_components(accounts, int(account_id))),
            )
            for account_id, row in all_new_red.sort_values("score").head(limit).iterrows()
        )
    newly_high: tuple[NewlyHighRisk, ...] | None = None
    newly_high_count = 0
    if was_high is not None and risk_known:
        all_new_high = high[~high.index.isin(list(was_high))]
        newly_high_count = len(all_new_high)
        newly_high = tuple(
            NewlyHighRisk(
                account=str(row.account),
                probability=float(row.probability),
                owner=_text(row.owner),
                driver=_text(row.driver),
            )
            for row in all_new_high.sort_values("probability", ascending=False)
            .head(limit)
            .itertuples()
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


def _renewals(upcoming: pd.DataFrame, accounts: pd.DataFrame, limit: int) -> Renewals:
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
    return Renewals(
        due=tuple(due),
        worth_a_call=tuple(
            Renewing(str(r.account), r.renewal_date, float(r.arr), _number(r.probability))
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
    snapshot_day = _snapshot_day(session, as_of)
    accounts = _snapshots(session, snapshot_day, scope)
    earlier = (
        []
        if snapshot_day is None
        else [
            _Earlier(
                ComparedDay(day, (snapshot_day - day).days, not before.empty),
                before,
            )
            for day in _compared_days(session, snapshot_day, days)
            for before in (_earlier_snapshots(session, day, scope),)
        ]
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
    if accounts.empty:
        risks, remembered = NO_NEW_RISKS, Remembered(None, None)  # not known, not "none"
    else:
        risks, remembered = _new_risks(accounts, earlier, previous, config, limit)
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
        movers=_movers(accounts, earlier, limit),
        risks=risks,
        remembered=remembered,
        retention=year,
        renewals=_renewals(_upcoming_renewals(session, as_of, scope), accounts, limit),
        overdue=tuple(overdue[:limit]),
        overdue_count=len(overdue),
        nps=nps(answers["score"]),
        trend=tuple(_trend(session, as_of, scope)),
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
