"""Teams, proactively: digests, SLA reminders and escalations, alerts edited, the welcome.

Everything a Teams user receives without having just asked for it goes through a
conversation reference the bot stored when it heard from that conversation. These tests
run the real service on loopback (aiohttp, botbuilder's CloudAdapter, the dispatcher and
the APScheduler-driven digest scheduler, as `serve` runs them), send activities shaped as
Teams sends them, and read what arrives at the local fake Bot Connector
(tests/fakes/bot_connector.py), which is every activity's `serviceUrl`. The service's
clock is moved instead of waiting for 09:00 or for an SLA to run out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from apscheduler.job import Job
from sqlalchemy import select

from adapters.bootstrap import Container, build
from metrics_core.accounts.team import member_by_chat_id
from metrics_core.churn.daily_model import RiskModels
from metrics_core.config import AccountAlerts, Alerts, Config, Digests
from metrics_core.digests.subscriptions import DIGEST
from metrics_core.followups import work as followups
from metrics_core.followups.sla import SlaRun, run_sla
from metrics_core.followups.work import open_follow_ups
from metrics_core.health.daily import take_snapshot
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Delivery, DeliveryStatus, DigestSubscription, FollowUpStatus
from metrics_core.synthetic import seed_database
from tests import webhook_signing as vendors
from tests.e2e import teams_activities as teams
from tests.e2e.teams_activities import BOT_ID, CHANNEL, DANA, MARCO
from tests.e2e.teams_service import Service, alerts, serving, settings_for
from tests.fakes.bot_connector import POST, REPLY, UPDATE, FakeBotConnector
from tests.unit.test_teams_render import schema_errors

TODAY = dt.datetime.now(dt.UTC).date()
MANAGERS = "19:cs-managers@thread.tacv2"
CONFIG = f"""
[[alerts.routes]]
name = "detractors to the CS alerts channel and the owner"
bands = ["detractor"]
teams_conversations = ["{CHANNEL}"]
owner_dm = true

[follow_ups]
remind_after_hours = 4
escalate_after_hours = 24
escalation_teams_conversations = ["{MANAGERS}"]

[digests]
snapshot_at = "off"
"""


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data with today's snapshot, which digests read; no account alerts queued.

    The demo team's open follow-ups are claimed first, so the SLA rounds below remind and
    escalate only the answers these tests send.
    """
    path = tmp_path_factory.mktemp("teams-proactive") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, accounts=40, days=60, seed=5, as_of=TODAY)
    quiet = Config(
        alerts=Alerts(accounts=AccountAlerts(usage_drop=False, band_change="off")),
        digests=Digests(snapshot_at="off"),
    )
    database = Database(engine)
    with database.writing() as session:
        manager = member_by_chat_id(session, platform="slack", user_id="U0MGR1")
        assert manager is not None
        for waiting in open_follow_ups(session, limit=1_000):
            if waiting.status is FollowUpStatus.OPEN:
                followups.claim(session, waiting.id, manager, dt.datetime.now(dt.UTC))
    take_snapshot(database, RiskModels(quiet), quiet, TODAY, dt.datetime.now(dt.UTC), backfill=1)
    database.close()
    return path


@pytest.fixture
def database_url(template_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "closeloop.db"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "closeloop.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


class Clock:
    """The service's "now", moved by the test; real time until it is."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def move_to(self, instant: dt.datetime) -> None:
        self.offset = instant - dt.datetime.now(dt.UTC)


class Proactive(Service):
    """The running service, with its clock and the SLA round `serve` runs each minute."""

    def __init__(
        self, base: str, container: Container, connector: FakeBotConnector, clock: Clock
    ) -> None:
        super().__init__(base, container, connector)
        self.clock = clock

    async def say(self, text: str, *, in_channel: bool = False) -> dict[str, Any]:
        """A message from Dana (in her personal chat, or by @mention in the alerts
        channel); the card the bot answered with."""
        url = self.connector.service_url
        activity = (
            teams.channel_message(text, service_url=url)
            if in_channel
            else teams.message(text, service_url=url)
        )
        before = len(self.connector.of(REPLY))
        status, _, _ = await self.send(activity)
        assert status == 200
        reply = (await self.connector.wait_for(REPLY, before + 1))[before]
        assert reply.activity_id == activity["id"]  # an answer to that very message
        return teams.card_of(reply.body)

    async def sla(self) -> SlaRun:
        """One round of the SLA check, at the service's now: what `serve`'s minute loop
        runs, called here because that loop reads the wall clock, not a movable one."""
        container = self.container
        now = self.clock()
        done = await container.db.write(lambda s: run_sla(s, container.config, now, fallback=None))
        container.dispatcher.wake()
        return done


async def _serve(
    database_url: str, config_file: Path, connector: FakeBotConnector
) -> AsyncIterator[Proactive]:
    """The service as `serve` runs it (HTTP, dispatcher, digest scheduler), on one clock."""
    clock = Clock()
    container = build(settings_for(database_url, config_file))
    container.dispatcher.clock = clock
    container.scheduler.clock = clock
    async with serving(container, scheduler=True) as base:
        yield Proactive(base, container, connector, clock)


@pytest.fixture
async def service(
    database_url: str, config_file: Path, connector: FakeBotConnector
) -> AsyncIterator[Proactive]:
    async for running in _serve(database_url, config_file, connector):
        yield running


async def _until(condition: Callable[[], object], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def _outbox_posts(connector: FakeBotConnector, prefix: str) -> list[dict[str, Any]]:
    """Every post the dispatcher made whose outbox key starts with `prefix`."""
    return [
        call.body
        for call in connector.of(POST)
        if str((call.body.get("channelData") or {}).get("closeloop", {}).get("key", "")).startswith(
            prefix
        )
    ]


# --- digests -----------------------------------------------------------------------------


async def _job(service: Proactive, subscription_id: int) -> Job:
    scheduler = service.container.scheduler.scheduler
    job_id = f"digest:{subscription_id}"
    await _until(lambda: scheduler.get_job(job_id) is not None)
    job = scheduler.get_job(job_id)
    assert job is not None
    return job


def _subscriptions(service: Proactive) -> list[tuple[str, str, str, str, bool]]:
    with service.container.db.reading() as session:
        rows = session.scalars(select(DigestSubscription).order_by(DigestSubscription.id))
        return [(s.platform, s.target, s.local_time, s.timezone, s.active) for s in rows]


def _next_due(job: Job) -> dt.datetime:
    assert job.next_run_time is not None
    return job.next_run_time.astimezone(dt.UTC)  # type: ignore[no-any-return]


async def _fire(service: Proactive, job: Job, due: dt.datetime | None = None) -> None:
    """Move the service to the job's time (its next one unless `due` is given) and let
    APScheduler run it now: its own timer would wait for the real 09:00 in Berlin."""
    service.clock.move_to((due or _next_due(job)) + dt.timedelta(seconds=2))
    job.modify(next_run_time=dt.datetime.now(dt.UTC))


async def _digest_round_trip(service: Proactive, *, in_channel: bool) -> None:
    """Subscribe, receive exactly one digest where it was asked for, list, unsubscribe."""
    connector = service.connector
    where = CHANNEL if in_channel else teams.personal_chat(DANA)

    answer = await service.say("digest subscribe daily 09:00 Europe/Berlin", in_channel=in_channel)
    assert teams.heading(answer) == "Digest #1 scheduled"
    assert "Daily, 09:00 Europe/Berlin to this conversation" in teams.text_of(answer)
    assert _subscriptions(service) == [("teams", where, "09:00", "Europe/Berlin", True)]

    job = await _job(service, 1)
    assert str(job.trigger.timezone) == "Europe/Berlin"
    await _fire(service, job)
    (posted,) = await connector.wait_for(POST)
    await service.settled()
    assert posted.conversation == where  # the channel itself, not the thread asked in
    body = posted.body
    stored = service.reference(where)
    assert stored is not None
    assert body["conversation"]["id"] == stored.conversation_id
    assert body["conversation"]["conversationType"] == stored.conversation_type
    assert body["from"]["id"] == BOT_ID  # sent as the bot the reference names
    assert body["channelData"]["closeloop"]["key"].startswith("digest:1:")
    card = teams.card_of(body)
    assert schema_errors(card) == []
    assert teams.heading(card).startswith("Daily digest · whole portfolio")
    shown = teams.text_of(card)
    for part in ("Accounts", "Average health", "NRR, 12 months", "Renewing in 30 days"):
        assert part in shown
    assert body["summary"].startswith("Daily digest · whole portfolio")

    # The same period again (a retry, a second scheduler): nothing more is sent.
    job.modify(next_run_time=dt.datetime.now(dt.UTC))
    await asyncio.sleep(0.5)
    await service.settled()
    assert len(connector.of(POST)) == 1
    assert _digests(service) == [DeliveryStatus.DELIVERED]
    shown_there = [
        m for m in connector.messages(where) if "closeloop" in (m.get("channelData") or {})
    ]
    assert [teams.heading(teams.card_of(m)) for m in shown_there] == [teams.heading(card)]

    listed = await service.say("digest list", in_channel=in_channel)
    assert teams.heading(listed) == "Scheduled digests"
    (table,) = [e for e in listed["body"] if e["type"] == "Table"]
    cells = [[c["items"][0]["text"] for c in row["cells"]] for row in table["rows"]]
    assert cells[0] == ["ID", "When", "Covers", "To", "Next"]
    assert cells[1][:4] == ["#1", "daily, 09:00 Europe/Berlin", "whole portfolio", "here"]

    stopped = await service.say("digest unsubscribe 1", in_channel=in_channel)
    assert teams.heading(stopped) == "Digest #1 stopped"
    assert _subscriptions(service) == [("teams", where, "09:00", "Europe/Berlin", False)]
    await _until(lambda: service.container.scheduler.scheduler.get_job("digest:1") is None)
    empty = await service.say("digest list", in_channel=in_channel)
    assert teams.heading(empty) == "No digests scheduled here"


async def test_a_digest_subscribed_in_a_personal_chat_arrives_there_once(
    service: Proactive,
) -> None:
    await _digest_round_trip(service, in_channel=False)


async def test_a_digest_subscribed_by_mention_in_a_channel_is_posted_to_the_channel(
    service: Proactive,
) -> None:
    await _digest_round_trip(service, in_channel=True)


async def test_a_channel_the_bot_was_removed_from_gets_no_digest_until_it_is_back(
    service: Proactive, connector: FakeBotConnector
) -> None:
    """Removed from the team, the bot hears of it only when Teams refuses a post (403):
    that day's digest is given up, the next ones are not even tried, and once the bot
    is back in the channel the digest arrives again."""
    await service.say("digest subscribe daily 09:00 Europe/Berlin", in_channel=True)
    job = await _job(service, 1)
    first = _next_due(job)
    connector.fail(POST, 403, conversation=CHANNEL)
    await _fire(service, job, first)
    await _until(lambda: _digests(service) == [DeliveryStatus.FAILED])
    stored = service.reference(CHANNEL)
    assert stored is not None and not stored.active and "403" in (stored.last_error or "")

    await _fire(service, job, first + dt.timedelta(days=1))
    await _until(lambda: _digests(service) == [DeliveryStatus.FAILED] * 2)
    assert connector.attempts[POST] == 1  # the inactive channel was not tried again
    assert connector.messages(CHANNEL) == []

    await service.say("help", in_channel=True)  # the bot is back in the channel
    await _fire(service, job, first + dt.timedelta(days=2))
    (posted,) = await connector.wait_for(POST)
    assert posted.conversation == CHANNEL
    assert teams.heading(teams.card_of(posted.body)).startswith("Daily digest")


def _digests(service: Proactive) -> list[DeliveryStatus]:
    """What became of each digest owed, oldest first."""
    with service.container.db.reading() as session:
        rows = session.scalars(
            select(Delivery.status).where(Delivery.kind == DIGEST).order_by(Delivery.id)
        )
        return [DeliveryStatus(status) for status in rows]


async def test_a_digest_survives_a_restart_through_the_stored_reference(
    database_url: str, config_file: Path, connector: FakeBotConnector
) -> None:
    """Subscribed before a restart, sent after it: nothing but the stored reference says
    where Dana's chat is and which connector serves it."""
    async for first in _serve(database_url, config_file, connector):
        await first.say("digest subscribe daily 09:00 Europe/Berlin")
    async for second in _serve(database_url, config_file, connector):
        await _fire(second, await _job(second, 1))
        (posted,) = await connector.wait_for(POST)
        await second.settled()
        assert posted.conversation == teams.personal_chat(DANA)
        card = teams.card_of(posted.body)
        assert teams.heading(card).startswith("Daily digest · whole portfolio")

        # Its buttons answer whoever presses them, in the same chat.
        churn = teams.button(card, "Churn risks")
        status, body, _ = await second.send(
            teams.invoke(churn["verb"], churn["data"], service_url=connector.service_url)
        )
        assert status == 200 and body["statusCode"] == 200
        answers = await connector.wait_for(REPLY, 2)
        assert teams.heading(teams.card_of(answers[-1].body)).endswith("churn risks")


# --- survey alerts: edited in place, reminded, escalated -----------------------------------


async def _introduce(service: Proactive) -> None:
    """The bot hears from the alerts channel, from Dana (Acme's owner) in her personal
    chat, and from Marco in the managers' channel: the places it will write to."""
    await service.say("help", in_channel=True)
    await service.say("help")
    managers = teams.message(
        "help",
        service_url=service.connector.service_url,
        mention=True,
        user=MARCO,
        conversation=f"{MANAGERS};messageid=1485983408999",
        conversation_type="channel",
    )
    assert (await service.send(managers))[0] == 200
    await service.connector.wait_for(REPLY, 3)


async def _detractor(service: Proactive, comment: str | None, msg_id: str) -> None:
    body = vendors.generic_payload(response_id="r-77", score=2, comment=comment)
    assert await service.webhook(body, msg_id=msg_id) == 200


async def test_a_comment_arriving_after_the_score_edits_the_teams_alerts_in_place(
    service: Proactive, connector: FakeBotConnector
) -> None:
    await _introduce(service)
    await _detractor(service, None, "msg_1")
    posts = await connector.wait_for(POST, 2)
    await service.settled()
    # Which activity in each conversation is the alert (the bot's other messages there
    # are its answers to "help").
    posted: dict[str, str] = {}
    for post in posts:
        ((activity_id, alert),) = [
            (i, m)
            for i, m in connector.conversations[post.conversation].items()
            if "closeloop" in (m.get("channelData") or {})
        ]
        posted[post.conversation] = activity_id
        assert "NPS detractor: Acme Corp" in teams.heading(teams.card_of(alert))
        assert "Exports keep failing" not in teams.text_of(teams.card_of(alert))
    assert set(posted) == {CHANNEL, teams.personal_chat(DANA)}

    await _detractor(service, "Exports keep failing", "msg_2")
    updates = await connector.wait_for(UPDATE, 2)
    await service.settled()
    assert len(connector.of(POST)) == 2  # edited, not posted again
    assert {(u.conversation, u.activity_id) for u in updates} == set(posted.items())
    for conversation, activity_id in posted.items():
        card = teams.card_of(connector.conversations[conversation][activity_id])
        assert schema_errors(card) == []
        assert "NPS detractor: Acme Corp" in teams.heading(card)
        assert "“Exports keep failing”" in teams.text_of(card)
        assert "Open — unclaimed" in teams.text_of(card)


async def test_an_unclaimed_detractor_reminds_the_owner_then_escalates_to_managers(
    service: Proactive, connector: FakeBotConnector
) -> None:
    await _introduce(service)
    await _detractor(service, "Exports keep failing", "msg_1")
    await connector.wait_for(POST, 2)
    await service.settled()
    answered = dt.datetime.now(dt.UTC)
    dana = teams.personal_chat(DANA)

    service.clock.move_to(answered + dt.timedelta(hours=3, minutes=50))
    assert await service.sla() == SlaRun(reminded=0, escalated=0)

    service.clock.move_to(answered + dt.timedelta(hours=4, minutes=5))
    assert await service.sla() == SlaRun(reminded=1, escalated=0)
    (reminder,) = await _posted(service, "sla_reminder:")
    assert reminder["conversation"]["id"] == dana  # Dana's chat, through its stored reference
    card = teams.card_of(reminder)
    assert schema_errors(card) == []
    assert teams.heading(card) == "Reminder: NPS detractor from Acme Corp is unclaimed"
    assert "Waiting 4 h; it escalates at 24 h." in teams.text_of(card)
    assert [b["title"] for b in teams.buttons(card)][:3] == ["Claim", "Reassign", "Close"]
    assert await service.sla() == SlaRun(reminded=0, escalated=0)  # once

    service.clock.move_to(answered + dt.timedelta(hours=24, minutes=5))
    assert await service.sla() == SlaRun(reminded=0, escalated=1)
    (escalation,) = await _posted(service, "sla_escalation:")
    assert escalation["conversation"]["id"] == MANAGERS  # the channel, a new thread
    card = teams.card_of(escalation)
    assert schema_errors(card) == []
    assert teams.heading(card) == "SLA missed: NPS detractor from Acme Corp"
    shown = teams.text_of(card)
    assert "Unclaimed for 24 h (SLA 24 h). Account owner: Dana Whitfield." in shown
    assert await service.sla() == SlaRun(reminded=0, escalated=0)  # once
    await asyncio.sleep(0.3)
    await service.settled()

    # Each step exactly once, and each only where it belongs.
    assert [p["conversation"]["id"] for p in _outbox_posts(connector, "sla_")] == [dana, MANAGERS]
    assert alerts(connector, CHANNEL)[0]["channelData"]["closeloop"]["key"].startswith(
        "survey_alert:"
    )
    assert len(alerts(connector, CHANNEL)) == 1

    # A manager claims from the escalation: the alerts everyone saw show the new owner.
    claim = teams.button(card, "Claim")
    status, body, _ = await service.send(
        teams.invoke(
            claim["verb"],
            claim["data"],
            service_url=connector.service_url,
            user=MARCO,
            conversation=f"{MANAGERS};messageid=1",
            conversation_type="channel",
        )
    )
    assert status == 200 and body["value"].startswith("Done: claimed (owner: Marco Alvarez)")
    await connector.wait_for(UPDATE, 2)
    await service.settled()
    (alert_id,) = [c.activity_id for c in connector.of(UPDATE, CHANNEL)]
    alert = connector.conversations[CHANNEL][str(alert_id)]
    assert "Claimed by Marco Alvarez" in teams.text_of(teams.card_of(alert))


async def _posted(service: Proactive, prefix: str) -> list[dict[str, Any]]:
    """The outbox posts under `prefix`, once the dispatcher has sent what is due."""
    await _until(lambda: _outbox_posts(service.connector, prefix))
    await service.settled()
    return _outbox_posts(service.connector, prefix)


# --- the welcome on install ----------------------------------------------------------------


async def test_installing_welcomes_once_in_a_personal_chat_and_in_a_team(
    service: Proactive, connector: FakeBotConnector
) -> None:
    url = connector.service_url
    dana = teams.personal_chat(DANA)
    personal = {"conversation": dana, "kind": "personal"}
    team = {"conversation": teams.TEAM, "conversation_type": "channel"}
    # Each install as Teams announces it: twice, and the conversationUpdate repeated.
    for activity in (
        teams.installation("add", service_url=url),
        teams.bot_added(service_url=url, **personal),
        teams.bot_added(service_url=url, **personal),
        teams.bot_added(service_url=url),
        teams.installation("add", service_url=url, **team),
        teams.bot_added(service_url=url),
    ):
        status, _, seconds = await service.send(activity)
        assert status == 200 and seconds < 15
    await _until(lambda: connector.messages(dana) and connector.messages(teams.TEAM))
    await asyncio.sleep(0.3)  # room for a second welcome, were one on its way

    for conversation in (dana, teams.TEAM):
        (hello,) = connector.messages(conversation)
        card = teams.card_of(hello)
        assert schema_errors(card) == []
        assert teams.heading(card) == "Welcome to Closeloop"
        shown = teams.text_of(card)
        for example in ("health acme", "churn top", "followups mine", "digest subscribe daily"):
            assert example in shown
        assert "I answer when @mentioned: `@Closeloop health acme`" in shown
        assert hello["summary"].startswith("Welcome to Closeloop")
    assert {c.conversation for c in connector.calls} == {dana, teams.TEAM}

    # The welcome's first example, typed as it is, answers.
    answer = await service.say("health acme")
    assert teams.heading(answer) == "Acme Corp — health"
    assert len(connector.messages(dana)) == 2
