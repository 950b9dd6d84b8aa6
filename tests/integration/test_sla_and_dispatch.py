"""SLA reminders and escalations, and the dispatcher against a fake sender (the port)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from adapters.workers.dispatch import Dispatcher, MessageRef, SendError
from bot.reply import Reply
from metrics_core.accounts.team import Member
from metrics_core.config import Config, FollowUps
from metrics_core.delivery.targets import Target
from metrics_core.followups import work as followups
from metrics_core.followups.intake import record_answer
from metrics_core.followups.sla import run_sla
from metrics_core.followups.work import ESCALATION, REMINDER
from metrics_core.store.db import Database
from metrics_core.store.models import Delivery, DeliveryStatus, FollowUp, SurveyKind
from metrics_core.surveys.answers import SurveyAnswer
from tests import factories

CREATED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
CONFIG = Config(follow_ups=FollowUps(escalation_slack_channels=["C0MANAGERS"]))
ALERTS = Target("slack", "C0ALERTS")
"""The operator's fallback alerts target (`CLOSELOOP_SLACK_ALERTS_CHANNEL`)."""


def _answer(db: Database, response_id: str, score: int) -> int:
    with db.writing() as session:
        intake = record_answer(
            session,
            SurveyAnswer(
                "generic", response_id, SurveyKind.NPS, score, CREATED, None, "j@acme.example"
            ),
            config=CONFIG,
            fallback=ALERTS,
            now=CREATED,
        )
    assert intake.follow_up_id is not None
    return intake.follow_up_id


def _setup(db: Database) -> Member:
    with db.writing() as session:
        owner = factories.team_member(session, slack_user_id="U0CSM1")
        factories.account(session, owner=owner)
        return Member(owner.id, owner.name, owner.role)


def _sla(db: Database, hours: float) -> tuple[int, int]:
    with db.writing() as session:
        run = run_sla(session, CONFIG, CREATED + dt.timedelta(hours=hours), fallback=ALERTS)
    return run.reminded, run.escalated


def _owed(db: Database, kind: str) -> list[str]:
    with db.reading() as session:
        return sorted(session.scalars(select(Delivery.target).where(Delivery.kind == kind)))


def test_an_unclaimed_detractor_is_reminded_then_escalated_once(db: Database) -> None:
    _setup(db)
    detractor = _answer(db, "r-1", 2)
    _answer(db, "r-2", 8)  # a passive has no SLA
    assert _sla(db, 3.9) == (0, 0)
    assert _sla(db, 4) == (1, 0)
    assert _sla(db, 5) == (0, 0)  # reminded once
    assert _owed(db, REMINDER) == ["U0CSM1"]  # the account owner's DMs
    assert _sla(db, 24) == (0, 1)
    assert _sla(db, 48) == (0, 0)
    assert _owed(db, ESCALATION) == ["C0MANAGERS"]
    with db.reading() as session:
        row = session.get_one(FollowUp, detractor)
        assert row.reminded_at == CREATED + dt.timedelta(hours=4)
        assert row.escalated_at == CREATED + dt.timedelta(hours=24)


def test_a_claimed_detractor_is_neither_reminded_nor_escalated(db: Database) -> None:
    owner = _setup(db)
    detractor = _answer(db, "r-1", 0)
    with db.writing() as session:
        followups.claim(session, detractor, owner, CREATED + dt.timedelta(hours=1))
    assert _sla(db, 30) == (0, 0)
    assert _owed(db, REMINDER) == _owed(db, ESCALATION) == []


def test_a_detractor_found_late_is_escalated_without_a_reminder(db: Database) -> None:
    _setup(db)
    _answer(db, "r-1", 1)
    assert _sla(db, 25) == (0, 1)
    assert _owed(db, REMINDER) == []


class FakeSender:
    """Records what it was asked to send; fails as told."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []
        self.updates: list[MessageRef] = []
        self.failures: list[SendError] = []

    async def post(self, address: str, reply: Reply, key: str) -> MessageRef:
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append((address, reply.heading))
        return MessageRef(address, f"{len(self.posts)}.0")

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        self.updates.append(ref)

    async def find(self, address: str, key: str, since: dt.datetime) -> MessageRef | None:
        return None


def _dispatcher(db: Database, sender: FakeSender, at: list[dt.datetime]) -> Dispatcher:
    return Dispatcher(db, CONFIG, {"slack": sender}, clock=lambda: at[0])


async def test_the_dispatcher_posts_then_edits_on_a_claim(db: Database) -> None:
    owner = _setup(db)
    follow_up = _answer(db, "r-1", 2)
    sender, at = FakeSender(), [CREATED]
    dispatcher = _dispatcher(db, sender, at)
    assert await dispatcher.run_once() == 1
    assert sender.posts == [("C0ALERTS", "NPS detractor: Acme Corp")]
    assert await dispatcher.run_once() == 0
    with db.writing() as session:
        followups.claim(session, follow_up, owner, CREATED)
    assert await dispatcher.run_once() == 1
    assert sender.updates == [MessageRef("C0ALERTS", "1.0")]


async def test_rate_limits_wait_retry_after_and_permanent_errors_stop(db: Database) -> None:
    _setup(db)
    _answer(db, "r-1", 2)
    sender, at = FakeSender(), [CREATED]
    sender.failures = [SendError("ratelimited", retry_after=30)]
    dispatcher = _dispatcher(db, sender, at)
    await dispatcher.run_once()
    assert sender.posts == []
    at[0] = CREATED + dt.timedelta(seconds=29)
    assert await dispatcher.run_once() == 0  # Retry-After is honoured
    at[0] = CREATED + dt.timedelta(seconds=30)
    await dispatcher.run_once()
    assert len(sender.posts) == 1

    _answer(db, "r-2", 3)
    sender.failures = [SendError("channel_not_found", permanent=True)]
    await dispatcher.run_once()
    with db.reading() as session:
        failed = session.scalars(
            select(Delivery).where(Delivery.status == DeliveryStatus.FAILED)
        ).one()
        assert failed.last_error == "channel_not_found"


async def test_an_alert_for_a_platform_without_a_sender_waits_for_one(db: Database) -> None:
    """Not a failure of this process: another replica, or this one once configured, sends it."""
    _setup(db)
    _answer(db, "r-1", 2)
    unconfigured = Dispatcher(db, CONFIG, {}, clock=lambda: CREATED)
    assert await unconfigured.run_once() == 0
    assert await unconfigured.waiting() == {"slack": 1}
    with db.reading() as session:
        row = session.scalars(select(Delivery)).one()
        assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.PENDING, 0, None)
        assert row.sending_since is None  # never leased, so no post is thought in flight
    sender = FakeSender()
    configured = _dispatcher(db, sender, [CREATED + dt.timedelta(days=1)])
    assert await configured.waiting() == {}
    assert await configured.run_once() == 1
    assert sender.posts == [("C0ALERTS", "NPS detractor: Acme Corp")]
    assert await unconfigured.waiting() == {}
