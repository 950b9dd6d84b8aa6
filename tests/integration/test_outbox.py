"""The outbox: leases that never overlap, retries that back off, edits that are not lost."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from metrics_core.delivery import outbox
from metrics_core.delivery.targets import Target
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import (
    AnswerBand,
    Delivery,
    DeliveryStatus,
    FollowUp,
    SurveyKind,
    SurveyResponse,
)

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


def test_withdraw_takes_back_only_messages_never_posted(db: Database) -> None:
    """History loaded after the fact: its unsent alerts go; a message posted, or possibly
    posted (a send in flight), stays so that it keeps being edited."""
    with db.writing() as session:
        follow_ups = []
        for n in range(2):
            response = SurveyResponse(
                provider="test",
                provider_response_id=f"r-{n}",
                kind=SurveyKind.NPS,
                score=3,
                submitted_at=NOW,
                received_at=NOW,
                updated_at=NOW,
            )
            session.add(response)
            session.flush()
            follow_up = FollowUp(
                survey_response_id=response.id, created_at=NOW, band=AnswerBand.DETRACTOR
            )
            session.add(follow_up)
            session.flush()
            follow_ups.append(follow_up.id)
        for follow_up_id in follow_ups:
            for channel in ("C1", "C2", "C3"):
                outbox.enqueue(
                    session,
                    key=f"survey_alert:{follow_up_id}",
                    kind="survey_alert",
                    target=Target("slack", channel),
                    follow_up_id=follow_up_id,
                    now=NOW,
                )
    with db.writing() as session:
        posted, in_flight = outbox.lease_due(session, NOW, limit=2)
        outbox.mark_delivered(
            session, posted.id, version=1, channel="C1", message_id="1.1", now=NOW
        )
    with db.writing() as session:
        assert outbox.withdraw(session, follow_up_ids=follow_ups[:1]) == 1
    with db.reading() as session:
        kept = session.execute(select(Delivery.follow_up_id, Delivery.target)).all()
    assert sorted(kept) == [
        (follow_ups[0], "C1"),
        (follow_ups[0], "C2"),
        *((follow_ups[1], channel) for channel in ("C1", "C2", "C3")),
    ]
    assert in_flight.target.address == "C2"
