"""Digests as the people who schedule them see them: what goes where, and when next.

`subscriptions` stores and stops subscriptions; the answers to `digest subscribe`, `list`
and `unsubscribe` also name whose book a digest covers and when it next goes out, so
these queries return that with each subscription, read in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.delivery.targets import Target
from metrics_core.digests.subscriptions import (
    Schedule,
    Scope,
    active_subscriptions,
    next_occurrence,
    subscribe,
    unsubscribe,
)
from metrics_core.store.models import DigestSubscription, TeamMember


@dataclass(frozen=True, slots=True)
class ScheduledDigest:
    id: int
    target: Target
    schedule: Schedule
    scope: Scope
    owner_name: str | None
    """The CSM whose book an owner-scoped digest covers; None otherwise, or when they left."""
    next_due: dt.datetime
    """When the next one goes out (UTC)."""


@dataclass(frozen=True, slots=True)
class Subscribed:
    digest: ScheduledDigest
    created: bool
    """False when the same digest was already scheduled there."""


def _scheduled(
    session: Session, subscription: DigestSubscription, now: dt.datetime
) -> ScheduledDigest:
    scope = Scope.of(subscription)
    schedule = Schedule.of(subscription)
    owner = (
        session.scalar(select(TeamMember.name).where(TeamMember.id == scope.owner_id))
        if scope.owner_id is not None
        else None
    )
    return ScheduledDigest(
        id=subscription.id,
        target=Target.stored(subscription.platform, subscription.target),
        schedule=schedule,
        scope=scope,
        owner_name=owner,
        next_due=next_occurrence(schedule, now).due_at,
    )


def schedule_digest(
    session: Session,
    *,
    target: Target,
    schedule: Schedule,
    scope: Scope,
    created_by: str | None,
    now: dt.datetime,
) -> Subscribed:
    """Subscribe `target` (the same digest asked for twice is one subscription)."""
    subscription, created = subscribe(
        session, target=target, schedule=schedule, scope=scope, created_by=created_by, now=now
    )
    return Subscribed(_scheduled(session, subscription, now), created)


def scheduled_digests(
    session: Session, *, targets: tuple[Target, ...], now: dt.datetime
) -> tuple[ScheduledDigest, ...]:
    """The active digests posting to each of `targets`, target by target, oldest first."""
    return tuple(
        _scheduled(session, subscription, now)
        for target in dict.fromkeys(targets)
        for subscription in active_subscriptions(session, target)
    )


def stop_digest(
    session: Session, *, subscription_id: int, places: tuple[Target, ...], now: dt.datetime
) -> bool:
    """Stop the subscription if it posts to one of `places`; False when none matched."""
    return any(
        unsubscribe(session, subscription_id, allowed=place, now=now) is not None
        for place in places
    )
