"""Point-in-time facts about accounts: what health and churn risk are computed from.

One function gathers them for one account or the whole portfolio, so `/health acme` and
the portfolio view can never disagree. Everything is "as of" a day: only rows dated on or
before it count, and ticket state is rebuilt from opened/closed times rather than read
from the current status, so history (snapshots, backtests) sees what was known then.
Each input is one grouped SQL query; pandas only joins the results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Select, and_, case, func, literal, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from metrics_core.config import Config
from metrics_core.frames import movements
from metrics_core.models import (
    Account,
    Activity,
    ArrMovement,
    ArrMovementKind,
    Renewal,
    SurveyKind,
    SurveyResponse,
    Ticket,
    TicketPriority,
    TicketStatus,
    UsageDaily,
)
from metrics_core.revenue import arr_by_account
from metrics_core.usage_signals import usage_drops

INPUT_COLUMNS = (
    "segment",
    "seats",
    "owner_id",
    "tenure_days",
    "arr",
    "active_users",
    "active_users_prev",
    "usage_days",
    "usage_known",
    "usage_drop",
    "usage_drop_change",
    "features_used",
    "features_total",
    "open_urgent",
    "open_high",
    "open_normal",
    "open_low",
    "tickets_recent",
    "tickets_prev",
    "latest_nps",
    "csat_mean",
    "days_since_touch",
    "touches_known",
    "expansion_recent",
    "contraction_recent",
    "days_to_renewal",
    "renewal_arr",
)

# No row means none: no open tickets, no features used, no expansion.
ZERO_WHEN_ABSENT = (
    "open_urgent",
    "open_high",
    "open_normal",
    "open_low",
    "tickets_recent",
    "tickets_prev",
    "features_used",
    "usage_days",
    "user_days",
    "user_days_prev",
    "expansion_recent",
    "contraction_recent",
)


def _end_of(day: dt.date) -> dt.datetime:
    """The first instant after `day` (UTC): timestamps strictly before it happened by then."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


AnySelect = Select[*tuple[Any, ...]]
S = TypeVar("S", bound=AnySelect)


def _only(statement: S, column: Any, ids: Sequence[int] | None) -> S:
    return statement if ids is None else statement.where(column.in_(ids))


def _frame(session: Session, statement: AnySelect, columns: Sequence[str]) -> pd.DataFrame:
    rows = session.execute(statement).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", *columns])
    return frame.set_index("account_id")


def _accounts(session: Session, as_of: dt.date, ids: Sequence[int] | None) -> pd.DataFrame:
    statement = _only(
        select(
            Account.id,
            Account.segment,
            Account.seats,
            Account.owner_id,
            Account.created_on,
            Account.lifecycle_stage,
        ).where(Account.created_on <= as_of),
        Account.id,
        ids,
    )
    frame = _frame(
        session,
        statement,
        ("segment", "seats", "owner_id", "created_on", "lifecycle_stage"),
    )
    frame["tenure_days"] = [(as_of - d).days for d in frame["created_on"]]
    # ARR at the end of the day, by revenue's one definition of ARR.
    moves = movements(session, list(frame.index) if ids is not None else None, until=as_of)
    arr = arr_by_account(moves, as_of + dt.timedelta(days=1)) if len(moves) else pd.Series()
    frame["arr"] = arr.reindex(frame.index).astype(float)
    frame["moves"] = moves.groupby("account_id").size().reindex(frame.index).fillna(0)
    return frame


def _usage(
    session: Session, as_of: dt.date, window: int, ids: Sequence[int] | None
) -> pd.DataFrame:
    """Active-user days in the window and the one before it.

    Sums, not averages: a day without a row is a day nobody used the product, and an
    average over the remaining days would hide exactly the decline health is meant to show.
    """
    recent_from = as_of - dt.timedelta(days=window)
    prev_from = as_of - dt.timedelta(days=2 * window)
    recent = UsageDaily.day > recent_from
    statement = _only(
        select(
            UsageDaily.account_id,
            func.sum(case((recent, UsageDaily.active_users), else_=0)),
            func.sum(case((~recent, UsageDaily.active_users), else_=0)),
            func.count(case((recent, 1))),
        )
        .where(UsageDaily.day > prev_from, UsageDaily.day <= as_of)
        .group_by(UsageDaily.account_id),
        UsageDaily.account_id,
        ids,
    )
    return _frame(session, statement, ("user_days", "user_days_prev", "usage_days"))


def _features(
    session: Session, as_of: dt.date, window: int, ids: Sequence[int] | None
) -> tuple[pd.DataFrame, int]:
    """Distinct features each account used in the window, and how many the product has."""
    keys = (
        "json_each(u.feature_counts) AS f"
        if session.get_bind().dialect.name == "sqlite"
        else "LATERAL json_object_keys(u.feature_counts) AS f(key)"
    )
    params: dict[str, Any] = {"since": as_of - dt.timedelta(days=window), "until": as_of}
    where = "u.day > :since AND u.day <= :until"
    if ids is not None:
        where += " AND u.account_id IN (" + ", ".join(str(int(i)) for i in ids) + ")"
    rows = session.execute(
        text(
            f"SELECT u.account_id, COUNT(DISTINCT f.key) FROM usage_daily AS u, {keys} "
            f"WHERE {where} GROUP BY u.account_id"
        ),
        params,
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", "features_used"])
    total = session.execute(
        text(
            f"SELECT COUNT(DISTINCT f.key) FROM usage_daily AS u, {keys} "
            "WHERE u.day > :since AND u.day <= :until"
        ),
        {"since": as_of - dt.timedelta(days=90), "until": as_of},
    ).scalar_one()
    return frame.set_index("account_id"), int(total)


def _tickets(
    session: Session, as_of: dt.date, window: int, ids: Sequence[int] | None
) -> pd.DataFrame:
    end = _end_of(as_of)
    recent_from = end - dt.timedelta(days=window)
    prev_from = end - dt.timedelta(days=2 * window)
    still_open = and_(
        Ticket.opened_at < end,
        or_(
            Ticket.closed_at >= end,
            and_(
                Ticket.closed_at.is_(None),
                Ticket.status.in_((TicketStatus.OPEN, TicketStatus.PENDING)),
            ),
        ),
    )

    def open_with(priority: TicketPriority) -> ColumnElement[Any]:
        return func.count(case((and_(still_open, Ticket.priority == priority), 1)))

    statement = _only(
        select(
            Ticket.account_id,
            open_with(TicketPriority.URGENT),
            open_with(TicketPriority.HIGH),
            open_with(TicketPriority.NORMAL),
            open_with(TicketPriority.LOW),
            func.count(case((Ticket.opened_at >= recent_from, 1))),
            func.count(case((Ticket.opened_at < recent_from, 1))),
        )
        .where(
            Ticket.opened_at < end,
            or_(still_open, Ticket.opened_at >= prev_from),
        )
        .group_by(Ticket.account_id),
        Ticket.account_id,
        ids,
    )
    return _frame(
        session,
        statement,
        ("open_urgent", "open_high", "open_normal", "open_low", "tickets_recent", "tickets_prev"),
    )


def _sentiment(
    session: Session, as_of: dt.date, window: int, ids: Sequence[int] | None
) -> pd.DataFrame:
    end = _end_of(as_of)
    since = end - dt.timedelta(days=window)
    in_window = and_(SurveyResponse.submitted_at >= since, SurveyResponse.submitted_at < end)
    ranked = _only(
        select(
            SurveyResponse.account_id,
            SurveyResponse.score,
            func.row_number()
            .over(
                partition_by=SurveyResponse.account_id,
                order_by=(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc()),
            )
            .label("rank"),
        ).where(in_window, SurveyResponse.kind == SurveyKind.NPS),
        SurveyResponse.account_id,
        ids,
    ).subquery()
    nps = _frame(
        session,
        select(ranked.c.account_id, ranked.c.score).where(ranked.c.rank == 1),
        ("latest_nps",),
    )
    csat = _frame(
        session,
        _only(
            select(SurveyResponse.account_id, func.avg(SurveyResponse.score))
            .where(in_window, SurveyResponse.kind == SurveyKind.CSAT)
            .group_by(SurveyResponse.account_id),
            SurveyResponse.account_id,
            ids,
        ),
        ("csat_mean",),
    )
    return nps.join(csat, how="outer")


def _touches(session: Session, as_of: dt.date, ids: Sequence[int] | None) -> pd.DataFrame:
    frame = _frame(
        session,
        _only(
            select(Activity.account_id, func.max(Activity.occurred_at))
            .where(Activity.occurred_at < _end_of(as_of))
            .group_by(Activity.account_id),
            Activity.account_id,
            ids,
        ),
        ("last_touch",),
    )
    last = pd.to_datetime(frame.pop("last_touch"), utc=True)
    frame["days_since_touch"] = (pd.Timestamp(_end_of(as_of)) - last).dt.days.astype(float)
    return frame


def _commercial(
    session: Session, as_of: dt.date, config: Config, ids: Sequence[int] | None
) -> pd.DataFrame:
    since = as_of - dt.timedelta(days=config.health.commercial.lookback_days)
    moves = _frame(
        session,
        _only(
            select(
                ArrMovement.account_id,
                func.sum(
                    case(
                        (ArrMovement.kind == ArrMovementKind.EXPANSION, ArrMovement.amount), else_=0
                    )
                ),
                func.sum(
                    case(
                        (ArrMovement.kind == ArrMovementKind.CONTRACTION, ArrMovement.amount),
                        else_=0,
                    )
                ),
            )
            .where(ArrMovement.effective_on > since, ArrMovement.effective_on <= as_of)
            .group_by(ArrMovement.account_id),
            ArrMovement.account_id,
            ids,
        ),
        ("expansion_recent", "contraction_recent"),
    )
    ranked = _only(
        select(
            Renewal.account_id,
            Renewal.renewal_date,
            Renewal.arr,
            func.row_number()
            .over(partition_by=Renewal.account_id, order_by=Renewal.renewal_date)
            .label("rank"),
        ).where(Renewal.renewal_date >= as_of),
        Renewal.account_id,
        ids,
    ).subquery()
    renewals = _frame(
        session,
        select(ranked.c.account_id, ranked.c.renewal_date, ranked.c.arr).where(ranked.c.rank == 1),
        ("renewal_date", "renewal_arr"),
    )
    renewals["days_to_renewal"] = [float((d - as_of).days) for d in renewals.pop("renewal_date")]
    return moves.join(renewals, how="outer")


def _any_rows(session: Session, column: Any, before: dt.date | dt.datetime) -> bool:
    """Whether a source has any data at all: without it an input is missing, not zero."""
    comparison = (
        column <= before
        if isinstance(before, dt.date) and not isinstance(before, dt.datetime)
        else column < before
    )
    return session.scalar(select(literal(True)).where(comparison).limit(1)) is not None


def account_inputs(
    session: Session,
    as_of: dt.date,
    config: Config,
    account_ids: Sequence[int] | None = None,
    *,
    customers_only: bool = True,
) -> tuple[pd.DataFrame, int]:
    """One row per account (indexed by account id) with every input, and the product's
    feature count. `customers_only` drops accounts that had churned by `as_of`: a churned
    account has no health, only a history.
    """
    window = config.health.usage.window_days
    if account_ids is not None and len(account_ids) == 0:
        return pd.DataFrame(columns=list(INPUT_COLUMNS), index=pd.Index([], name="account_id")), 0
    frame = _accounts(session, as_of, account_ids)
    features, features_total = _features(session, as_of, window, account_ids)
    parts = [
        _usage(session, as_of, window, account_ids),
        features,
        _tickets(session, as_of, window, account_ids),
        _sentiment(session, as_of, config.health.sentiment.window_days, account_ids),
        _touches(session, as_of, account_ids),
        _commercial(session, as_of, config, account_ids),
    ]
    for part in parts:
        frame = frame.join(part, how="left")
    if customers_only:
        # With contracts, a customer has ARR > 0; without any, trust the lifecycle stage.
        has_moves = frame["moves"].fillna(0) > 0
        paying = frame["arr"].fillna(0) > 0
        not_churned = frame["lifecycle_stage"].astype(str) != "churned"
        frame = frame[(has_moves & paying) | (~has_moves & not_churned)]
    frame[list(ZERO_WHEN_ABSENT)] = frame[list(ZERO_WHEN_ABSENT)].fillna(0)
    # Average daily active users over the days the account was a customer in each window.
    recent_days = frame["tenure_days"].clip(lower=1, upper=window)
    prev_days = (frame["tenure_days"] - window).clip(lower=0, upper=window)
    frame["active_users"] = frame["user_days"] / recent_days
    frame["active_users_prev"] = (frame["user_days_prev"] / prev_days).where(prev_days > 0)
    frame["usage_known"] = _any_rows(session, UsageDaily.day, as_of)
    drops = usage_drops(session, as_of, config, account_ids)
    frame["usage_drop"] = drops["flagged"].reindex(frame.index).fillna(False).astype(bool)
    frame["usage_drop_change"] = drops["change"].reindex(frame.index).astype(float)
    frame["touches_known"] = _any_rows(session, Activity.occurred_at, _end_of(as_of))
    frame["features_total"] = features_total
    frame["segment"] = frame["segment"].map(lambda s: getattr(s, "value", s))
    return frame[list(INPUT_COLUMNS)].astype({"seats": float, "arr": float}), features_total
