""" "This score looks wrong": recording who disagreed with a health score, and counting them.

A CSM who knows the champion just left sees a green score and says so from the health
answer itself. Each submission is one row (`ScoreFeedback`): the account, the score and
band as they stood when it was sent, which way the person thinks it is off, and why. The
score is read again when the feedback is stored, from the same cache the answer came from,
so what is stored is what Closeloop said, not what a button's payload claims it said.

`health validity` counts the rows beside its backtest, and checks them against what
happened next: a score called too high on an account that then churned was a warning the
numbers missed. Nothing here changes a score or its weights.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.accounts.lookup import account_by_external_id
from metrics_core.health.cache import HealthCache
from metrics_core.revenue.outcomes import DecidedRenewal
from metrics_core.store.models import Account, ScoreFeedback, Segment

MAX_REASON_CHARS = 2_000
"""A reason is a few sentences; a longer text is a paste gone astray and is refused whole."""


class Direction(enum.StrEnum):
    """Which way the person thinks the score is off; the values are what the table stores."""

    TOO_HIGH = "too_high"
    TOO_LOW = "too_low"


class Stored(enum.StrEnum):
    RECORDED = "recorded"
    NO_ACCOUNT = "no_account"
    NOT_A_CUSTOMER = "not_a_customer"


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What came of a submission: recorded (with the score it was about), or why not."""

    stored: Stored
    account: str | None = None
    score: float | None = None
    band: str | None = None


def record_feedback(
    session: Session,
    *,
    external_id: str,
    member_id: int | None,
    user_ref: str,
    direction: Direction,
    reason: str | None,
    as_of: dt.date,
    now: dt.datetime,
    cache: HealthCache,
) -> FeedbackResult:
    """Store one "looks wrong" submission about the account with `external_id`.

    `user_ref` names the person as their platform knows them ("<platform>:<user id>"),
    kept even when they are not on the team; `member_id` is their team member, if any.
    Raises `ValueError` for a reason longer than `MAX_REASON_CHARS`: nothing is stored.
    """
    text = (reason or "").strip() or None
    if text is not None and len(text) > MAX_REASON_CHARS:
        raise ValueError(f"the reason has {len(text):,} characters; at most {MAX_REASON_CHARS:,}")
    account = account_by_external_id(session, external_id)
    if account is None:
        return FeedbackResult(Stored.NO_ACCOUNT)
    health = cache.get(session, account.id, as_of)
    if health is None:
        return FeedbackResult(Stored.NOT_A_CUSTOMER, account.name)
    session.add(
        ScoreFeedback(
            account_id=account.id,
            team_member_id=member_id,
            user_ref=user_ref[:128],
            score=health.score,
            band=health.band.value,
            direction=direction.value,
            reason=text,
            created_at=now,
        )
    )
    return FeedbackResult(Stored.RECORDED, account.name, health.score, health.band.value)


@dataclass(frozen=True, slots=True)
class Borne:
    """Accounts whose score was called off in one direction, and how their next renewal went.

    `decided` counts the accounts whose first renewal after the (first) feedback has an
    outcome by now; `churned` how many of those churned at it.
    """

    accounts: int
    decided: int
    churned: int


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    """ "Looks wrong" submissions in a period: how many, which way, by how many people."""

    since: dt.date
    until: dt.date
    submissions: int
    too_high: int
    too_low: int
    unsaid: int
    people: int
    accounts: int
    too_high_then: Borne
    too_low_then: Borne


def _borne(firsts: dict[int, dt.date], renewals: Sequence[DecidedRenewal]) -> Borne:
    """How the first renewal after each account's (first) feedback went, where decided."""
    later: dict[int, DecidedRenewal] = {}
    for renewal in renewals:  # oldest first: the first one after the feedback is kept
        day = firsts.get(renewal.account_id)
        if day is not None and renewal.renewal_date > day:
            later.setdefault(renewal.account_id, renewal)
    churned = sum(renewal.churned for renewal in later.values())
    return Borne(len(firsts), len(later), churned)


def feedback_summary(
    session: Session,
    *,
    since: dt.date,
    until: dt.date,
    renewals: Sequence[DecidedRenewal],
    segment: Segment | None = None,
) -> FeedbackSummary:
    """Submissions dated in [since, until], checked against `renewals` (oldest first).

    `renewals` are the decided renewals the caller reads anyway (`decided_renewals` up to
    `until`); each disputed account's first one after its first feedback in a direction
    says whether the disagreement was borne out.
    """
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    query = (
        select(
            ScoreFeedback.account_id,
            ScoreFeedback.user_ref,
            ScoreFeedback.direction,
            ScoreFeedback.created_at,
        )
        .where(ScoreFeedback.created_at >= start, ScoreFeedback.created_at < end)
        .order_by(ScoreFeedback.created_at, ScoreFeedback.id)
    )
    if segment is not None:
        query = query.join(Account, Account.id == ScoreFeedback.account_id).where(
            Account.segment == segment
        )
    rows = session.execute(query).all()
    firsts: dict[str, dict[int, dt.date]] = {Direction.TOO_HIGH: {}, Direction.TOO_LOW: {}}
    for account_id, _, direction, created_at in rows:
        if direction in firsts:
            firsts[direction].setdefault(int(account_id), created_at.date())
    directions = [row[2] for row in rows]
    too_high = directions.count(Direction.TOO_HIGH.value)
    too_low = directions.count(Direction.TOO_LOW.value)
    return FeedbackSummary(
        since=since,
        until=until,
        submissions=len(rows),
        too_high=too_high,
        too_low=too_low,
        unsaid=len(rows) - too_high - too_low,
        people=len({row[1] for row in rows}),
        accounts=len({row[0] for row in rows}),
        too_high_then=_borne(firsts[Direction.TOO_HIGH], renewals),
        too_low_then=_borne(firsts[Direction.TOO_LOW], renewals),
    )
