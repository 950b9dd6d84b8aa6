"""Faults: Slack and the Bot Connector failing for a while, then coming back.

The real service on loopback (aiohttp, slack-bolt, botbuilder, the dispatcher as `serve`
runs it); the platforms are the local fakes, told to play an outage: rate limits with
`Retry-After`, then 5xx for a while, some of them after the message was in fact posted.
What a user must see once the platform is back: every alert, every in-place edit and
every digest exactly once, and no call repeated sooner than the platform asked.

To fit a few failed rounds in the suite's time, the waits the service chooses itself are
shortened here: the outbox's back-off after a 5xx (2 s growing to 15 min in service), the
Teams sender's own back-off, and the dispatcher's idle poll. The waits a platform asks for
with `Retry-After` are not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import Container, build
from adapters.workers.digest_runs import Outcome, send_due
from metrics_core.delivery import outbox
from metrics_core.delivery.targets import Target
from metrics_core.digests import subscriptions as digests
from metrics_core.digests.subscriptions import Schedule, Scope
from metrics_core.store.models import DigestCadence, DigestScope
from tests import webhook_signing as vendors
from tests.e2e import teams_activities as teams
from tests.e2e.loop_service import ALERTS, Service, button, deliver, generic, text_of
from tests.e2e.slack_requests import click, post, slash
from tests.e2e.teams_activities import CHANNEL, MARCO
from tests.e2e.teams_service import Service as TeamsService
from tests.e2e.teams_service import alerts, serving, settings_for
from tests.fakes import bot_connector, slack_api
from tests.fakes.bot_connector import POST, REPLY, UPDATE, FakeBotConnector
from tests.fakes.slack_api import FakeSlack

DIGESTS = "C0DIGESTS"
RETRY_AFTER = 1.0


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after a 5xx back off from 0.1 s instead of 2 s (see the module's docstring)."""
    monkeypatch.setattr(outbox, "_BASE_BACKOFF_S", 0.1)


def quick(container: Container) -> None:
    """The dispatcher looks for due retries every 0.1 s instead of every second."""
    container.dispatcher.idle_seconds = 0.1


def assert_waited_as_asked(
    attempts: Sequence[slack_api.Attempt] | Sequence[bot_connector.Attempt],
    same: Callable[[Any], Hashable],
) -> None:
    """After each 429, that same call came again no sooner than `Retry-After` later."""
    last: dict[Hashable, Any] = {}
    for attempt in attempts:
        key = same(attempt)
        before = last.get(key)
        if before is not None and before.status == 429:
            waited = attempt.at - before.at
            assert waited >= RETRY_AFTER - 0.05, f"{key} again {waited:.2f}s after a 429"
        last[key] = attempt


def same_slack_call(attempt: slack_api.Attempt) -> Hashable:
    body = attempt.body
    metadata = body.get("metadata")
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    key = ((metadata or {}).get("event_payload") or {}).get("key")
    return (attempt.method, body.get("channel"), body.get("ts"), key)


def same_teams_call(attempt: bot_connector.Attempt) -> Hashable:
    call = attempt.call
    key = (call.body.get("channelData") or {}).get("closeloop", {}).get("key")
    return (call.kind, call.conversation, call.activity_id, key)


async def until(condition: Callable[[], object], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def queue_digest(container: Container, target: Target) -> None:
    """A daily digest for `target` whose time came a minute ago, claimed and queued by
    the function the scheduler calls when the time comes."""
    now = dt.datetime.now(dt.UTC)
    due = (now - dt.timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    with container.db.writing() as session:
        subscription, _ = digests.subscribe(
            session,
            target=target,
            schedule=Schedule(DigestCadence.DAILY, due, "UTC"),
            scope=Scope(DigestScope.PORTFOLIO),
            created_by="U0CSM1",
            now=now - dt.timedelta(days=1),
        )
        subscription_id = subscription.id
    outcome = await send_due(
        container.router.context,
        subscription_id,
        now=now,
        grace=dt.timedelta(hours=1),
        claimed_by="test",
    )
    assert outcome is Outcome.SENT


# --- Slack -------------------------------------------------------------------------------


async def test_slack_down_for_a_while_delivers_each_alert_edit_and_digest_once(
    service: Service, slack: FakeSlack
) -> None:
    quick(service.container)
    first = vendors.generic_payload(response_id="r-f1", score=2, comment="Exports keep failing")
    assert (await deliver(service.webhook("generic"), first, generic(first)))[0] == 200
    await slack.wait_for("chat.postMessage")
    await service.settled()
    (alert,) = slack.messages(ALERTS)
    follow_up = json.loads(button(alert, "Claim")["value"])["follow_up"]
    # The app was used before the outage (so slack-bolt has checked its token).
    assert (await slack.command(service.events, slash("/digest", "list", slack.response_url("l"))))[
        0
    ] == 200
    await slack.wait_for("respond")

    # Slack goes down: the next call of any method is rate limited, the next two posts
    # are made but answered 500, then six calls of anything answer 503.
    slack.fail(None, 429, retry_after="1")
    slack.fail("chat.postMessage", 500, times=2, landed=True)
    slack.fail(None, 503, times=6)

    # Meanwhile: Marco claims the first alert, a second detractor answers, a digest is due.
    claim = click(
        "closeloop.claim", {"follow_up": str(follow_up)}, slack.response_url("m"), "U0CSM2"
    )
    assert (await post(service.events, claim))[0] == 200
    second = vendors.generic_payload(response_id="r-f2", score=1, comment="Cancelling next month")
    assert (await deliver(service.webhook("generic"), second, generic(second, "msg_2")))[0] == 200
    await queue_digest(service.container, Target("slack", DIGESTS))

    await until(lambda: slack.planned == 0, 30, "the outage to pass")
    await service.settled(within=30)

    # Slack is back: the first alert shows the claim, the second alert and the digest
    # are there once each.
    (answer,) = [c for c in slack.of("respond") if c.token == "m"]
    assert answer.body["text"].startswith("Done: claimed")
    first_shown, second_shown = slack.messages(ALERTS)
    assert "Claimed by" in text_of(first_shown) and "Exports keep failing" in text_of(first_shown)
    assert "Cancelling next month" in text_of(second_shown)
    assert "Open — unclaimed" in text_of(second_shown)
    (digest,) = slack.messages(DIGESTS)
    assert "Daily digest" in text_of(digest)
    assert any(attempt.status == 429 for attempt in slack.log)
    assert_waited_as_asked(slack.log, same_slack_call)


async def test_a_post_that_landed_is_not_made_again_while_slack_cannot_say_so(
    service: Service, slack: FakeSlack
) -> None:
    """A 500 after the message was posted, then history unavailable for a while: the
    dispatcher must not take "cannot look" for "not there" and post a second alert."""
    quick(service.container)
    slack.fail("chat.postMessage", 500, landed=True)
    slack.fail("conversations.history", 503, times=3)
    body = vendors.generic_payload(response_id="r-f3", score=0, comment="We are leaving")
    assert (await deliver(service.webhook("generic"), body, generic(body)))[0] == 200
    await service.settled(within=20)
    shown = slack.messages(ALERTS)
    assert len(shown) == 1, f"{len(shown)} alerts for one answer"
    assert "We are leaving" in text_of(shown[0])
    assert slack.planned == 0  # it looked again until Slack could answer


# --- Teams -------------------------------------------------------------------------------

TEAMS_CONFIG = f"""
[[alerts.routes]]
name = "detractors to the CS alerts channel"
bands = ["detractor"]
teams_conversations = ["{CHANNEL}"]

[digests]
snapshot_at = "off"
"""


async def test_the_bot_connector_failing_for_a_while_delivers_each_alert_edit_and_digest_once(
    database_file: Path, tmp_path: Path, connector: FakeBotConnector
) -> None:
    config = tmp_path / "closeloop.toml"
    config.write_text(TEAMS_CONFIG, encoding="utf-8")
    container = build(settings_for(f"sqlite:///{database_file}", config))
    assert container.teams is not None
    container.teams.sender.base_delay = 0.05  # its own back-off, not Retry-After
    quick(container)
    async with serving(container) as base:
        service = TeamsService(base, container, connector)
        url = connector.service_url
        # The bot hears from the alerts channel, so it may write there.
        assert (await service.send(teams.channel_message("help", service_url=url)))[0] == 200
        await connector.wait_for(REPLY)
        assert await service.webhook(vendors.generic_payload(response_id="r-t1", score=2)) == 200
        (first,) = await connector.wait_for(POST)
        await service.settled()
        card = teams.card_of(first.body)
        (first_id,) = connector.conversations[CHANNEL]  # the alert (answers went to a thread)

        # The connector rate-limits, then refuses a concurrent edit, then its upstream fails.
        for kind in (POST, UPDATE):
            connector.fail(kind, 429, retry_after="1")
            connector.fail(kind, 412)
            connector.fail(kind, 502, times=4)

        claim = teams.button(card, "Claim")
        status, answer, _ = await service.send(
            teams.invoke(
                claim["verb"],
                claim["data"],
                service_url=url,
                user=MARCO,
                conversation=f"{CHANNEL};messageid=1",
                conversation_type="channel",
            )
        )
        assert status == 200 and answer["value"].startswith("Done: claimed")
        second = vendors.generic_payload(response_id="r-t2", score=1, comment="Too slow")
        assert await service.webhook(second, msg_id="msg_2") == 200
        await queue_digest(container, Target("teams", CHANNEL))

        await until(lambda: connector.planned == 0, 30, "the outage to pass")
        await service.settled(within=30)

    # The connector is back: the first alert shows the claim (an edit carries no key),
    # the second alert and the digest are there once each.
    claimed = connector.conversations[CHANNEL][first_id]
    assert "Claimed by Marco Alvarez" in teams.text_of(teams.card_of(claimed))
    posted = alerts(connector, CHANNEL)
    shown = {m["channelData"]["closeloop"]["key"]: teams.card_of(m) for m in posted}
    assert len(connector.conversations[CHANNEL]) == 3 and len(shown) == 2, sorted(shown)
    (digest,) = [card for key, card in shown.items() if key.startswith("digest:")]
    assert teams.heading(digest).startswith("Daily digest")
    (second_shown,) = [card for key, card in shown.items() if key.startswith("survey_alert:")]
    assert "Too slow" in teams.text_of(second_shown)
    assert "Open — unclaimed" in teams.text_of(second_shown)
    assert {attempt.status for attempt in connector.log} >= {429, 412, 502}
    assert_waited_as_asked(connector.log, same_teams_call)
