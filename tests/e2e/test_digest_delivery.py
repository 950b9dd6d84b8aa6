"""Digests end to end: a channel subscribes with a signed `/digest` command, the scheduler
(APScheduler, as `serve` runs it) fires at the subscription's time, and the digest
arrives once at the local fake Slack Web API."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from adapters.bootstrap import Container, build
from adapters.entrypoints.http import build_app
from adapters.settings import Settings
from metrics_core.churn.daily_model import RiskModels
from metrics_core.config import Config, Digests
from metrics_core.health.daily import take_snapshot
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.synthetic import seed_database
from tests.e2e.slack_requests import SECRET, slash
from tests.fakes.slack_api import FakeSlack, _free_port

TODAY = dt.datetime.now(dt.UTC).date()
CONFIG = Config(digests=Digests(snapshot_at="off"))


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("digests") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, accounts=40, days=60, seed=5, as_of=TODAY)
    database = Database(engine)
    now = dt.datetime.now(dt.UTC)
    take_snapshot(database, RiskModels(CONFIG), CONFIG, TODAY, now, backfill=1)
    database.close()
    return path


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(timezones={"U0CSM1": "Europe/Berlin"})
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def service(
    template_db: Path, tmp_path: Path, slack: FakeSlack
) -> AsyncIterator[tuple[str, Container]]:
    path = tmp_path / "closeloop.db"
    shutil.copyfile(template_db, path)
    settings = Settings(
        DATABASE_URL=f"sqlite:///{path}",
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
    )
    container = build(settings, CONFIG)
    runner = web.AppRunner(build_app(container))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    background = [
        asyncio.create_task(container.dispatcher.run(stop)),
        asyncio.create_task(container.scheduler.run(stop)),
    ]
    try:
        yield f"http://127.0.0.1:{port}/slack/events", container
    finally:
        stop.set()
        await asyncio.gather(*background)
        await runner.cleanup()
        container.close()


async def _until(condition: object, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def test_a_channel_subscribes_by_slash_command_and_gets_its_digest_once(
    service: tuple[str, Container], slack: FakeSlack
) -> None:
    events, container = service
    # The subscriber's time zone comes from their Slack profile (users.info).
    await slack.command(events, slash("/digest", "subscribe daily 09:00", slack.response_url()))
    (answer,) = await slack.wait_for("respond")
    text = str(answer.body["blocks"])
    assert "Digest #1 scheduled" in text
    assert "Daily, 09:00 Europe/Berlin to this conversation" in text
    assert "closeloop.share" not in text  # re-running a subscription is no refresh
    assert slack.of("users.info")[0].body["user"] == "U0CSM1"

    # The scheduler picked the subscription up as a cron job in the subscriber's zone.
    job_id = "digest:1"
    await _until(lambda: container.scheduler.scheduler.get_job(job_id) is not None)
    job = container.scheduler.scheduler.get_job(job_id)
    assert str(job.trigger.timezone) == "Europe/Berlin"
    assert (
        job.trigger.fields[5].expressions[0].first,
        job.trigger.fields[6].expressions[0].first,
    ) == (9, 0)

    # Move the scheduler's clock to the next 09:00 in Berlin and let APScheduler fire the
    # job now (its own timer would wait for the real 09:00).
    due = job.next_run_time.astimezone(dt.UTC)
    container.scheduler.clock = lambda: due + dt.timedelta(seconds=2)
    container.dispatcher.clock = container.scheduler.clock  # the whole service's "now"
    job.modify(next_run_time=dt.datetime.now(dt.UTC))

    (posted,) = await slack.wait_for("chat.postMessage")
    assert posted.body["channel"] == "C111"
    blocks = posted.body["blocks"]
    assert blocks[0]["text"]["text"].startswith("Daily digest · whole portfolio")
    shown = str(blocks)
    for part in ("Accounts", "Average health", "NRR, 12 months", "Renewing in 30 days"):
        assert part in shown
    assert posted.body["metadata"]["event_payload"]["key"].startswith("digest:1:")

    # Firing again for the same period (a retry, a second scheduler) sends nothing more.
    job.modify(next_run_time=dt.datetime.now(dt.UTC))
    await asyncio.sleep(0.5)
    assert len(slack.of("chat.postMessage")) == 1

    await slack.command(events, slash("/digest", "list", slack.response_url("l")))
    _, listed = await slack.wait_for("respond", 2)
    assert "#1" in str(listed.body["blocks"])
    await slack.command(events, slash("/digest", "unsubscribe 1", slack.response_url("u")))
    _, _, stopped = await slack.wait_for("respond", 3)
    assert "Digest #1 stopped" in str(stopped.body["blocks"])
    await _until(lambda: container.scheduler.scheduler.get_job(job_id) is None)


async def test_preview_answers_only_the_asker(
    service: tuple[str, Container], slack: FakeSlack
) -> None:
    events, _ = service
    await slack.command(events, slash("/digest", "preview mine", slack.response_url()))
    (answer,) = await slack.wait_for("respond")
    assert answer.body["response_type"] == "ephemeral"
    assert "Daily digest · Dana Whitfield's book" in str(answer.body["blocks"])
    assert "Preview: only you see this." in str(answer.body["blocks"])
    assert slack.of("chat.postMessage") == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("subscribe daily", "At what time?"),
        ("subscribe weekly 09:00", "Which day?"),
        ("subscribe daily 09:00 Mars/Olympus", "Unknown time zone"),
        ("subscribe daily 09:00 segment=Galactic", "Unknown segment"),
        ("subscribe daily 09:00 owner=@nobody", "can't find"),
        ("unsubscribe 99", "No digest #99 here"),
        ("sometimes", "I don't understand"),
        ("", "Digests"),
    ],
)
async def test_bad_digest_requests_say_what_is_wrong(
    service: tuple[str, Container], slack: FakeSlack, text: str, says: str
) -> None:
    events, _ = service
    await slack.command(events, slash("/digest", text, slack.response_url()))
    (answer,) = await slack.wait_for("respond")
    assert says in str(answer.body["blocks"])
