"""The outbox: leases that never overlap, retries that back off, edits that are not lost."""

from __future__ import annotations

import datetime as dt
import threading

from metrics_core import outbox
from metrics_core.db import Database, make_engine
from metrics_core.models import Delivery, DeliveryStatus
from metrics_core.outbox import Target

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def _owe(db: Database, n: int) -> None:
    with db.writing() as session:
        for i in range(n):
            outbox.enqueue(
                session, key=f"test:{i}", kind="test", target=Target("slack", "C1"), now=NOW
            )


def test_enqueue_is_idempotent_per_key_and_target(db: Database) -> None:
    with db.writing() as session:
        assert outbox.enqueue(session, key="a", kind="t", target=Target("slack", "C1"), now=NOW)
        assert not outbox.enqueue(session, key="a", kind="t", target=Target("slack", "C1"), now=NOW)
        assert outbox.enqueue(session, key="a", kind="t", target=Target("slack", "C2"), now=NOW)
    with db.reading() as session:
        assert outbox.pending_count(session) == 2


def test_concurrent_dispatchers_never_lease_the_same_row(db: Database, migrated_url: str) -> None:
    """Four dispatchers, each with its own engine (as separate processes would have)."""
    _owe(db, 200)
    leased: list[list[int]] = [[] for _ in range(4)]

    def dispatcher(index: int) -> None:
        other = Database(make_engine(migrated_url))
        try:
            while True:
                with other.writing() as session:
                    due = outbox.lease_due(session, NOW, limit=7)
                if not due:
                    return
                leased[index].extend(d.id for d in due)
        finally:
            other.close()

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in leased for i in ids]
    assert len(every) == 200 and len(set(every)) == 200


def test_an_expired_lease_is_picked_up_again(db: Database) -> None:
    _owe(db, 1)
    with db.writing() as session:
        (first,) = outbox.lease_due(session, NOW)
    with db.writing() as session:
        assert outbox.lease_due(session, NOW + dt.timedelta(seconds=30)) == []
    with db.writing() as session:
        (again,) = outbox.lease_due(session, NOW + outbox.LEASE)
    assert again.id == first.id


def test_an_edit_during_a_send_is_not_lost(db: Database) -> None:
    _owe(db, 1)
    with db.writing() as session:
        (due,) = outbox.lease_due(session, NOW)
    with db.writing() as session:  # a claim lands while version 1 is being posted
        row = session.get_one(Delivery, due.id)
        row.version += 1
    with db.writing() as session:
        outbox.mark_delivered(
            session, due.id, version=due.version, channel="C1", message_id="1.1", now=NOW
        )
    with db.writing() as session:
        (edit,) = outbox.lease_due(session, NOW)
    assert (edit.version, edit.message_id) == (2, "1.1")
    with db.writing() as session:
        outbox.mark_delivered(session, due.id, version=2, channel="C1", message_id="1.1", now=NOW)
    with db.reading() as session:
        assert session.get_one(Delivery, due.id).status is DeliveryStatus.DELIVERED


def test_failures_back_off_honour_retry_after_and_give_up(db: Database) -> None:
    _owe(db, 1)
    with db.writing() as session:
        (due,) = outbox.lease_due(session, NOW)
        assert outbox.mark_failed(
            session, due.id, error="ratelimited", now=NOW, retry_after=dt.timedelta(seconds=30)
        )
    with db.reading() as session:
        row = session.get_one(Delivery, due.id)
        assert (row.next_attempt_at, row.attempts, row.last_error) == (
            NOW + dt.timedelta(seconds=30),
            1,
            "ratelimited",
        )
    with db.writing() as session:
        assert not outbox.mark_failed(
            session, due.id, error="channel_not_found", now=NOW, permanent=True
        )
    with db.reading() as session:
        assert session.get_one(Delivery, due.id).status is DeliveryStatus.FAILED
        assert outbox.pending_count(session) == 0


def test_backoff_grows_and_is_capped() -> None:
    assert outbox.backoff(1) <= dt.timedelta(seconds=2)
    assert dt.timedelta(seconds=8) <= outbox.backoff(5) <= dt.timedelta(seconds=32)
    assert outbox.backoff(40) <= dt.timedelta(minutes=15)
