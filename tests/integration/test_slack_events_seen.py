"""Event ids claimed for processing: a redelivery is recognised across replicas and restarts.

Slack retries an Events API delivery it got no 2xx for. The claim decides what a delivery
does: the first one processes the event, one that arrives while it is being processed is
asked to come back later, one that arrives after it was processed does nothing, and one
whose earlier attempt died unfinished processes it, once.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from metrics_core.delivery import seen_events
from metrics_core.delivery.seen_events import Claim
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import SeenEvent

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)


def _claim(db: Database, event_id: str, at: dt.datetime, source: str = "slack") -> Claim:
    with db.writing() as session:
        return seen_events.claim(session, source=source, event_id=event_id, now=at, lease=LEASE)


def _finish(db: Database, event_id: str, at: dt.datetime) -> None:
    with db.writing() as session:
        seen_events.finish(session, source="slack", event_id=event_id, now=at)


def test_an_event_is_processed_once_however_often_it_is_delivered(db: Database) -> None:
    assert _claim(db, "Ev1", NOW) is Claim.NEW
    # Slack's first retry, while the first attempt is still at work: come back later.
    assert _claim(db, "Ev1", NOW + dt.timedelta(seconds=3)) is Claim.BUSY
    _finish(db, "Ev1", NOW + dt.timedelta(seconds=4))
    # Its later retries, one and five minutes on: processed already.
    assert _claim(db, "Ev1", NOW + dt.timedelta(minutes=1)) is Claim.DONE
    assert _claim(db, "Ev1", NOW + dt.timedelta(minutes=6)) is Claim.DONE
    # Another event, and the same id from another source, are news.
    assert _claim(db, "Ev2", NOW) is Claim.NEW
    assert _claim(db, "Ev1", NOW, source="teams") is Claim.NEW


def test_an_attempt_that_died_unfinished_is_taken_over_once(db: Database) -> None:
    """The process that claimed it died (or lost its work): after its claim runs out, the
    next delivery processes the event, and only that one."""
    assert _claim(db, "Ev1", NOW) is Claim.NEW
    later = NOW + LEASE + dt.timedelta(seconds=1)
    assert _claim(db, "Ev1", later) is Claim.NEW
    assert _claim(db, "Ev1", later) is Claim.BUSY
    _finish(db, "Ev1", later + dt.timedelta(seconds=1))
    assert _claim(db, "Ev1", later + LEASE * 3) is Claim.DONE


def test_a_failed_attempt_leaves_the_event_to_the_next_delivery_at_once(db: Database) -> None:
    assert _claim(db, "Ev1", NOW) is Claim.NEW
    with db.writing() as session:
        seen_events.release(session, source="slack", event_id="Ev1", now=NOW)
    assert _claim(db, "Ev1", NOW + dt.timedelta(seconds=1)) is Claim.NEW


def test_ids_are_forgotten_after_a_day_long_after_the_last_retry(db: Database) -> None:
    assert _claim(db, "old", NOW) is Claim.NEW
    assert _claim(db, "recent", NOW + dt.timedelta(hours=20)) is Claim.NEW
    assert _claim(db, "new", NOW + dt.timedelta(days=1, minutes=1)) is Claim.NEW
    with db.reading() as session:
        kept = set(session.scalars(select(SeenEvent.event_id)))
    assert kept == {"recent", "new"}


def test_concurrent_deliveries_to_several_replicas_process_it_once(migrated_url: str) -> None:
    """Eight replicas (each its own engine) receive the same event at the same moment."""
    replicas = [Database(make_engine(migrated_url)) for _ in range(8)]
    start = threading.Barrier(len(replicas))

    def deliver(db: Database) -> Claim:
        start.wait()
        return _claim(db, "EvSame", NOW)

    try:
        with ThreadPoolExecutor(len(replicas)) as pool:
            claims = list(pool.map(deliver, replicas))
        assert sorted(c.value for c in claims) == ["busy"] * 7 + ["new"]
        with replicas[0].reading() as session:
            assert session.scalar(select(func.count()).select_from(SeenEvent)) == 1
    finally:
        for db in replicas:
            db.close()
