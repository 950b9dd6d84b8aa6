"""Slack's event retries, end to end: every event processed once, none lost.

Slack retries an Events API delivery that got no 2xx within three seconds (headers
`X-Slack-Retry-Num`, `X-Slack-Retry-Reason`). The event here is `app_home_opened`, the one
the app subscribes to (manifests/slack/manifest.yaml): processing it publishes the Home
tab. The service runs as in production (signed HTTP, slack-bolt, the real database, one
or two replicas on it); Slack's Web API is the local fake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest

from adapters.bootstrap import build
from adapters.entrypoints.serve import start_socket_mode
from adapters.settings import Settings
from metrics_core.delivery import seen_events
from metrics_core.store.db import Database, make_engine
from tests.e2e.slack_requests import SECRET, home_opened, post
from tests.e2e.test_slack import _serve
from tests.fakes.slack_api import FakeSlack

USER = "UOUTSIDER"  # not on the CS team: the Home tab welcomes them, from any database


def retry(number: int, reason: str = "http_timeout") -> dict[str, str]:
    return {"X-Slack-Retry-Num": str(number), "X-Slack-Retry-Reason": reason}


async def deliver(url: str, event_id: str, headers: dict[str, str] | None = None) -> int:
    status, _, _ = await post(
        url, home_opened(USER, event_id), content_type="application/json", headers=headers
    )
    return status


async def redeliver(url: str, event_id: str, number: int) -> int:
    """Deliver the event again, as Slack does, until a retry is acknowledged; its number.
    Until then each is refused with 503 (the event is still being processed)."""
    for attempt in range(number, number + 50):
        status = await deliver(url, event_id, retry(attempt))
        if status == 200:
            return attempt
        assert status == 503
        await asyncio.sleep(0.1)
    raise AssertionError(f"{event_id}: no retry was acknowledged")


@pytest.fixture
async def replicas(migrated_url: str, slack: FakeSlack) -> AsyncIterator[tuple[str, str]]:
    """Two replicas of the service on one database."""
    async for first in _serve(migrated_url, slack, SECRET):
        async for second in _serve(migrated_url, slack, SECRET):
            yield first, second


async def published_after(slack: FakeSlack, url: str) -> int:
    """How many Home tabs were published once a later, unrelated event has been: anything a
    delivery before it set off has had the time to show by then."""
    before = len(slack.of("views.publish"))
    assert await deliver(url, f"EvLater{before}") == 200
    await slack.wait_for("views.publish", before + 1)
    await asyncio.sleep(0.2)
    return len(slack.of("views.publish")) - 1


async def test_a_retry_whose_first_delivery_never_arrived_is_processed(
    replicas: tuple[str, str], slack: FakeSlack
) -> None:
    url, _ = replicas
    assert await deliver(url, "EvLost", retry(1)) == 200
    (published,) = await slack.wait_for("views.publish")
    assert published.body["user_id"] == USER
    assert published.body["view"]["blocks"][0]["text"]["text"] == "Welcome to Closeloop"


async def test_retries_of_a_processed_event_are_acknowledged_and_do_nothing(
    replicas: tuple[str, str], slack: FakeSlack
) -> None:
    first, second = replicas
    assert await deliver(first, "EvOnce") == 200
    await slack.wait_for("views.publish")
    acknowledged = await redeliver(first, "EvOnce", 1)
    # Processed now: any replica acknowledges the next retry at once.
    assert await deliver(second, "EvOnce", retry(acknowledged + 1)) == 200
    assert await published_after(slack, first) == 1


async def test_a_retry_crossing_a_slow_first_attempt_is_processed_once(
    replicas: tuple[str, str], slack: FakeSlack
) -> None:
    """The first attempt is still publishing when the retry reaches the other replica: the
    retry is refused for now (Slack delivers it again later), and the later one finds the
    event done."""
    first, second = replicas
    slack.delays["views.publish"] = 1.0
    assert await deliver(first, "EvSlow") == 200
    await slack.wait_for("views.publish")  # received by Slack, not yet answered
    assert await deliver(second, "EvSlow", retry(1)) == 503
    assert await redeliver(second, "EvSlow", 2) > 2
    slack.delays.clear()
    assert await published_after(slack, second) == 1


async def test_an_event_whose_first_attempt_died_is_processed_by_its_retry_once(
    migrated_url: str, replicas: tuple[str, str], slack: FakeSlack
) -> None:
    """A process claimed the event and died before finishing it; its claim ran out."""
    db = Database(make_engine(migrated_url))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with db.writing() as session:
        seen_events.claim(session, source="slack", event_id="EvOrphan", now=long_ago)
    db.close()
    first, second = replicas
    assert await deliver(first, "EvOrphan", retry(1)) == 200
    await slack.wait_for("views.publish")
    await redeliver(second, "EvOrphan", 2)
    assert await published_after(slack, second) == 1


async def test_an_event_that_cannot_be_recorded_is_refused_so_slack_retries_it(
    slack: FakeSlack, unused_tcp_port: int
) -> None:
    unreachable = f"postgresql+psycopg://nobody@127.0.0.1:{unused_tcp_port}/x?connect_timeout=1"
    async for url in _serve(unreachable, slack, SECRET):
        assert await deliver(url, "EvNoDb") == 503
    assert slack.of("views.publish") == []


async def test_socket_mode_redeliveries_are_processed_once(
    migrated_url: str, slack: FakeSlack
) -> None:
    """Over Socket Mode a retry is another envelope, with `retry_attempt`; the first
    delivery says `retry_attempt: 0`. Each is acknowledged once the event is processed
    (Slack keeps delivering until then), and the Home tab is published once."""
    settings = Settings(
        DATABASE_URL=migrated_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_APP_TOKEN="xapp-test-token",
        SLACK_API_URL=slack.api_url,
    )
    container = build(settings)
    handler = await start_socket_mode(container)
    assert handler is not None

    def acked(envelope_id: str) -> bool:
        return any(ack.get("envelope_id") == envelope_id for ack in slack.acks)

    try:
        for attempt in range(30):
            await slack.push(
                {
                    "envelope_id": f"env-{attempt}",
                    "type": "events_api",
                    "accepts_response_payload": False,
                    "retry_attempt": attempt,
                    "retry_reason": "timeout" if attempt else "",
                    "payload": json.loads(home_opened(USER, "EvSocket")),
                }
            )
            await slack.wait_for("views.publish")
            await asyncio.sleep(0.1)
            if attempt and acked(f"env-{attempt}"):
                break
        assert acked("env-0") and attempt > 0 and acked(f"env-{attempt}")
        await asyncio.sleep(0.2)
        assert len(slack.of("views.publish")) == 1
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        container.close()
