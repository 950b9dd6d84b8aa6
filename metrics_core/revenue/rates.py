"""Revenue retention from ARR movements: NRR, GRR, logo retention, revenue churn, CLV.

Input is a frame of ARR movements as `metrics_core.revenue.arr` derives them: `account_id`,
`kind` ("new", "expansion", "contraction", "churn", or `ArrMovementKind`), `amount`
(positive; the kind says which way), `effective_on` (a calendar date; a churn is dated on
the last day of the term) and optionally `segment`. An account's ARR at the start of a day
is the signed sum of its movements effective strictly before that day.

Definitions follow the design ("Definitions"): for the cohort of accounts with ARR > 0 at
the start of [start, end),

    NRR = (start ARR + expansion − contraction − churn) / start ARR
    GRR = (start ARR − contraction − churn) / start ARR, capped at 1.0

the usual SaaS cohort convention; the design's "Definitions" section is the authority.
New business from accounts outside the cohort is reported as `new_arr`, never mixed into
NRR: NRR measures what the existing book did, and counting new logos would let a good
sales quarter hide churn. Gross and net revenue churn are the complements
(1 − uncapped GRR, 1 − NRR), kept because CS leaders quote them either way.

Everything is vectorised (group-bys over the whole frame), so 10,000 accounts with a
year of movements compute in a few tens of milliseconds.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Float, Select, String, case, func, select, type_coerce
from sqlalchemy.orm import Session

from metrics_core.store.models import Account, ArrMovement, ArrMovementKind

__all__ = [
    "RetentionResult",
    "arr_by_account",
    "clv",
    "retention",
    "retention_and_arr_in_db",
]

# Amounts are NUMERIC(14, 2): summed as floats they leave dust (0.1 + 0.2 − 0.3 ≠ 0), and
# dust would keep a fully churned account "alive" with 2e-13 ARR. Sums are rounded to cents.
CENTS = 2

_NEW, _EXPANSION, _CONTRACTION, _CHURN = 0, 1, 2, 3
_KIND_CODES = {
    ArrMovementKind.NEW.value: _NEW,
    ArrMovementKind.EXPANSION.value: _EXPANSION,
    ArrMovementKind.CONTRACTION.value: _CONTRACTION,
    ArrMovementKind.CHURN.value: _CHURN,
}
_SIGN = np.array([1.0, 1.0, -1.0, -1.0])
_REQUIRED = ("account_id", "kind", "amount", "effective_on")
_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """Retention of the cohort that had ARR at `start`, over the period [start, end).

    Money fields are in the reporting currency, rounded to cents. The ratios are
    fractions (1.05 = 105 %) and are None when the cohort is empty (no ARR at `start`):
    a retention rate of nothing is undefined, and 0 or 100 % would both be a lie.

    A cohort account that churns and is won back within the period is treated as
    retained: its churn is offset by its returning ("new") ARR, any ARR it comes back with
    above what it churned counts as expansion, and any shortfall as contraction — exactly
    as if it had renewed at the new amount. So `churn` is the ARR of accounts that have no
    ARR at `end`, logo retention and GRR agree about who was lost, and
    NRR = end_arr / start_arr holds. `reactivated_arr` and `won_back_accounts` show how
    much of this happened.
    """

    start: dt.date
    end: dt.date
    segment: str | None
    accounts: int  # cohort size: accounts with ARR > 0 at start
    retained_accounts: int  # cohort accounts with ARR > 0 at end
    churned_accounts: int  # cohort accounts with no ARR at end
    won_back_accounts: int  # cohort accounts that churned and came back within the period
    start_arr: float
    expansion: float
    contraction: float
    churn: float
    end_arr: float  # the cohort's ARR at end (= start + expansion − contraction − churn)
    # "new" ARR of cohort accounts that churned in the period and returned (netted above)
    reactivated_arr: float
    new_arr: float  # "new" movements in the period from accounts outside the cohort
    new_accounts: int
    nrr: float | None
    grr: float | None
    logo_retention: float | None
    gross_revenue_churn: float | None
    net_revenue_churn: float | None


def _kind_codes(kinds: pd.Series) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Movement kinds as 0–3, accepting strings and `ArrMovementKind` alike.

    Factorised first so only the few distinct values are inspected in Python; an enum
    member is read by its value because StrEnum members hash by name, which a plain
    string lookup would miss.
    """
    raw_codes, uniques = pd.factorize(kinds, use_na_sentinel=True)
    codes = np.asarray(raw_codes, dtype=np.intp)
    table = np.empty(len(uniques), dtype=np.int64)
    for position, value in enumerate(uniques):
        key = value.value if isinstance(value, enum.Enum) else value
        if key not in _KIND_CODES:
            raise ValueError(
                f"unknown ARR movement kind {key!r}: expected one of {', '.join(_KIND_CODES)}"
            )
        table[position] = _KIND_CODES[key]
    if (codes < 0).any():
        raise ValueError("ARR movement kind is missing on a row")
    result: np.ndarray[Any, np.dtype[np.int64]] = table[codes]
    return result


def _prepare(movements: pd.DataFrame, *, with_segment: bool = False) -> pd.DataFrame:
    """A compact, validated copy: account_id, code, amount, signed, effective (+ segment)."""
    missing = [column for column in _REQUIRED if column not in movements.columns]
    if with_segment and "segment" not in movements.columns:
        missing.append("segment")
    if missing:
        raise ValueError(f"ARR movements lack column(s) {', '.join(missing)}")

    amount = movements["amount"].astype("float64").to_numpy()
    bad = ~np.isfinite(amount) | (amount < 0)
    if bad.any():
        raise ValueError(
            f"ARR movement amount {float(amount[bad.argmax()])!r} is negative or not a "
            "number; amounts are positive and the kind says which way ARR moves"
        )
    effective = pd.to_datetime(movements["effective_on"])
    if isinstance(effective.dtype, pd.DatetimeTZDtype):
        raise ValueError("effective_on must be calendar dates, not timezone-aware instants")
    if effective.isna().any():
        raise ValueError("effective_on is missing on a row")
    codes = _kind_codes(movements["kind"])
    columns: dict[str, Any] = {
        "account_id": movements["account_id"].to_numpy(),
        "code": codes,
        "amount": amount,
        "signed": amount * _SIGN[codes],
        "effective": effective.to_numpy(),
    }
    if with_segment:
        columns["segment"] = movements["segment"].to_numpy()
    return pd.DataFrame(columns)


def _cents(values: Any) -> Any:
    # + 0.0 turns the −0.0 that rounding leaves after a full churn into 0.0.
    return values.round(CENTS) + 0.0


def _arr_before(prepared: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    before = prepared.loc[(prepared["effective"] < day).to_numpy()]
    arr = _cents(before.groupby("account_id", sort=True)["signed"].sum())
    arr.name = "arr"
    return arr


def _day(value: dt.date, name: str) -> pd.Timestamp:
    if isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a date (ARR changes by day), got datetime {value!r}")
    if not isinstance(value, dt.date):
        raise TypeError(f"{name} must be a date, got {type(value).__name__}")
    return pd.Timestamp(value)


def arr_by_account(movements: pd.DataFrame, on: dt.date) -> pd.Series:
    """Each account's ARR at the start of day `on` (movements effective strictly before it).

    Indexed by account_id (sorted), named "arr", rounded to cents. Every account with a
    movement before `on` is listed, so an account that churned shows 0 rather than
    vanishing — "had ARR and lost it" and "never a customer" are different answers.
    """
    return _arr_before(_prepare(movements), _day(on, "on"))


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def retention(
    movements: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    segment: str | None = None,
) -> RetentionResult:
    """NRR, GRR, logo retention and revenue churn of the cohort at `start`, over [start, end).

    The cohort is the accounts with ARR > 0 at the start of `start` (and, with `segment`,
    whose latest movement before `start` carries that segment: the cohort is fixed when
    the period opens). Its expansion, contraction and churn are the sums of its movements
    effective in [start, end), with won-back accounts netted as `RetentionResult`
    describes. GRR is capped at 1.0 — with positive amounts it cannot exceed it, and the
    cap keeps float dust from printing 100.0000001 %. With an empty cohort every ratio is
    None.
    """
    start_day, end_day = _day(start, "start"), _day(end, "end")
    if start_day >= end_day:
        raise ValueError(f"empty period: start {start} is not before end {end}")
    segment_value = None if segment is None else str(segment)
    prepared = _prepare(movements, with_segment=segment_value is not None)

    start_arr = _arr_before(prepared, start_day)
    cohort = start_arr[start_arr > 0]
    if segment_value is not None:
        before = prepared.loc[(prepared["effective"] < start_day).to_numpy()]
        latest = before.groupby("account_id", sort=False)["effective"].idxmax()
        segment_of = pd.Series(
            before.loc[latest.to_numpy(), "segment"].to_numpy(), index=latest.index
        )
        in_segment = (segment_of.reindex(cohort.index) == segment_value).to_numpy(dtype=bool)
        cohort = cohort[in_segment]

    effective = prepared["effective"]
    period = prepared.loc[((effective >= start_day) & (effective < end_day)).to_numpy()]
    return _of_period(start, end, segment_value, cohort, period, outsiders_by_segment=True)


def _of_period(
    start: dt.date,
    end: dt.date,
    segment: str | None,
    cohort: pd.Series,
    period: pd.DataFrame,
    *,
    outsiders_by_segment: bool,
) -> RetentionResult:
    """The result from the cohort's ARR at `start` and the movements of the period
    (account_id, code, amount; and segment, read when `outsiders_by_segment` and a
    `segment` is asked for: the cohort has been chosen by segment already).

    The one place the definitions live, whether the cohort and the movements come from a
    frame of movements (`retention`) or from the database (`retention_and_arr_in_db`).
    """
    of_cohort = period["account_id"].isin(cohort.index).to_numpy()

    # One column per kind, summed per cohort account, aligned with the cohort (0 if quiet).
    members = period.loc[of_cohort]
    code = members["code"].to_numpy()
    amount = members["amount"].to_numpy()
    per_kind = pd.DataFrame(
        {
            "new": np.where(code == _NEW, amount, 0.0),
            "expansion": np.where(code == _EXPANSION, amount, 0.0),
            "contraction": np.where(code == _CONTRACTION, amount, 0.0),
            "churn": np.where(code == _CHURN, amount, 0.0),
        }
    )
    sums = (
        per_kind.groupby(members["account_id"].to_numpy())
        .sum()
        .reindex(cohort.index, fill_value=0.0)
    )

    outsiders = period.loc[~of_cohort & (period["code"] == _NEW).to_numpy()]
    if segment is not None and outsiders_by_segment:
        outsiders = outsiders.loc[(outsiders["segment"] == segment).to_numpy(dtype=bool)]
    new_arr = float(outsiders["amount"].sum())
    new_accounts = int(outsiders["account_id"].nunique())
    end_arr = _cents(cohort + sums["new"] + sums["expansion"] - sums["contraction"] - sums["churn"])
    retained = (end_arr > 0).to_numpy()

    # Won back within the period: the returning ARR cancels the churn it undoes.
    offset = np.minimum(sums["churn"].to_numpy(), sums["new"].to_numpy())
    churn_left = sums["churn"].to_numpy() - offset
    returned_above_churn = sums["new"].to_numpy() - offset
    expansion = float(sums["expansion"].sum() + returned_above_churn.sum())
    contraction = float(sums["contraction"].sum() + churn_left[retained].sum())
    churn = float(churn_left[~retained].sum())
    won_back = (sums["churn"].to_numpy() > 0) & (sums["new"].to_numpy() > 0) & retained

    start_total = round(float(cohort.sum()), CENTS)
    expansion, contraction, churn = (
        round(expansion, CENTS),
        round(contraction, CENTS),
        round(churn, CENTS),
    )
    accounts = len(cohort)
    grr = _ratio(start_total - contraction - churn, start_total)
    return RetentionResult(
        start=start,
        end=end,
        segment=segment,
        accounts=accounts,
        retained_accounts=int(retained.sum()),
        churned_accounts=int(accounts - retained.sum()),
        won_back_accounts=int(won_back.sum()),
        start_arr=start_total,
        expansion=expansion,
        contraction=contraction,
        churn=churn,
        end_arr=round(float(end_arr.sum()), CENTS),
        reactivated_arr=round(float(sums["new"].sum()), CENTS),
        new_arr=round(new_arr, CENTS),
        new_accounts=new_accounts,
        nrr=_ratio(start_total + expansion - contraction - churn, start_total),
        grr=None if grr is None else min(1.0, grr),
        logo_retention=_ratio(float(retained.sum()), float(accounts)),
        gross_revenue_churn=_ratio(contraction + churn, start_total),
        net_revenue_churn=_ratio(contraction + churn - expansion, start_total),
    )


def clv(average_arr: float, gross_margin: float, annual_churn_rate: float) -> float | None:
    """Customer lifetime value: ARR × gross margin / annual churn rate.

    The simple SaaS model (Skok, "SaaS Metrics 2.0": LTV = ARPA × gross margin % / churn
    rate): with a constant churn rate c the expected lifetime is 1/c years (geometric
    survival), undiscounted. With c = 0 the model's lifetime — and CLV — is infinite, so
    the answer is None instead of a misleading huge number; the caller should say "no
    churn observed" rather than print infinity.

    `gross_margin` is a fraction in (0, 1]; `annual_churn_rate` a fraction in [0, 1]
    (revenue or logo churn per year); `average_arr` is ≥ 0.
    """
    for name, value in (
        ("average_arr", average_arr),
        ("gross_margin", gross_margin),
        ("annual_churn_rate", annual_churn_rate),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if average_arr < 0:
        raise ValueError(f"average_arr must be ≥ 0, got {average_arr!r}")
    if not 0 < gross_margin <= 1:
        raise ValueError(f"gross_margin must be a fraction in (0, 1], got {gross_margin!r}")
    if not 0 <= annual_churn_rate <= 1:
        raise ValueError(
            f"annual_churn_rate must be a fraction in [0, 1], got {annual_churn_rate!r}"
        )
    if annual_churn_rate == 0:
        return None
    return float(average_arr) * float(gross_margin) / float(annual_churn_rate)


def arr_sql(before: Any) -> Any:
    """Per account, ARR at the start of day `before` (a bind parameter or date) in SQL.

    The same definition as `arr_by_account` for code that must not pay for pandas (one
    account's health in a few milliseconds); a test holds the two to the same answers.
    Returns a selectable with columns `account_id`, `arr`, `moves`.
    """
    adds = ArrMovement.kind.in_((ArrMovementKind.NEW, ArrMovementKind.EXPANSION))
    return (
        select(
            ArrMovement.account_id,
            func.round(
                func.sum(case((adds, ArrMovement.amount), else_=-ArrMovement.amount)), CENTS
            ).label("arr"),
            func.count().label("moves"),
        )
        .where(ArrMovement.effective_on < before)
        .group_by(ArrMovement.account_id)
    )


def account_arr(session: Session, account_id: int, on: dt.date) -> float:
    """One account's ARR at the end of day `on` (0 without movements), by `arr_sql`."""
    row = session.execute(
        arr_sql(on + dt.timedelta(days=1)).where(ArrMovement.account_id == account_id)
    ).first()
    return float(row.arr) if row is not None else 0.0


def _of_accounts(statement: _S, conditions: list[Any]) -> _S:
    """`statement` over movements, narrowed to the accounts meeting `conditions`; joined
    with the accounts only then (every movement has its account: the whole book needs no
    join, and the join costs a lookup per movement)."""
    if not conditions:
        return statement
    return statement.join(Account, Account.id == ArrMovement.account_id).where(*conditions)


def retention_and_arr_in_db(
    session: Session,
    start: dt.date,
    end: dt.date,
    segment: str | None = None,
    accounts: Any = None,
) -> tuple[RetentionResult, pd.Series]:
    """`retention` of the stored movements, and each account's ARR at the start of `end`
    (`arr_by_account(movements, end)` of the same accounts), summed in the database.

    The same answer as `retention(movements(session), start, end, segment)` (a test holds
    the two together) without reading years of movements into Python: the database sums
    each account's ARR at `start` and at `end` in one pass, and only the period's
    movements are read, for `_of_period` to apply the definitions. `accounts` optionally
    narrows the book to a condition on `Account` (an owner's book, say). A movement's
    segment is its account's, so `segment` is a condition on the account too.
    """
    start_day, end_day = _day(start, "start"), _day(end, "end")
    if start_day >= end_day:
        raise ValueError(f"empty period: start {start} is not before end {end}")
    segment_value = None if segment is None else str(segment)
    of_accounts = []
    if segment_value is not None:
        of_accounts.append(Account.segment == segment_value)
    if accounts is not None:
        of_accounts.append(accounts)
    adds = ArrMovement.kind.in_((ArrMovementKind.NEW, ArrMovementKind.EXPANSION))
    signed = case((adds, ArrMovement.amount), else_=-ArrMovement.amount)
    before = case((ArrMovement.effective_on < start, signed), else_=0)
    per_account = _of_accounts(
        select(
            ArrMovement.account_id,
            type_coerce(func.round(func.sum(before), CENTS), Float),
            type_coerce(func.round(func.sum(signed), CENTS), Float),
        )
        .where(ArrMovement.effective_on < end)
        .group_by(ArrMovement.account_id)
        .order_by(ArrMovement.account_id),
        of_accounts,
    )
    moved = _of_accounts(
        select(
            ArrMovement.account_id, type_coerce(ArrMovement.kind, String), ArrMovement.amount
        ).where(ArrMovement.effective_on >= start, ArrMovement.effective_on < end),
        of_accounts,
    )
    # Plain tuples straight into frames: pandas probes each SQLAlchemy Row otherwise.
    connection = session.connection()
    arr = pd.DataFrame(
        list(map(tuple, connection.execute(per_account))),
        columns=["account_id", "arr", "arr_at_end"],
    ).set_index("account_id")
    arr = arr.astype("float64") + 0.0  # -0.0 after a full churn reads 0.0, as `_cents` has it
    period = pd.DataFrame(
        list(map(tuple, connection.execute(moved))), columns=["account_id", "kind", "amount"]
    )
    period = pd.DataFrame(
        {
            "account_id": period["account_id"].to_numpy(dtype=np.int64),
            "code": _kind_codes(period["kind"]),
            "amount": period["amount"].to_numpy(dtype=np.float64),
        }
    )
    start_arr = arr["arr"].rename("arr")
    cohort = start_arr[start_arr > 0]
    result = _of_period(start, end, segment_value, cohort, period, outsiders_by_segment=False)
    return result, arr["arr_at_end"].rename("arr")
