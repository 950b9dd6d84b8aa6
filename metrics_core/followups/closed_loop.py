"""Closed-loop metrics: did the team get back to unhappy customers, and how fast.

One definition, used by `/followups sla`, `/nps` and anything else that reports it:

* The population is the follow-ups in the SLA bands (`follow_ups.sla_bands`, detractors
  by default) created in [start, end). Other follow-ups have no SLA to meet.
* The SLA is `follow_ups.escalate_after_hours`, the same clock that escalates to the
  managers: a follow-up is *contacted within SLA* when it was claimed at most that long
  after it was created. Closing an unclaimed follow-up claims it, so a close without a
  recorded claim (imported history) counts as the contact.
* A follow-up not claimed yet has *missed* once its SLA has run out by `now`; while its
  SLA is still running it is *pending* and left out of the share's denominator, because
  it can still go either way. Counting it as a success would flatter the last day of
  every period; counting it as a miss would punish the team for answers that just came in.
* Median times are in hours from creation, over the follow-ups claimed (or closed) so far.

The numbers are computed from one query of timestamps in pandas, so every breakdown is
the same arithmetic as the total, grouped differently. That includes the weekly trend
(`weeks=`): seven-day weeks counted back from the period's end, each with the stats of
the follow-ups created in it, so a week reads what the same days asked as a period read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from metrics_core.config import FollowUps
from metrics_core.store.models import (
    Account,
    AnswerBand,
    FollowUp,
    FollowUpStatus,
    Segment,
    SurveyKind,
    SurveyResponse,
    TeamMember,
)

UNCLAIMED = "unclaimed"
UNMATCHED = "unmatched"

_COLUMNS = ("created_at", "claimed_at", "closed_at", "owner_id", "owner", "segment")
_FLAGS = ("within_sla", "missed", "pending", "open_past_sla")
_NO_OWNER = -1


@dataclass(frozen=True, slots=True)
class LoopStats:
    """The closed-loop numbers of one group of SLA-band follow-ups."""

    follow_ups: int
    within_sla: int
    missed: int
    """Claimed late, or not claimed and past the SLA (`open_past_sla` is the latter part)."""
    pending: int
    """Not claimed, SLA still running: not in `n`."""
    open_past_sla: int
    claimed: int
    closed: int
    median_claim_hours: float | None
    median_close_hours: float | None

    @property
    def n(self) -> int:
        """The denominator of `share`: follow-ups whose SLA outcome is known."""
        return self.within_sla + self.missed

    @property
    def share(self) -> float | None:
        return self.within_sla / self.n if self.n else None


NO_FOLLOW_UPS = LoopStats(0, 0, 0, 0, 0, 0, 0, None, None)


@dataclass(frozen=True, slots=True)
class Group:
    label: str
    stats: LoopStats


@dataclass(frozen=True, slots=True)
class Week:
    """The closed loop of the follow-ups created in seven days [start, end)."""

    start: dt.datetime
    end: dt.datetime
    stats: LoopStats


@dataclass(frozen=True, slots=True)
class ClosedLoop:
    """Closed-loop metrics of a period, overall and by CSM and segment (worst first)."""

    sla_hours: float
    bands: tuple[AnswerBand, ...]
    total: LoopStats
    by_csm: tuple[Group, ...]
    """By follow-up owner (who claimed it); follow-ups nobody claimed are `UNCLAIMED`."""
    by_segment: tuple[Group, ...]
    """By the account's segment; answers that match no account are `UNMATCHED`."""
    weeks: tuple[Week, ...] = ()
    """The weeks asked for (`weeks=`), oldest first, the last ending with the period; a
    week without follow-ups is listed with `NO_FOLLOW_UPS`. They may reach back before
    the period (a short period's trend), so they need not add up to `total`."""


def _frame(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    bands: Sequence[AnswerBand],
    owner_id: int | None,
    account_ids: Sequence[int] | None,
    segment: Segment | None,
) -> pd.DataFrame:
    owner = aliased(TeamMember)
    statement = (
        select(
            FollowUp.created_at,
            FollowUp.claimed_at,
            FollowUp.closed_at,
            FollowUp.owner_id,
            owner.name,
            # The stored string: converting thousands of enum members buys nothing here.
            type_coerce(Account.segment, String),
        )
        .outerjoin(Account, Account.id == FollowUp.account_id)
        .outerjoin(owner, owner.id == FollowUp.owner_id)
        .where(
            FollowUp.band.in_(list(bands)),
            FollowUp.created_at >= start,
            FollowUp.created_at < end,
        )
    )
    if owner_id is not None:
        statement = statement.where(FollowUp.owner_id == owner_id)
    if account_ids is not None:
        statement = statement.where(FollowUp.account_id.in_(list(account_ids)))
    if segment is not None:
        statement = statement.where(Account.segment == segment)
    # Plain tuples: pandas probes each Row for `_fields`, an exception per row.
    rows = list(map(tuple, session.connection().execute(statement)))
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    for column in ("created_at", "claimed_at", "closed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _outcomes(frame: pd.DataFrame, sla: dt.timedelta, now: dt.datetime) -> pd.DataFrame:
    """Each follow-up's SLA outcome and durations; the single place they are defined."""
    contacted = frame["claimed_at"].fillna(frame["closed_at"])
    waited = contacted - frame["created_at"]
    unclaimed = contacted.isna()
    past = unclaimed & (frame["created_at"] + pd.Timedelta(sla) < pd.Timestamp(now))
    return pd.DataFrame(
        {
            "within_sla": ~unclaimed & (waited <= pd.Timedelta(sla)),
            "missed": (~unclaimed & (waited > pd.Timedelta(sla))) | past,
            "pending": unclaimed & ~past,
            "open_past_sla": past,
            "claim_hours": waited.dt.total_seconds() / 3600,
            "close_hours": (frame["closed_at"] - frame["created_at"]).dt.total_seconds() / 3600,
        },
        index=frame.index,
    )


def _median(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _grouped(outcomes: pd.DataFrame, key: pd.Series) -> dict[str, LoopStats]:
    """The stats of each group; `key` labels each follow-up with its group's name."""
    grouped = outcomes.groupby(key, sort=False)
    sums = grouped[list(_FLAGS)].sum()
    medians = grouped[["claim_hours", "close_hours"]].median()
    counts = grouped[["claim_hours", "close_hours"]].count()
    sizes = grouped.size()
    return {
        str(label): LoopStats(
            follow_ups=int(sizes[label]),
            within_sla=int(sums.at[label, "within_sla"]),
            missed=int(sums.at[label, "missed"]),
            pending=int(sums.at[label, "pending"]),
            open_past_sla=int(sums.at[label, "open_past_sla"]),
            claimed=int(counts.at[label, "claim_hours"]),
            closed=int(counts.at[label, "close_hours"]),
            median_claim_hours=_median(medians.at[label, "claim_hours"]),
            median_close_hours=_median(medians.at[label, "close_hours"]),
        )
        for label in sizes.index
    }


def _owner_labels(owner_keys: pd.Series, names: pd.Series) -> dict[int, str]:
    """Owner names by id; two people with one name get their ids, so they stay two lines."""
    pairs = pd.DataFrame({"id": owner_keys, "name": names}).drop_duplicates("id")
    label = {
        int(key): UNCLAIMED if key == _NO_OWNER else str(name)
        for key, name in zip(pairs["id"], pairs["name"], strict=True)
    }
    repeated = Counter(label.values())
    return {key: name if repeated[name] == 1 else f"{name} #{key}" for key, name in label.items()}


def _worst_first(groups: dict[str, LoopStats]) -> tuple[Group, ...]:
    """Lowest share first; groups with nothing decided yet last, biggest before smallest."""
    ordered = sorted(
        groups.items(),
        key=lambda item: (
            item[1].share is None,
            item[1].share or 0.0,
            -item[1].follow_ups,
            item[0],
        ),
    )
    return tuple(Group(label, stats) for label, stats in ordered)


def closed_loop(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    config: FollowUps,
    *,
    now: dt.datetime,
    owner_id: int | None = None,
    account_ids: Sequence[int] | None = None,
    segment: Segment | None = None,
    weeks: int = 0,
) -> ClosedLoop:
    """Closed-loop metrics of the SLA-band follow-ups created in [start, end).

    `now` decides which unclaimed follow-ups have missed their SLA and which are still
    pending (left out of the share's denominator). `owner_id` keeps the follow-ups that
    person owns, the same rows as their line in `by_csm`; `account_ids` and `segment`
    narrow to accounts, which leaves out answers that match no account. With `weeks`,
    the result also has that many seven-day weeks ending at `end`, read in the same query
    (from before `start` when the period is shorter than the weeks).
    """
    if weeks < 0:
        raise ValueError(f"weeks must be 0 or more, got {weeks}")
    week_starts = [end - dt.timedelta(days=7 * (weeks - k)) for k in range(weeks)]
    first = min([start, *week_starts])
    read = _frame(session, first, end, config.sla_bands, owner_id, account_ids, segment)
    all_outcomes = _outcomes(read, dt.timedelta(hours=config.escalate_after_hours), now)
    in_period = (read["created_at"] >= pd.Timestamp(start)).to_numpy(dtype=bool)
    frame, outcomes = read.loc[in_period], all_outcomes.loc[in_period]
    everyone = pd.Series("", index=frame.index)
    total = _grouped(outcomes, everyone).get("", NO_FOLLOW_UPS)
    owner_keys = frame["owner_id"].fillna(_NO_OWNER).astype(int)
    by_csm = _grouped(outcomes, owner_keys.map(_owner_labels(owner_keys, frame["owner"])))
    by_segment = _grouped(outcomes, frame["segment"].fillna(UNMATCHED))
    return ClosedLoop(
        sla_hours=config.escalate_after_hours,
        bands=tuple(config.sla_bands),
        total=total,
        by_csm=_worst_first(by_csm),
        by_segment=_worst_first(by_segment),
        weeks=_weekly(read["created_at"], all_outcomes, week_starts, end),
    )


def _weekly(
    created: pd.Series, outcomes: pd.DataFrame, starts: Sequence[dt.datetime], end: dt.datetime
) -> tuple[Week, ...]:
    """The stats of each week [starts[k], starts[k + 1]), the last one ending at `end`."""
    if not starts:
        return ()
    edges = [*starts, end]
    # Seven-day weeks back to back: a follow-up's week is whole weeks since the first.
    position = (created - pd.Timestamp(starts[0])) // pd.Timedelta(days=7)
    inside = (position >= 0) & (position < len(starts))
    stats = _grouped(outcomes.loc[inside], position.loc[inside].astype(str))
    return tuple(
        Week(edges[k], edges[k + 1], stats.get(str(k), NO_FOLLOW_UPS)) for k in range(len(starts))
    )


@dataclass(frozen=True, slots=True)
class UnmatchedAnswer:
    response_id: int
    submitted_at: dt.datetime
    kind: SurveyKind
    score: int
    comment: str | None
    respondent_name: str | None
    respondent_email: str | None
    follow_up_status: FollowUpStatus | None
    """None when the answer opened no follow-up (a band without SLA and no alert route)."""
    owner: str | None


@dataclass(frozen=True, slots=True)
class UnmatchedQueue:
    total: int
    answers: tuple[UnmatchedAnswer, ...]


def unmatched_queue(session: Session, *, limit: int = 20) -> UnmatchedQueue:
    """Answers that match no account, newest first, with how many there are in all.

    These count towards the company's NPS but belong to no CSM's book, so nobody sees
    them in their accounts: the queue is where someone adds the contact or the domain.
    """
    owner = aliased(TeamMember)
    total = session.scalar(
        select(func.count()).select_from(SurveyResponse).where(SurveyResponse.account_id.is_(None))
    )
    rows = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.submitted_at,
            SurveyResponse.kind,
            SurveyResponse.score,
            SurveyResponse.comment,
            SurveyResponse.respondent_name,
            SurveyResponse.respondent_email,
            FollowUp.status,
            owner.name,
        )
        .outerjoin(FollowUp, FollowUp.survey_response_id == SurveyResponse.id)
        .outerjoin(owner, owner.id == FollowUp.owner_id)
        .where(SurveyResponse.account_id.is_(None))
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
    )
    return UnmatchedQueue(
        total=total or 0,
        answers=tuple(UnmatchedAnswer(*row) for row in rows),
    )
