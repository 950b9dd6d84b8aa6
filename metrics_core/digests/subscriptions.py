"""Digest subscriptions, their schedule, and the claim that makes each period's digest once.

A subscription says "09:00 in Europe/Berlin, daily" (or weekly on a weekday). Its
*occurrences* are computed in the subscriber's zone and only then turned into UTC, so a
digest keeps its wall-clock time across daylight-saving changes:

* on the spring-forward day a time that does not exist locally (02:30 in Berlin) is read
  with the offset in force before the change, i.e. it goes out an hour later on the wall
  clock (03:30) rather than not at all;
* on the fall-back day a time that happens twice goes out at its first occurrence.

Each occurrence is a *period*, named by its local date. Sending one first inserts a
`digest_runs` row unique on (subscription, period), in the same transaction as the
outbox row that delivers it: whoever inserts it sends, anyone else (a second scheduler,
a restart, a retry) finds it taken. The outbox then delivers at least once and never
posts twice, so the digest arrives exactly once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from metrics_core.delivery import outbox
from metrics_core.delivery.targets import Target
from metrics_core.store.db import insert_or_ignore
from metrics_core.store.models import (
    DigestCadence,
    DigestRun,
    DigestScope,
    DigestSubscription,
    Segment,
)

DIGEST = "digest"
"""The outbox kind of a digest message."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cadence_days(cadence: DigestCadence) -> int:
    """How many days one period of `cadence` covers."""
    return 7 if cadence is DigestCadence.WEEKLY else 1


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a digest goes out: a local time, every day or on one weekday, in a zone."""

    cadence: DigestCadence
    local_time: dt.time
    timezone: str
    weekday: int | None = None  # 0 = Monday, weekly only

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if (self.cadence is DigestCadence.WEEKLY) != (self.weekday is not None):
            raise ValueError("a weekly digest has a weekday and a daily one has none")

    @classmethod
    def of(cls, subscription: DigestSubscription) -> Schedule:
        hour, minute = map(int, subscription.local_time.split(":"))
        return cls(
            cadence=subscription.cadence,
            local_time=dt.time(hour, minute),
            timezone=subscription.timezone,
            weekday=subscription.weekday,
        )

    @property
    def days(self) -> int:
        """How many days one period covers."""
        return cadence_days(self.cadence)

    def describe(self) -> str:
        when = f"{self.local_time:%H:%M} {self.timezone}"
        if self.cadence is DigestCadence.WEEKLY:
            assert self.weekday is not None
            return f"weekly, {WEEKDAYS[self.weekday].title()} {when}"
        return f"daily, {when}"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One scheduled send: the period it is for (a local date) and when it is due (UTC)."""

    period: dt.date
    due_at: dt.datetime

    @property
    def key(self) -> str:
        return self.period.isoformat()


def _due_on(schedule: Schedule, day: dt.date) -> dt.datetime:
    local = dt.datetime.combine(day, schedule.local_time, tzinfo=ZoneInfo(schedule.timezone))
    # zoneinfo resolves a wall time that does not exist (spring forward) with the offset
    # before the change and an ambiguous one (fall back) as its first occurrence (fold=0).
    return local.astimezone(dt.UTC)


def _scheduled(schedule: Schedule, day: dt.date) -> bool:
    return schedule.weekday is None or day.weekday() == schedule.weekday


def latest_occurrence(schedule: Schedule, now: dt.datetime) -> Occurrence:
    """The last occurrence due at or before `now`."""
    day = now.astimezone(ZoneInfo(schedule.timezone)).date() + dt.timedelta(days=1)
    while True:
        if _scheduled(schedule, day):
            due = _due_on(schedule, day)
            if due <= now:
                return Occurrence(day, due)
        day -= dt.timedelta(days=1)


def next_occurrence(schedule: Schedule, now: dt.datetime) -> Occurrence:
    """The first occurrence due strictly after `now`."""
    day = now.astimezone(ZoneInfo(schedule.timezone)).date() - dt.timedelta(days=1)
    while True:
        if _scheduled(schedule, day):
            due = _due_on(schedule, day)
            if due > now:
                return Occurrence(day, due)
        day += dt.timedelta(days=1)


def due_occurrence(
    subscription: DigestSubscription, now: dt.datetime, grace: dt.timedelta
) -> Occurrence | None:
    """The occurrence to send now, if one is due and not more than `grace` late.

    Occurrences before the subscription existed are never due: subscribing at 10:00 to a
    09:00 digest starts tomorrow, not with a digest at once.
    """
    if not subscription.active:
        return None
    occurrence = latest_occurrence(Schedule.of(subscription), now)
    if occurrence.due_at < subscription.created_at or now - occurrence.due_at > grace:
        return None
    return occurrence


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose accounts a digest covers."""

    kind: DigestScope
    segment: Segment | None = None
    owner_id: int | None = None

    @classmethod
    def of(cls, subscription: DigestSubscription) -> Scope:
        return cls(subscription.scope, subscription.segment, subscription.owner_id)


def subscribe(
    session: Session,
    *,
    target: Target,
    schedule: Schedule,
    scope: Scope,
    created_by: str | None,
    now: dt.datetime,
) -> tuple[DigestSubscription, bool]:
    """The active subscription for this target, schedule and scope; True if it is new.

    Asking twice for the same digest in the same place gives the same subscription, not
    two digests every morning.
    """
    existing = session.scalars(
        select(DigestSubscription).where(
            DigestSubscription.active.is_(True),
            DigestSubscription.platform == target.platform,
            DigestSubscription.target == target.address,
            DigestSubscription.cadence == schedule.cadence,
            DigestSubscription.weekday.is_(None)
            if schedule.weekday is None
            else DigestSubscription.weekday == schedule.weekday,
            DigestSubscription.local_time == f"{schedule.local_time:%H:%M}",
            DigestSubscription.timezone == schedule.timezone,
            DigestSubscription.scope == scope.kind,
            DigestSubscription.segment.is_(None)
            if scope.segment is None
            else DigestSubscription.segment == scope.segment,
            DigestSubscription.owner_id.is_(None)
            if scope.owner_id is None
            else DigestSubscription.owner_id == scope.owner_id,
        )
    ).first()
    if existing is not None:
        return existing, False
    subscription = DigestSubscription(
        platform=target.platform,
        target=target.address,
        cadence=schedule.cadence,
        weekday=schedule.weekday,
        local_time=f"{schedule.local_time:%H:%M}",
        timezone=schedule.timezone,
        scope=scope.kind,
        segment=scope.segment,
        owner_id=scope.owner_id,
        created_by=created_by,
        created_at=now,
        active=True,
    )
    session.add(subscription)
    session.flush()
    return subscription, True


def active_subscriptions(
    session: Session, target: Target | None = None
) -> list[DigestSubscription]:
    """Active subscriptions, oldest first; only `target`'s when given."""
    statement = (
        select(DigestSubscription)
        .where(DigestSubscription.active.is_(True))
        .order_by(DigestSubscription.id)
    )
    if target is not None:
        statement = statement.where(
            DigestSubscription.platform == target.platform,
            DigestSubscription.target == target.address,
        )
    return list(session.scalars(statement))


def unsubscribe(
    session: Session, subscription_id: int, *, allowed: Target | None, now: dt.datetime
) -> DigestSubscription | None:
    """Stop a subscription; with `allowed`, only one that posts there. None if none matched.

    A digest already claimed for today still goes out (it is in the outbox); nothing after.
    """
    subscription = session.get(DigestSubscription, subscription_id)
    if subscription is None or not subscription.active:
        return None
    if allowed is not None and (subscription.platform, subscription.target) != (
        allowed.platform,
        allowed.address,
    ):
        return None
    session.execute(
        update(DigestSubscription)
        .where(DigestSubscription.id == subscription_id)
        .values(active=False, cancelled_at=now)
    )
    session.refresh(subscription)
    return subscription


def previous_run(session: Session, subscription_id: int, before: dt.date) -> DigestRun | None:
    """The latest run of this subscription for a period before `before`."""
    return session.scalars(
        select(DigestRun)
        .where(DigestRun.subscription_id == subscription_id, DigestRun.period < before.isoformat())
        .order_by(DigestRun.period.desc())
        .limit(1)
    ).first()


def claim_run(
    session: Session,
    subscription: DigestSubscription,
    occurrence: Occurrence,
    *,
    claimed_by: str,
    now: dt.datetime,
    details: dict[str, Any],
    message: dict[str, Any],
) -> bool:
    """Claim this period's digest and owe its message, or find it claimed (False).

    `message` is the rendered-to-be content, stored with the outbox row so that a retry
    sends what the claim decided, whatever has changed since.
    """
    run_id = insert_or_ignore(
        session,
        DigestRun,
        {
            "subscription_id": subscription.id,
            "period": occurrence.key,
            "due_at": occurrence.due_at,
            "claimed_at": now,
            "claimed_by": claimed_by[:128],
            "details": details,
        },
        unique=("subscription_id", "period"),
    )
    if run_id is None:
        return False
    outbox.enqueue(
        session,
        key=f"{DIGEST}:{subscription.id}:{occurrence.key}",
        kind=DIGEST,
        target=Target.stored(subscription.platform, subscription.target),
        now=now,
        details={"subscription": subscription.id, "period": occurrence.key, "reply": message},
    )
    return True
