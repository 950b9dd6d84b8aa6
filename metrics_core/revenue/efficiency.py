"""CS efficiency: what retaining the ARR costs, and how the team's books and time look.

Cost to retain (CRC) is the CS organisation's cost over a period divided by the ARR it
managed. The benchmark is from a practitioner's talk at the Customer Success Festival
(San Francisco, September 2022), citing a survey: a median near 6 %, the 25th percentile
near 3 % and the 75th near 10 %. Lower is leaner, not necessarily better: a team that
invests in onboarding or product feedback costs more on purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.revenue.rates import arr_by_account
from metrics_core.store.frames import movements
from metrics_core.store.models import Account, Activity, CsCost, Segment, TeamMember, TeamRole

CRC_P25, CRC_MEDIAN, CRC_P75 = 0.03, 0.06, 0.10


MAX_TOUCH_MONTHS = 6
"""Month columns in a touchpoint table: more than half a year no longer reads in chat."""


@dataclass(frozen=True, slots=True)
class CostToRetain:
    """CS cost against the ARR it managed over [start, end).

    The cost is what the recorded CS cost rows say for the days of the period they
    cover (a row that straddles the period counts pro rata), annualised over those days:
    a period with three months of recorded cost is not read as a year that cost a quarter.
    With no cost recorded at all the ratio is None and `missing` says so, rather than
    showing a 0 % "lean team".
    """

    start: dt.date
    end: dt.date
    cs_cost: float  # recorded CS cost falling within the period
    covered_days: int  # days of the period that recorded cost rows cover
    arr_managed: float  # average of the ARR at the start and at the end of the period
    ratio: float | None

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def missing(self) -> str | None:
        """The input the ratio lacks, in words; None when it has both."""
        if self.covered_days == 0:
            return "no CS cost recorded"
        if self.arr_managed <= 0:
            return "no ARR managed in the period"
        return None

    @property
    def position(self) -> str:
        """Where the ratio sits against the published benchmark."""
        if self.ratio is None:
            return self.missing or "not known"
        if self.ratio < CRC_P25:
            return "below the 25th percentile (3 %): a lean team"
        if self.ratio < CRC_MEDIAN:
            return "between the 25th percentile (3 %) and the median (6 %)"
        if self.ratio < CRC_P75:
            return "between the median (6 %) and the 75th percentile (10 %)"
        return "above the 75th percentile (10 %): retaining costs more than most"


def _covered(spans: list[tuple[dt.date, dt.date]]) -> int:
    """Days in the union of half-open day ranges."""
    days, reach = 0, dt.date.min
    for first, after in sorted(spans):
        first = max(first, reach)
        if after > first:
            days += (after - first).days
            reach = after
    return days


def cost_to_retain(
    session: Session, start: dt.date, end: dt.date, *, segment: Segment | None = None
) -> CostToRetain:
    """Annualised CS cost recorded in [start, end) against the ARR managed in that time.

    With a segment, only costs attributed to it and its accounts' ARR count.
    """
    cost_query = select(CsCost.period_start, CsCost.period_end, CsCost.amount).where(
        CsCost.period_start < end, CsCost.period_end >= start
    )
    if segment is not None:
        cost_query = cost_query.where(CsCost.segment == segment)
    cost = 0.0
    spans: list[tuple[dt.date, dt.date]] = []
    for first, last, amount in session.execute(cost_query).all():
        row_after = last + dt.timedelta(days=1)
        inside = (max(first, start), min(row_after, end))
        cost += float(amount) * (inside[1] - inside[0]).days / max(1, (row_after - first).days)
        spans.append(inside)
    covered = _covered(spans)
    moves = movements(session, until=end)
    if segment is not None:
        moves = moves[moves["segment"] == segment.value]
    if moves.empty:
        managed = 0.0
    else:
        managed = (arr_by_account(moves, start).sum() + arr_by_account(moves, end).sum()) / 2
    annual = cost * 365 / covered if covered else None
    return CostToRetain(
        start=start,
        end=end,
        cs_cost=cost,
        covered_days=covered,
        arr_managed=float(managed),
        ratio=annual / managed if annual is not None and managed > 0 else None,
    )


def books(session: Session, as_of: dt.date, *, segment: Segment | None = None) -> pd.DataFrame:
    """Per CSM: customers owned and their ARR at the end of day `as_of`, largest book first.

    Accounts count under their owner today: ownership has no history. With a segment,
    only that segment's accounts count, and CSMs without one of them are left out.
    """
    members = pd.DataFrame(
        [
            tuple(r)
            for r in session.execute(
                select(TeamMember.id, TeamMember.name).where(
                    TeamMember.role == TeamRole.CSM, TeamMember.active.is_(True)
                )
            ).all()
        ],
        columns=["owner_id", "csm"],
    ).set_index("owner_id")
    owner_query = select(Account.id, Account.owner_id)
    if segment is not None:
        owner_query = owner_query.where(Account.segment == segment)
    owners = pd.DataFrame(
        [tuple(r) for r in session.execute(owner_query).all()],
        columns=["account_id", "owner_id"],
    ).set_index("account_id")
    arr = arr_by_account(movements(session, until=as_of), as_of + dt.timedelta(days=1))
    customers = owners.join(arr, how="inner")
    customers = customers[customers["arr"] > 0]
    per_owner = customers.groupby("owner_id")["arr"].agg(accounts="size", arr="sum")
    how = "left" if segment is None else "inner"
    result = members.join(per_owner, how=how).fillna({"accounts": 0, "arr": 0.0})
    result["accounts"] = result["accounts"].astype(int)
    return result.sort_values(["arr", "csm"], ascending=[False, True])


def touch_window(
    start: dt.date, end: dt.date, *, months: int = MAX_TOUCH_MONTHS
) -> tuple[dt.date, dt.date]:
    """The last `months` calendar months of [start, end), never before `start`."""
    last_month = pd.Timestamp(end - dt.timedelta(days=1)).to_period("M")
    first_day = (last_month - (months - 1)).to_timestamp().date()
    return max(start, first_day), end


def activity_counts(
    session: Session, start: dt.date, end: dt.date, *, segment: Segment | None = None
) -> pd.DataFrame:
    """Touchpoints per CSM per calendar month (UTC) and kind, for activities in [start, end).

    With a segment, only touchpoints with that segment's accounts count.
    """
    since = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    query = (
        select(TeamMember.name, Activity.kind, Activity.occurred_at)
        .join(TeamMember, TeamMember.id == Activity.team_member_id)
        .where(Activity.occurred_at >= since, Activity.occurred_at < until)
    )
    if segment is not None:
        query = query.join(Account, Account.id == Activity.account_id).where(
            Account.segment == segment
        )
    rows = session.execute(query).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["csm", "kind", "occurred_at"])
    if frame.empty:
        return pd.DataFrame(columns=["csm", "month", "call", "qbr", "training", "email"])
    frame["kind"] = frame["kind"].map(lambda k: k.value)
    frame["month"] = pd.to_datetime(frame["occurred_at"], utc=True).dt.strftime("%Y-%m")
    table = frame.pivot_table(
        index=["csm", "month"], columns="kind", values="occurred_at", aggfunc="count", fill_value=0
    )
    for kind in ("call", "qbr", "training", "email"):
        if kind not in table.columns:
            table[kind] = 0
    return table[["call", "qbr", "training", "email"]].reset_index()
