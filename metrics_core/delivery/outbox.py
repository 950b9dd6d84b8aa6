"""The transactional outbox: messages owed to chat targets, and the leases that send them.

Writers add rows in the transaction that stores the fact (`enqueue`) or changes it
(`touch`); dispatchers lease due rows (`lease_due`), send, and record the outcome. A lease
is a time-limited claim written in its own short transaction: on PostgreSQL the due rows
are selected `FOR UPDATE SKIP LOCKED`, so several dispatcher processes never lease the
same row; on SQLite write transactions are serialised (`BEGIN IMMEDIATE`), which gives the
same guarantee with one writer at a time. A dispatcher that dies leaves its lease to run
out, and the row is picked up again.

Retries back off exponentially with jitter, or wait what the platform asked
(`Retry-After`); after `MAX_ATTEMPTS` a row is marked failed and kept, with its last
error, for the operator.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from metrics_core import correlation
from metrics_core.delivery.targets import Target
from metrics_core.store.db import insert_or_ignore
from metrics_core.store.models import Delivery, DeliveryStatus

MAX_ATTEMPTS = 12
LEASE = dt.timedelta(seconds=60)
_BASE_BACKOFF_S = 2.0
_MAX_BACKOFF_S = 15 * 60.0
_ERROR_MAX_CHARS = 500
_IN_CHUNK = 5_000
REQUEST_ID = "request_id"
"""The key in a message's details under which the owing request's id is kept."""


@dataclass(frozen=True, slots=True)
class Due:
    """A leased delivery: what a dispatcher needs to render and send it."""

    id: int
    key: str
    kind: str
    target: Target
    follow_up_id: int | None
    account_id: int | None
    details: dict[str, Any]
    version: int
    attempts: int
    message_channel: str | None
    message_id: str | None
    sending_since: dt.datetime | None
    created_at: dt.datetime | None = None
    """When the message was first owed: what delivery lag is measured from."""


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    target: Target,
    now: dt.datetime,
    follow_up_id: int | None = None,
    account_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> bool:
    """Owe one message, unless this `key` is owed already; True when the row is new.

    The id of the request that owed it (a webhook's) is kept with it, so the delivery's
    log lines carry the same id as the request's.
    """
    caused_by = correlation.request_id.get()
    if caused_by is not None:
        details = {**(details or {}), REQUEST_ID: caused_by}
    new_id = insert_or_ignore(
        session,
        Delivery,
        {
            "key": f"{key}|{target.platform}:{target.address}",
            "kind": kind,
            "platform": target.platform,
            "target": target.address,
            "follow_up_id": follow_up_id,
            "account_id": account_id,
            "details": details or {},
            "status": DeliveryStatus.PENDING,
            "version": 1,
            "delivered_version": 0,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
        unique=("key",),
    )
    return new_id is not None


def touch(session: Session, *, follow_up_id: int, kinds: tuple[str, ...], now: dt.datetime) -> int:
    """The follow-up changed: its messages of these kinds need editing; how many there are."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.follow_up_id == follow_up_id, Delivery.kind.in_(kinds))
        .values(
            version=Delivery.version + 1,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def touch_keyed(session: Session, *, prefix: str, now: dt.datetime) -> int:
    """What the messages whose key starts with `prefix` show changed: edit them; how many.

    For messages about something other than a follow-up (a playbook run and its
    reminders), which name their subject in their key rather than in a column.
    """
    result = session.execute(
        update(Delivery)
        .where(Delivery.key.startswith(prefix, autoescape=True))
        .values(
            version=Delivery.version + 1,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def withdraw(session: Session, *, follow_up_ids: Sequence[int]) -> int:
    """Take back the messages about these follow-ups that were never posted; how many.

    For answers whose moment passed before anyone could have seen their alerts (a history
    loaded after the fact): posting them now would announce as news what was dealt with
    long ago. Deleting beats marking them delivered, which would claim a message nobody
    saw and would be posted anew by the next change to its follow-up. A message already
    posted (or possibly posted: a send in flight) stays, so it keeps being edited.
    """
    ids = sorted(set(follow_up_ids))
    removed = 0
    for begin in range(0, len(ids), _IN_CHUNK):
        result = session.execute(
            delete(Delivery)
            .where(
                Delivery.follow_up_id.in_(ids[begin : begin + _IN_CHUNK]),
                Delivery.message_id.is_(None),
                Delivery.sending_since.is_(None),
            )
            .execution_options(synchronize_session=False)
        )
        removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed


def lease_due(
    session: Session,
    now: dt.datetime,
    *,
    limit: int = 20,
    lease: dt.timedelta = LEASE,
    platforms: Collection[str] | None = None,
) -> list[Due]:
    """Lease up to `limit` due rows to the caller until `now + lease`.

    `platforms` limits the lease to the platforms the caller can send to: a row for any
    other stays pending, for a process that can (another replica, or this one once the
    platform is configured), instead of failing here.
    """
    rows = session.scalars(
        select(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now),
            *(() if platforms is None else (Delivery.platform.in_(tuple(platforms)),)),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    due = []
    for row in rows:
        row.lease_until = now + lease
        in_doubt = row.sending_since
        if row.message_id is None and row.sending_since is None:
            # A first post may follow this lease: mark it now, in this commit, so a crash
            # after the post is noticed (one transaction less than a separate mark).
            row.sending_since = now
        due.append(
            Due(
                id=row.id,
                key=row.key,
                kind=row.kind,
                target=Target.stored(row.platform, row.target),
                follow_up_id=row.follow_up_id,
                account_id=row.account_id,
                details=dict(row.details or {}),
                version=row.version,
                attempts=row.attempts,
                message_channel=row.message_channel,
                message_id=row.message_id,
                sending_since=in_doubt,
                created_at=row.created_at,
            )
        )
    return due


def mark_delivered(
    session: Session,
    delivery_id: int,
    *,
    version: int,
    channel: str,
    message_id: str,
    now: dt.datetime,
) -> None:
    """The chat shows `version`; the row stays pending if a newer change arrived meanwhile."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            delivered_version=func.max(Delivery.delivered_version, version)
            if session.get_bind().dialect.name == "sqlite"
            else func.greatest(Delivery.delivered_version, version),
            status=case(
                (Delivery.version <= version, DeliveryStatus.DELIVERED.value),
                else_=DeliveryStatus.PENDING.value,
            ),
            message_channel=channel,
            message_id=message_id,
            sending_since=None,
            lease_until=None,
            attempts=0,
            last_error=None,
            delivered_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def backoff(attempts: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
    and Jitter", 2015): spreads retries from many rows so they do not hit the API at once."""
    ceiling = min(_MAX_BACKOFF_S, _BASE_BACKOFF_S * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def mark_failed(
    session: Session,
    delivery_id: int,
    *,
    error: str,
    now: dt.datetime,
    retry_after: dt.timedelta | None = None,
    permanent: bool = False,
) -> bool:
    """Record a failed attempt and schedule the next; False when the row is given up."""
    row = session.get(Delivery, delivery_id, with_for_update=True)
    if row is None:
        return False
    row.attempts += 1
    row.last_error = error[:_ERROR_MAX_CHARS]
    row.lease_until = None
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = DeliveryStatus.FAILED
        return False
    row.next_attempt_at = now + (retry_after if retry_after is not None else backoff(row.attempts))
    return True


def next_due_at(session: Session) -> dt.datetime | None:
    """When the earliest pending row falls due, so an idle dispatcher knows how long to sleep."""
    return session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == DeliveryStatus.PENDING)
    )


def pending_by_platform(session: Session) -> dict[str, int]:
    """How many messages wait to be sent, per platform."""
    rows = session.execute(
        select(Delivery.platform, func.count())
        .where(Delivery.status == DeliveryStatus.PENDING)
        .group_by(Delivery.platform)
    )
    return {str(platform): int(n) for platform, n in rows}


def pending_count(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.PENDING)) or 0
    )


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the outbox owes: how many messages, and since when the oldest (None if none)."""

    pending: int
    oldest: dt.datetime | None


def backlog(session: Session) -> Backlog:
    """The outbox's depth and its oldest owed message, in one query (for monitoring)."""
    pending, oldest = session.execute(
        select(func.count(), func.min(Delivery.created_at)).where(
            Delivery.status == DeliveryStatus.PENDING
        )
    ).one()
    return Backlog(int(pending or 0), oldest)
