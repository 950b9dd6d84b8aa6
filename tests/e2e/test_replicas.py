"""Two replicas on one PostgreSQL database, as `docker-compose.yml` runs them.

Two `closeloop serve` processes on different ports share one database, and Slack is the
local fake. What people see must not depend on which replica a request reaches: one alert
per answer, one owner per follow-up, one digest per period, and digests keep coming when
the replica that runs the scheduler is killed.

The replicas get a database of their own, not just a schema: the scheduler's leadership
is an advisory lock, which PostgreSQL scopes to the database, and another test's service
on the shared test database must not be the one that leads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import create_engine, func, make_url, select, text

from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import (
    DigestCadence,
    DigestRun,
    DigestScope,
    DigestSubscription,
    FollowUp,
    TeamMember,
)
from metrics_core.synthetic import seed_database
from tests import webhook_signing as vendors
from tests.e2e.loop_service import (
    ALERTS,
    TODAY,
    button,
    deliver,
    generic,
    settings_env,
    text_of,
)
from tests.e2e.served import Served
from tests.e2e.slack_requests import click, post
from tests.fakes.slack_api import FakeSlack

pytestmark = [pytest.mark.postgres, pytest.mark.asyncio(loop_scope="module")]

DIGESTS = "C0DIGEST"
LEADS = "now runs the scheduler"  # what a replica logs when it takes the scheduler
# README, "Running in a container": a replica that does not lead asks for the lock every
# CLOSELOOP_LEADER_CHECK_SECONDS, so the scheduler runs again within that long of its leader
# dying. The test shortens the interval (60 s by default) to keep the suite quick; the bound
# it checks is the same promise.
TAKEOVER_SECONDS = 3.0
# The test's own latency on top: reading the log every 0.1 s, the asking itself.
OBSERVED_WITHIN = 2.0
CLAIMERS = [f"U0CSM{i}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def replica_database(postgres_server: str) -> Iterator[str]:
    """A database of its own with the demo data and a digest due now, for the module."""
    name = f"closeloop_replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        seed_database(engine, accounts=40, days=40, seed=3, as_of=TODAY)
        database = Database(engine)
        now = dt.datetime.now(dt.UTC)
        with database.writing() as session:
            # Subscribed two days ago to a daily digest whose time passed five minutes ago:
            # today's is due, and whichever replica leads must send it, once.
            session.add(
                DigestSubscription(
                    platform="slack",
                    target=DIGESTS,
                    cadence=DigestCadence.DAILY,
                    weekday=None,
                    local_time=(now - dt.timedelta(minutes=5)).strftime("%H:%M"),
                    timezone="UTC",
                    scope=DigestScope.PORTFOLIO,
                    created_by="U0CSM1",
                    created_at=now - dt.timedelta(days=2),
                    active=True,
                )
            )
        database.close()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def until(condition: Any, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so within {within:.0f} s")
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def replicas(replica_database: str, slack: FakeSlack) -> AsyncIterator[list[Served]]:
    """Two replicas started together: the one that took the scheduler first, then the other."""
    env = {
        **settings_env(Path("unused"), slack),
        "DATABASE_URL": replica_database,
        "CLOSELOOP_LEADER_CHECK_SECONDS": str(TAKEOVER_SECONDS),
    }
    started = [Served(env), Served(env)]
    try:
        await asyncio.gather(*(served.ready() for served in started))
        await until(lambda: any(LEADS in served.log() for served in started), within=30)
        yield sorted(started, key=lambda served: LEADS not in served.log())
    finally:
        for served in started:
            served.stop()


@pytest.fixture(scope="module")
def database(replica_database: str) -> Iterator[Database]:
    """The replicas' database, as the test reads it."""
    opened = Database(make_engine(replica_database))
    yield opened
    opened.close()


def alerts_saying(slack: FakeSlack, comment: str) -> list[dict[str, Any]]:
    """The messages in the alerts channel that show this survey comment."""
    return [m for m in slack.messages(ALERTS) if comment in text_of(m)]


def answer(response_id: str) -> tuple[bytes, str]:
    comment = f"Replica test answer {response_id}"
    return vendors.generic_payload(response_id=response_id, score=2, comment=comment), comment


async def test_a_webhook_to_either_replica_gives_one_alert(
    replicas: list[Served], slack: FakeSlack
) -> None:
    sent = {}
    for served, response_id in zip(replicas, ("r-either-1", "r-either-2"), strict=True):
        body, comment = answer(response_id)
        status, told = await deliver(served.webhook, body, generic(body, f"msg_{response_id}"))
        assert (status, told["new"], told["alerts"]) == (200, 1, 1)
        sent[response_id] = comment
    await until(lambda: all(alerts_saying(slack, c) for c in sent.values()))
    await asyncio.sleep(1.0)  # time enough for a second dispatcher to post it again
    for comment in sent.values():
        assert len(alerts_saying(slack, comment)) == 1, comment


async def test_the_same_answer_to_both_replicas_at_once_gives_one_alert(
    replicas: list[Served], slack: FakeSlack
) -> None:
    body, comment = answer("r-both")
    deliveries = [
        deliver(served.webhook, body, generic(body, f"msg_both_{i}"))
        for i in range(4)
        for served in replicas
    ]
    results = await asyncio.gather(*deliveries)
    assert {status for status, _ in results} == {200}
    assert sum(told["new"] for _, told in results) == 1
    await until(lambda: alerts_saying(slack, comment))
    await asyncio.sleep(1.0)
    assert len(alerts_saying(slack, comment)) == 1


async def test_claim_clicked_on_both_replicas_at_once_gives_one_owner(
    replicas: list[Served], slack: FakeSlack, database: Database
) -> None:
    body, comment = answer("r-claim")
    assert (await deliver(replicas[1].webhook, body, generic(body, "msg_claim")))[0] == 200
    await until(lambda: alerts_saying(slack, comment))
    (alert,) = alerts_saying(slack, comment)
    follow_up = json.loads(button(alert, "Claim")["value"])["follow_up"]
    payload = {"follow_up": str(follow_up)}
    clicks = [
        post(
            replicas[i % 2].events,
            click("closeloop.claim", payload, slack.response_url(f"claim.{user}"), user),
        )
        for i, user in enumerate(CLAIMERS)
    ]
    assert {status for status, _, _ in await asyncio.gather(*clicks)} == {200}
    told = {user: await slack.answer_to(f"claim.{user}") for user in CLAIMERS}
    winners = [u for u, call in told.items() if call.body["text"].startswith("Done: claimed")]
    losers = [u for u, call in told.items() if call.body["text"].startswith("Already claimed by")]
    assert len(winners) == 1 and len(losers) == len(CLAIMERS) - 1, told
    with database.reading() as session:
        row = session.get_one(FollowUp, int(follow_up))
        owner = session.get_one(TeamMember, row.owner_id)
        assert owner.slack_user_id == winners[0]
        name = owner.name
    await until(
        lambda: any(f"Claimed by {name}" in text_of(m) for m in alerts_saying(slack, comment))
    )


def digests(slack: FakeSlack) -> list[dict[str, Any]]:
    return slack.messages(DIGESTS)


def digest_runs(database: Database) -> int:
    with database.reading() as session:
        return int(session.scalar(select(func.count()).select_from(DigestRun)) or 0)


async def test_a_digest_due_goes_out_once_from_two_replicas(
    replicas: list[Served], slack: FakeSlack, database: Database
) -> None:
    await until(lambda: digests(slack), within=30)
    (digest,) = digests(slack)
    assert digest["metadata"]["event_payload"]["key"].startswith("digest:")
    assert digest_runs(database) == 1
    assert sum(LEADS in served.log() for served in replicas) == 1


async def test_the_scheduler_leader_killed_the_other_replica_takes_over_within_the_check_interval(
    replicas: list[Served], slack: FakeSlack, database: Database
) -> None:
    leader, follower = replicas
    assert LEADS in leader.log() and LEADS not in follower.log()
    leader.kill()
    killed = time.monotonic()
    await follower.logged(LEADS, within=TAKEOVER_SECONDS + OBSERVED_WITHIN)
    took = time.monotonic() - killed
    assert took <= TAKEOVER_SECONDS + OBSERVED_WITHIN, f"took over after {took:.1f} s"

    # The new leader sweeps for what is due: today's digest went out already, so nothing.
    await asyncio.sleep(2.0)
    assert len(digests(slack)) == 1
    assert digest_runs(database) == 1
    # And the replica left serves alone.
    body, comment = answer("r-after")
    assert (await deliver(follower.webhook, body, generic(body, "msg_after")))[0] == 200
    await until(lambda: alerts_saying(slack, comment))
