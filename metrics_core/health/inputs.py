"""Point-in-time facts about accounts: what health and churn risk are computed from.

One function gathers them for one account or the whole portfolio, so `/health acme` and
the portfolio view can never disagree. Everything is "as of" a day: only rows dated on or
before it count, and ticket state is rebuilt from opened/closed times rather than read
from the current status, so history (snapshots, backtests) sees what was known then.
Each input is one grouped SQL query whose rows are scattered into numpy columns aligned
with the account ids: no DataFrame is built on the way, because for one account the
fixed cost of pandas (tens of microseconds an operation) would dwarf the queries.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import wait
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import (
    Connection,
    Date,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from metrics_core.config import Config
from metrics_core.health import product_features
from metrics_core.health.usage_signals import (
    drops_from_sums,
    last_year,
    sums_after_id,
    week_params,
    week_sum_columns,
)
from metrics_core.revenue.rates import arr_sql
from metrics_core.store import watermarks
from metrics_core.store.db import beside
from metrics_core.store.models import (
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
    UtcDateTime,
)

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
    "usage_lag_days",
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


IDS_AT_ONCE = 15_000
"""Accounts named in one query at most. A query binds each id once or twice, and databases
cap the values one statement may bind (PostgreSQL at 65,535; SQLite, as often built, at
32,766); a training cut-off of a large book names more customers than that."""


def _end_of(day: dt.date) -> dt.datetime:
    """The first instant after `day` (UTC): timestamps strictly before it happened by then."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


AnySelect = Select[*tuple[Any, ...]]
S = TypeVar("S", bound=AnySelect)


def _only(statement: S, column: Any, filtered: bool) -> S:
    """Restrict to the `ids` parameter when asked for some accounts, else to every account.

    Both forms lead the planner to the per-account indexes (usage's primary key is
    (account_id, day)): for the whole book it walks the accounts and seeks each one's few
    rows in the window, instead of scanning every row the table has ever held.
    """
    if filtered:
        return statement.where(column.in_(bindparam("ids", expanding=True)))
    driver = Account.__table__.alias("driver")
    return statement.join(driver, driver.c.id == column)


def _per_account(column: Any, values: Sequence[Any], where: Sequence[Any], filtered: bool) -> Any:
    """`SELECT <account>, *values … GROUP BY <account>`, shaped for the per-account indexes.

    For the whole book the rows are grouped by the id of a joined accounts table, which
    makes SQLite walk the accounts and seek each one's rows in the window through the
    (account_id, …) index, rather than scan every row the table holds; for some accounts
    the ids are a bound list.
    """
    if filtered:
        key = column
        statement = select(key, *values).where(*where, key.in_(bindparam("ids", expanding=True)))
    else:
        driver = Account.__table__.alias("driver")
        key = driver.c.id
        statement = select(key, *values).join_from(driver, column.table, column == key)
        statement = statement.where(*where)
    return statement.group_by(key)


def _day(name: str) -> Any:
    return bindparam(name, type_=Date())


def _instant(name: str) -> Any:
    return bindparam(name, type_=UtcDateTime())


Columns = dict[str, NDArray[Any]]


@dataclass(frozen=True, slots=True)
class Inputs:
    """Every input of a set of accounts: `columns[name][i]` belongs to account `ids[i]`.

    Numeric columns are float arrays (NaN where unknown); `segment` holds strings.
    """

    ids: NDArray[np.int64]
    columns: Columns
    features_total: int

    def __len__(self) -> int:
        return len(self.ids)

    def frame(self) -> pd.DataFrame:
        """The same data as a DataFrame indexed by account id, for pandas consumers."""
        return pd.DataFrame(
            {name: self.columns[name] for name in INPUT_COLUMNS},
            index=pd.Index(self.ids, name="account_id"),
        )

    def take(self, mask: NDArray[np.bool_]) -> Inputs:
        return Inputs(
            self.ids[mask],
            {name: values[mask] for name, values in self.columns.items()},
            self.features_total,
        )


def _scatter(
    connection: Connection,
    statement: Any,
    params: dict[str, Any],
    position: dict[int, int],
    names: Sequence[str],
    *,
    convert: Any = float,
) -> Columns:
    """Run a query whose rows are (account_id, *values) into arrays aligned with `position`.

    Statements are built once (see the cached `_*_sql` builders) and run on the Core
    connection: building SQL expressions and ORM result handling cost more than the
    queries themselves for one account.
    """
    columns = {name: np.full(len(position), np.nan) for name in names}
    rows = connection.execute(statement, params).all()
    at = _positions(rows, position)
    found = at >= 0
    for k, name in enumerate(names, start=1):
        columns[name][at[found]] = _floats([row[k] for row in rows], convert)[found]
    return columns


def _positions(rows: Sequence[Any], position: dict[int, int]) -> NDArray[np.int64]:
    """Where each row's account (its first value) sits in the columns; -1 if not there."""
    return np.fromiter((position.get(row[0], -1) for row in rows), np.int64, len(rows))


def _floats(values: list[Any], convert: Any = float) -> NDArray[np.float64]:
    """Query values as floats, NaN for NULL, converted a column at a time.

    numpy turns None into NaN and ints, floats and Decimals into floats itself, which is
    much quicker than converting value by value for a whole book.
    """
    if convert is not float:
        values = [None if value is None else convert(value) for value in values]
    return np.array(values, dtype=np.float64)


@functools.cache
def _accounts_sql(filtered: bool) -> AnySelect:
    # ARR at the end of the as-of day, by revenue's definition of ARR.
    arr = _only(arr_sql(_day("after")), ArrMovement.account_id, filtered).subquery()
    return _only(
        select(
            Account.id,
            Account.segment,
            Account.seats,
            Account.owner_id,
            Account.created_on,
            Account.lifecycle_stage,
            arr.c.arr,
            arr.c.moves,
        )
        .outerjoin(arr, arr.c.account_id == Account.id)
        .where(Account.created_on <= _day("as_of"))
        .order_by(Account.id),
        Account.id,
        filtered,
    )


def _accounts(
    session: Session, as_of: dt.date, ids: Sequence[int] | None
) -> tuple[NDArray[np.int64], Columns]:
    rows = (
        session.connection()
        .execute(
            _accounts_sql(ids is not None),
            {
                "as_of": as_of,
                "after": as_of + dt.timedelta(days=1),
                "ids": list(ids) if ids is not None else None,
            },
        )
        .all()
    )
    account_ids = np.array([r[0] for r in rows], dtype=np.int64)
    columns: Columns = {
        "segment": np.array([r[1].value for r in rows], dtype=object),
        "seats": np.array([float(r[2]) for r in rows]),
        "owner_id": np.array([np.nan if r[3] is None else float(r[3]) for r in rows]),
        "tenure_days": np.array([float((as_of - r[4]).days) for r in rows]),
        "churned_stage": np.array([r[5].value == "churned" for r in rows], dtype=bool),
    }
    columns["arr"] = np.array([np.nan if r[6] is None else float(r[6]) for r in rows])
    columns["moves"] = np.array([float(r[7] or 0) for r in rows])
    return account_ids, columns


@functools.cache
def _usage_sql(weeks: int, filtered: bool) -> Any:
    """Usage windows and this year's usage-drop week sums, in one range of days."""
    recent = UsageDaily.day > _day("recent_from")
    earlier = ~recent & (UsageDaily.day > _day("prev_from"))
    return _per_account(
        UsageDaily.account_id,
        (
            func.sum(case((recent, UsageDaily.active_users), else_=0)),
            func.sum(case((earlier, UsageDaily.active_users), else_=0)),
            func.count(case((recent, 1))),
            *week_sum_columns("n", weeks),
        ),
        (UsageDaily.day > _day("scan_from"), UsageDaily.day <= _day("as_of")),
        filtered,
    )


@functools.cache
def _last_year_sql(weeks: int, filtered: bool) -> Any:
    """The same weeks a year earlier, for the seasonal expectation of usage drops."""
    return _per_account(
        UsageDaily.account_id,
        week_sum_columns("y", weeks),
        (UsageDaily.day > _day("yfirst"), UsageDaily.day <= _day("yhi0")),
        filtered,
    )


def _usage(
    connection: Connection,
    as_of: dt.date,
    config: Config,
    ids: list[int] | None,
    at: dict[int, int],
) -> Columns:
    """Active-user days in the window and the one before it, and the usage-drop flags.

    Sums, not averages: a day without a row is a day nobody used the product, and an
    average over the remaining days would hide exactly the decline health is meant to show.
    """
    window = config.health.usage.window_days
    weeks, length = config.usage_drop.baseline_weeks, config.usage_drop.recent_days
    this_year = week_params("n", as_of, weeks, length)
    prev_from = as_of - dt.timedelta(days=2 * window)
    params: dict[str, Any] = {
        "as_of": as_of,
        "recent_from": as_of - dt.timedelta(days=window),
        "prev_from": prev_from,
        "scan_from": min(prev_from, this_year["nfirst"]),
        "ids": ids,
        **this_year,
        **week_params("y", last_year(as_of), weeks, length),
    }
    columns: Columns = {
        name: np.zeros(len(at)) for name in ("user_days", "user_days_prev", "usage_days")
    }
    now = np.full((len(at), weeks + 1), np.nan)
    rows = connection.execute(_usage_sql(weeks, ids is not None), params).all()
    index = _positions(rows, at)
    found = index >= 0
    sums = sums_after_id(rows, 3 + weeks + 1)
    for k, name in enumerate(("user_days", "user_days_prev", "usage_days")):
        columns[name][index[found]] = np.nan_to_num(sums[found, k], nan=0.0)
    now[index[found]] = sums[found, 3:]
    then = np.full((len(at), weeks + 1), np.nan)
    rows = connection.execute(_last_year_sql(weeks, ids is not None), params).all()
    index = _positions(rows, at)
    found = index >= 0
    sums = sums_after_id(rows, weeks + 1)
    then[index[found]] = sums[found]
    drops = drops_from_sums(now, then, ~np.isnan(now).all(axis=1), config)
    columns["usage_drop"] = drops["flagged"]
    columns["usage_drop_change"] = drops["change"]
    return columns


@functools.cache
def _features_sql(dialect: str, filtered: bool) -> Any:
    keys = (
        "json_each(u.feature_counts) AS f"
        if dialect == "sqlite"
        else "LATERAL json_object_keys(u.feature_counts) AS f(key)"
    )
    # Driven from accounts for the whole book, so each account's days are a range seek.
    source = (
        "usage_daily AS u"
        if filtered
        else "accounts AS driver JOIN usage_daily AS u ON u.account_id = driver.id"
    )
    where = "u.day > :since AND u.day <= :until"
    key = "u.account_id" if filtered else "driver.id"
    statement = text(
        f"SELECT {key}, COUNT(DISTINCT f.key) FROM {source}, {keys} "
        f"WHERE {where}{' AND u.account_id IN :ids' if filtered else ''} GROUP BY {key}"
    ).bindparams(_day("since"), _day("until"))
    return statement.bindparams(bindparam("ids", expanding=True)) if filtered else statement


def _features(
    connection: Connection, as_of: dt.date, window: int, ids: list[int] | None, at: dict[int, int]
) -> Columns:
    """Distinct features each account used in the window."""
    params = {"since": as_of - dt.timedelta(days=window), "until": as_of, "ids": ids}
    statement = _features_sql(connection.dialect.name, ids is not None)
    return _scatter(connection, statement, params, at, ("features_used",))


@functools.cache
def _tickets_sql(filtered: bool) -> Any:
    end, recent_from = _instant("end"), _instant("recent_from")
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

    return _per_account(
        Ticket.account_id,
        (
            open_with(TicketPriority.URGENT),
            open_with(TicketPriority.HIGH),
            open_with(TicketPriority.NORMAL),
            open_with(TicketPriority.LOW),
            func.count(case((Ticket.opened_at >= recent_from, 1))),
            func.count(case((Ticket.opened_at < recent_from, 1))),
        ),
        (Ticket.opened_at < end, or_(still_open, Ticket.opened_at >= _instant("prev_from"))),
        filtered,
    )


def _tickets(
    connection: Connection, as_of: dt.date, window: int, ids: list[int] | None, at: dict[int, int]
) -> Columns:
    end = _end_of(as_of)
    params = {
        "end": end,
        "recent_from": end - dt.timedelta(days=window),
        "prev_from": end - dt.timedelta(days=2 * window),
        "ids": ids,
    }
    return _scatter(
        connection,
        _tickets_sql(ids is not None),
        params,
        at,
        ("open_urgent", "open_high", "open_normal", "open_low", "tickets_recent", "tickets_prev"),
    )


@functools.cache
def _latest_nps_sql(filtered: bool) -> Any:
    """Each account's latest NPS answer in the window: one index seek per account on
    (account_id, submitted_at), newest first, which beats ranking every answer."""
    driver = Account.__table__.alias("driver")
    latest = (
        select(SurveyResponse.score)
        .where(
            SurveyResponse.account_id == driver.c.id,
            SurveyResponse.kind == SurveyKind.NPS,
            SurveyResponse.submitted_at >= _instant("since"),
            SurveyResponse.submitted_at < _instant("end"),
        )
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    statement = select(driver.c.id, latest)
    if filtered:
        statement = statement.where(driver.c.id.in_(bindparam("ids", expanding=True)))
    return statement


@functools.cache
def _csat_sql(filtered: bool) -> Any:
    return _per_account(
        SurveyResponse.account_id,
        (func.avg(SurveyResponse.score),),
        (
            SurveyResponse.submitted_at >= _instant("since"),
            SurveyResponse.submitted_at < _instant("end"),
            SurveyResponse.kind == SurveyKind.CSAT,
        ),
        filtered,
    )


def _sentiment(
    connection: Connection, as_of: dt.date, window: int, ids: list[int] | None, at: dict[int, int]
) -> Columns:
    end = _end_of(as_of)
    params = {"since": end - dt.timedelta(days=window), "end": end, "ids": ids}
    filtered = ids is not None
    nps = _scatter(connection, _latest_nps_sql(filtered), params, at, ("latest_nps",))
    csat = _scatter(connection, _csat_sql(filtered), params, at, ("csat_mean",))
    return nps | csat


@functools.cache
def _touches_sql(filtered: bool) -> Any:
    return _per_account(
        Activity.account_id,
        (func.max(Activity.occurred_at),),
        (Activity.occurred_at < _instant("end"),),
        filtered,
    )


def _touches(
    connection: Connection, as_of: dt.date, ids: list[int] | None, at: dict[int, int]
) -> Columns:
    end = _end_of(as_of)

    def days_before_end(instant: Any) -> float:
        # MAX() bypasses the column type on SQLite: the value may come back naive or as text.
        moment = dt.datetime.fromisoformat(instant) if isinstance(instant, str) else instant
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return float((end - moment).days)

    return _scatter(
        connection,
        _touches_sql(ids is not None),
        {"end": end, "ids": ids},
        at,
        ("days_since_touch",),
        convert=days_before_end,
    )


@functools.cache
def _movement_sums_sql(filtered: bool) -> Any:
    def total(kind: ArrMovementKind) -> ColumnElement[Any]:
        return func.sum(case((ArrMovement.kind == kind, ArrMovement.amount), else_=0))

    return _per_account(
        ArrMovement.account_id,
        (total(ArrMovementKind.EXPANSION), total(ArrMovementKind.CONTRACTION)),
        (ArrMovement.effective_on > _day("since"), ArrMovement.effective_on <= _day("as_of")),
        filtered,
    )


@functools.cache
def _next_renewal_sql(filtered: bool) -> AnySelect:
    ranked = _only(
        select(
            Renewal.account_id,
            Renewal.renewal_date,
            Renewal.arr,
            func.row_number()
            .over(partition_by=Renewal.account_id, order_by=Renewal.renewal_date)
            .label("rank"),
        ).where(Renewal.renewal_date >= _day("as_of")),
        Renewal.account_id,
        filtered,
    ).subquery()
    return select(ranked.c.account_id, ranked.c.renewal_date, ranked.c.arr).where(
        ranked.c.rank == 1
    )


def _commercial(
    connection: Connection,
    as_of: dt.date,
    config: Config,
    ids: list[int] | None,
    at: dict[int, int],
) -> Columns:
    since = as_of - dt.timedelta(days=config.health.commercial.lookback_days)
    filtered = ids is not None
    params = {"since": since, "as_of": as_of, "ids": ids}
    moves = _scatter(
        connection,
        _movement_sums_sql(filtered),
        params,
        at,
        ("expansion_recent", "contraction_recent"),
    )
    renewal = {name: np.full(len(at), np.nan) for name in ("days_to_renewal", "renewal_arr")}
    for account_id, day, arr in connection.execute(_next_renewal_sql(filtered), params):
        index = at.get(account_id)
        if index is not None:
            if isinstance(day, str):  # SQLite returns subquery dates untyped
                day = dt.date.fromisoformat(day)
            renewal["days_to_renewal"][index] = float((day - as_of).days)
            renewal["renewal_arr"][index] = float(arr)
    return moves | renewal


def _any_rows(session: Session, column: Any, before: dt.datetime) -> bool:
    """Whether a source has any data at all: without it an input is missing, not zero."""
    return session.scalar(select(literal(True)).where(column < before).limit(1)) is not None


SIDE_QUERY_FROM = 1000
"""Accounts from which `_on_two_connections` runs the input queries on two connections."""

Query = tuple[Callable[..., Columns], tuple[Any, ...]]
"""An input query and its arguments after the connection it runs on."""


def _on_two_connections(
    session: Session, ids: list[int] | None, queries: list[Query]
) -> list[Columns]:
    """Each query's columns, in order; for many accounts, run on two connections at once.

    For the whole book or a training cut-off's thousands of accounts on a file or server
    database, the session's connection and a second one each take the next query as soon
    as they finish one, slowest first, so both cores are busy until the end: SQLite and
    PostgreSQL do the work while Python waits, and which query is slowest differs
    between them (on PostgreSQL feature breadth, on SQLite usage). One account's inputs
    are too quick to be worth a thread; an in-memory database has a single connection.
    """
    connection = session.connection()
    if ids is not None and len(ids) < SIDE_QUERY_FROM:
        return [query(connection, *args) for query, args in queries]
    done: list[Columns] = [{} for _ in queries]
    turns = itertools.count()  # each `next` is one atomic step: no query is taken twice

    def take_turns(on: Connection) -> None:
        while (k := next(turns)) < len(queries):
            query, args = queries[k]
            done[k] = query(on, *args)

    # In a plain read session of its own, even beside a write session, or it would queue
    # behind its own lock; on a database in memory it takes every query before this one.
    other = beside(session, lambda own: take_turns(own.connection()))
    try:
        take_turns(connection)
    finally:
        wait([other])  # nothing may run on the other connection once this returns
    other.result()  # its failure, if it had one
    return done


def account_inputs(
    session: Session,
    as_of: dt.date,
    config: Config,
    account_ids: Sequence[int] | None = None,
    *,
    customers_only: bool = True,
) -> Inputs:
    """Every input of the given accounts (all when None) as of a day.

    `customers_only` drops accounts that had churned by `as_of`: a churned account has no
    health, only a history. A long list of accounts is read in parts of `IDS_AT_ONCE`.
    """
    if account_ids is not None and len(account_ids) > IDS_AT_ONCE:
        ordered = sorted(set(account_ids))  # each part comes back in id order, as one would
        parts = [
            account_inputs(
                session,
                as_of,
                config,
                ordered[begin : begin + IDS_AT_ONCE],
                customers_only=customers_only,
            )
            for begin in range(0, len(ordered), IDS_AT_ONCE)
        ]
        return Inputs(
            np.concatenate([part.ids for part in parts]),
            {
                name: np.concatenate([part.columns[name] for part in parts])
                for name in INPUT_COLUMNS
            },
            parts[0].features_total,
        )
    window = config.health.usage.window_days
    ids, columns = _accounts(session, as_of, account_ids)
    if customers_only:
        # With contracts, a customer has ARR > 0; without any, trust the lifecycle stage.
        has_moves = columns["moves"] > 0
        paying = np.nan_to_num(columns["arr"]) > 0
        keep = (has_moves & paying) | (~has_moves & ~columns["churned_stage"])
        ids, columns = ids[keep], {name: values[keep] for name, values in columns.items()}
    if len(ids) == 0:
        nothing = {
            name: np.zeros(0, dtype=object if name == "segment" else float)
            for name in INPUT_COLUMNS
        }
        return Inputs(ids, nothing, 0)
    at = {int(a): i for i, a in enumerate(ids)}
    # Usage windows end where the usage data does: a rollup not delivered yet is not a day
    # of zero usage. Everything else is as of `as_of`.
    delivered = watermarks.through(session, watermarks.USAGE)
    usage_day = min(as_of, delivered) if delivered is not None else as_of
    # Filter the queries by id only when asked for some accounts: for the whole book a
    # plain scan is faster than an IN list of thousands.
    wanted = list(at) if account_ids is not None else None
    for found in _on_two_connections(
        session,
        wanted,
        [
            (_usage, (usage_day, config, wanted, at)),
            (_features, (usage_day, window, wanted, at)),
            (_tickets, (as_of, window, wanted, at)),
            (_touches, (as_of, wanted, at)),
            (_sentiment, (as_of, config.health.sentiment.window_days, wanted, at)),
            (_commercial, (as_of, config, wanted, at)),
        ],
    ):
        columns |= found
    for name in ZERO_WHEN_ABSENT:
        columns[name] = np.nan_to_num(columns[name], nan=0.0)
    # Average daily active users over the days the account was a customer in each window.
    lag = float((as_of - usage_day).days)
    usage_tenure = columns["tenure_days"] - lag
    recent_days = np.clip(usage_tenure, 1, window)
    prev_days = np.clip(usage_tenure - window, 0, window)
    columns["active_users"] = columns["user_days"] / recent_days
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["active_users_prev"] = np.where(
            prev_days > 0, columns["user_days_prev"] / prev_days, np.nan
        )
    # Every usage writer advances the watermark, so it says whether usage exists at all.
    columns["usage_known"] = np.full(len(ids), delivered is not None)
    columns["usage_lag_days"] = np.full(len(ids), lag)
    columns["touches_known"] = np.full(
        len(ids), _any_rows(session, Activity.occurred_at, _end_of(as_of))
    )
    features_total = product_features.count(session, as_of)
    columns["features_total"] = np.full(len(ids), float(features_total))
    return Inputs(ids, {name: columns[name] for name in INPUT_COLUMNS}, features_total)


def known(value: float) -> float | None:
    """One input as typed results carry it: None where the inputs say NaN (not known).

    The columns use NaN for "unknown" because numpy needs a float there; an answer's
    dataclass says None, so nobody downstream has to remember that NaN is not a number.
    """
    return None if np.isnan(value) else float(value)
