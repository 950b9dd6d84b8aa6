"""Inbound events already received, so that a platform's redelivery is recognised.

Chat platforms deliver events at least once. Slack's Events API retries a delivery that
got no 2xx within three seconds, up to three times over about five minutes, and a retry
can cross its first attempt, reach another replica, or arrive after a restart. Dropping
every retry loses the events whose first attempt was never processed (it never arrived,
or the process died with it); processing every retry does the work twice. So each event
id is claimed here before it is processed and marked done afterwards:

- `Claim.NEW`: the id was never seen, or the attempt that claimed it let its claim run
  out unfinished (its process died): process it.
- `Claim.DONE`: it was processed: acknowledge the delivery and do nothing.
- `Claim.BUSY`: another attempt is processing it right now: ask for a later delivery,
  by which time it is done or its claim has run out. Acknowledging it instead would lose
  the event if that attempt dies.

The unique (source, event_id) pair decides between concurrent deliveries, on any number
of replicas. Ids are kept a day (`RETENTION`), long after the platform's last retry; each
new claim clears the ones older than that, so the table stays the size of a day's events.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.orm import Session

from metrics_core.store.db import insert_or_ignore
from metrics_core.store.models import SeenEvent

LEASE = dt.timedelta(seconds=30)
"""How long a claim holds: longer than processing an event takes, shorter than the minute
before Slack's second retry, so a claim left by a dead process has run out by then."""
RETENTION = dt.timedelta(days=1)


class Claim(enum.Enum):
    NEW = "new"
    DONE = "done"
    BUSY = "busy"


def _this(source: str, event_id: str) -> ColumnElement[bool]:
    return and_(SeenEvent.source == source, SeenEvent.event_id == event_id)


def claim(
    session: Session,
    *,
    source: str,
    event_id: str,
    now: dt.datetime,
    lease: dt.timedelta = LEASE,
) -> Claim:
    """Claim `event_id` from `source` for processing until `now + lease` (see the module)."""
    new = insert_or_ignore(
        session,
        SeenEvent,
        {
            "source": source,
            "event_id": event_id,
            "received_at": now,
            "claimed_until": now + lease,
            "done_at": None,
        },
        unique=("source", "event_id"),
    )
    if new is not None:
        session.execute(
            delete(SeenEvent)
            .where(SeenEvent.received_at < now - RETENTION)
            .execution_options(synchronize_session=False)
        )
        return Claim.NEW
    # A claim that ran out unfinished is taken over by exactly one delivery: the update
    # matches only while it is still expired, and the row lock serialises the takers.
    taken = session.execute(
        update(SeenEvent)
        .where(
            _this(source, event_id),
            SeenEvent.done_at.is_(None),
            SeenEvent.claimed_until <= now,
        )
        .values(claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return Claim.NEW
    done = session.execute(select(SeenEvent.done_at).where(_this(source, event_id))).first()
    if done is None:  # cleared between the insert and now: a day-old id, never retried
        return Claim.DONE
    return Claim.DONE if done[0] is not None else Claim.BUSY


def finish(session: Session, *, source: str, event_id: str, now: dt.datetime) -> None:
    """The event was processed: later deliveries of it do nothing."""
    session.execute(
        update(SeenEvent)
        .where(_this(source, event_id))
        .values(done_at=now)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, *, source: str, event_id: str, now: dt.datetime) -> None:
    """Processing failed: the next delivery of the event may process it at once."""
    session.execute(
        update(SeenEvent)
        .where(_this(source, event_id), SeenEvent.done_at.is_(None))
        .values(claimed_until=now)
        .execution_options(synchronize_session=False)
    )
