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
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.frames import movements
from metrics_core.models import Account, Activity, CsCost, Segment, TeamMember, TeamRole
from metrics_core.revenue import arr_by_account

CRC_P25, CRC_MEDIAN, CRC_P75 = 0.03, 0.06, 0.10


@dataclass(frozen=True, slots=True)
class CostToRetain:
    start: dt.date
    end: dt.date
    cs_cost: float
    arr_managed: float  # average of the ARR at the start and at the end of the period
    ratio: float | None

    @property
    def position(self) -> str:
        """Where the ratio sits against the published benchmark."""
        if self.ratio is None:
            return "no ARR managed in the period"
        if self.ratio < CRC_P25:
            return "below the 25th percentile (3 %): a lean team"
        if self.ratio < CRC_MEDIAN:
            return "between the 25th percentile (3 %) and the median (6 %)"
        if self.ratio < CRC_P75:
            return "between the median (6 %) and the 75th percentile (10 %)"
        return "above the 75th percentile (10 %): retaining costs more than most"


def cost_to_retain(
    session: Session, as_of: dt.date, *, days: int = 365, segment: Segment | None = None
) -> CostToRetain:
    """CS cost over the `days` before `as_of` against the ARR managed in that time.

    With a segment, only costs attributed to it and its accounts' ARR count.
    """
    start = as_of - dt.timedelta(days=days)
    cost_query = select(func.coalesce(func.sum(CsCost.amount), 0)).where(
        CsCost.period_start >= start, CsCost.period_start < as_of
    )
    if segment is not None:
        cost_query = cost_query.where(CsCost.segment == segment)
    cost = float(session.scalar(cost_query) or 0)
    moves = movements(session, until=as_of)
    if segment is not None:
        moves = moves[moves["segment"] == segment.value]
    if moves.empty:
        managed = 0.0
    else:
        managed = (arr_by_account(moves, start).sum() + arr_by_account(moves, as_of).sum()) / 2
    return CostToRetain(
        start=start,
        end=as_of,
        cs_cost=cost,
        arr_managed=float(managed),
        ratio=cost / managed if managed > 0 else None,
    )


def books(session: Session, as_of: dt.date) -> pd.DataFrame:
    """Per CSM: customers owned and their ARR, largest book first."""
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
    owners = pd.DataFrame(
        [tuple(r) for r in session.execute(select(Account.id, Account.owner_id)).all()],
        columns=["account_id", "owner_id"],
    ).set_index("account_id")
    arr = arr_by_account(movements(session, until=as_of), as_of + dt.timedelta(days=1))
    customers = owners.join(arr, how="inner")
    customers = customers[customers["arr"] > 0]
    per_owner = customers.groupby("owner_id")["arr"].agg(accounts="size", arr="sum")
    result = members.join(per_owner, how="left").fillna({"accounts": 0, "arr": 0.0})
    result["accounts"] = result["accounts"].astype(int)
    return result.sort_values(["arr", "csm"], ascending=[False, True])


def activity_counts(session: Session, as_of: dt.date, *, months: int = 3) -> pd.DataFrame:
    """Touchpoints per CSM per calendar month (UTC) and kind, for the last `months` months."""
    first_month = (pd.Timestamp(as_of).to_period("M") - (months - 1)).to_timestamp()
    since = dt.datetime.combine(first_month.date(), dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    rows = session.execute(
        select(TeamMember.name, Activity.kind, Activity.occurred_at)
        .join(TeamMember, TeamMember.id == Activity.team_member_id)
        .where(Activity.occurred_at >= since, Activity.occurred_at < until)
    ).all()
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
