"""Usage events into the daily tables health reads, on SQLite and PostgreSQL.

What a CS team relies on: events count once however often they are delivered, land on
the account their user belongs to, add up with what a day already holds, show in the
health answer the moment they are committed, and a request with one bad call stores
nothing at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.bootstrap import build
from adapters.entrypoints.http import build_app
from adapters.platforms.ingest.segment import EventError, parse
from adapters.settings import Settings
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.health.scorecard import HealthResult
from metrics_core.importing import import_csv
from metrics_core.store import watermarks
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import (
    Account,
    Contact,
    ProductFeature,
    UsageActiveUser,
    UsageDaily,
    UsageEventId,
    UsageIdentity,
)
from metrics_core.usage.ingest import (
    ID_RETENTION,
    Ingested,
    KnownActiveUsers,
    ingest,
    ingest_requests,
    prune,
)
from tests import factories as f

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)
TWO_DAYS_AGO = TODAY - dt.timedelta(days=2)
CONFIG = Config()
TOKEN = "ingest-token-for-tests"


def at(day: dt.date, hour: int = 10) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


def track(
    message_id: str, day: dt.date, user: str | None = "u-ann", **fields: Any
) -> dict[str, Any]:
    call: dict[str, Any] = {
        "type": "track",
        "messageId": message_id,
        "event": "Report Exported",
        "timestamp": at(day),
    }
    if user is not None:
        call["userId"] = user
    call.update(fields)
    return call


def group(message_id: str, user: str, group_id: str, **traits: str) -> dict[str, Any]:
    call = {"type": "group", "messageId": message_id, "userId": user, "groupId": group_id}
    return {**call, "traits": traits} if traits else call


def identify(message_id: str, user: str, email: str) -> dict[str, Any]:
    return {"type": "identify", "messageId": message_id, "userId": user, "traits": {"email": email}}


@pytest.fixture
def book(db: Database) -> dict[str, int]:
    """Acme (acme.example, 10 seats) and Globex (globex.example), and a Globex contact
    whose email is on another domain."""
    with db.writing() as session:
        acme = f.account(session, seats=10)
        globex = f.account(session, "GLOBEX", "Globex", seats=20, domain="globex.example")
        session.add(Contact(account_id=globex.id, email="zoe@zoe.example", name="Zoe"))
        return {"ACME": acme.id, "GLOBEX": globex.id}


def deliver(db: Database, *calls: dict[str, Any], now: dt.datetime = NOW) -> Ingested:
    messages = parse({"batch": list(calls)}, now)
    with db.writing() as session:
        return ingest(session, messages, now)


def days(db: Database) -> dict[tuple[int, dt.date], tuple[int, int, dict[str, int]]]:
    """Every stored day: (active users, events, feature counts)."""
    with db.reading() as session:
        rows = session.execute(
            select(
                UsageDaily.account_id,
                UsageDaily.day,
                UsageDaily.active_users,
                UsageDaily.events,
                UsageDaily.feature_counts,
            )
        ).all()
    return {(a, d): (users, events, dict(features)) for a, d, users, events, features in rows}


def health(db: Database, cache: HealthCache, account_id: int) -> HealthResult:
    with db.reading() as session:
        result = cache.get(session, account_id, TODAY)
    assert result is not None
    return result


def detail(result: HealthResult, component: str) -> str:
    return next(c.detail for c in result.components if c.name == component)


def test_events_roll_up_into_the_days_health_reads(db: Database, book: dict[str, int]) -> None:
    cache = HealthCache(CONFIG)
    before = health(db, cache, book["ACME"])
    assert detail(before, "usage") == "no usage data"
    assert detail(before, "adoption") == "no feature data"

    done = deliver(
        db,
        group("g-1", "u-ann", "ACME"),
        identify("i-1", "u-bob", "Bob@ACME.example"),
        identify("i-2", "u-zoe", "zoe@zoe.example"),
        track("t-1", YESTERDAY),
        track("t-2", YESTERDAY, properties={"feature": "Dashboards"}),
        track("t-3", YESTERDAY, "u-bob"),
        track("t-4", TWO_DAYS_AGO, "u-zoe"),
        track("t-5", YESTERDAY, None, anonymousId="a-9", context={"groupId": "GLOBEX"}),
        track("t-6", YESTERDAY, "u-stranger"),
    )
    assert done == Ingested(received=9, accepted=9, duplicates=0, unmatched=1, late=0, ignored=0)
    acme, globex = book["ACME"], book["GLOBEX"]
    assert days(db) == {
        (acme, YESTERDAY): (2, 3, {"report_exported": 2, "dashboards": 1}),
        (globex, TWO_DAYS_AGO): (1, 1, {"report_exported": 1}),
        (globex, YESTERDAY): (1, 1, {"report_exported": 1}),
    }
    with db.reading() as session:
        features = dict(
            session.execute(select(ProductFeature.name, ProductFeature.first_seen)).all()
        )
        assert features == {"report_exported": TWO_DAYS_AGO, "dashboards": YESTERDAY}
        assert watermarks.through(session, watermarks.USAGE) == YESTERDAY

    after = health(db, cache, acme)  # the cached answer is not reused: the inputs changed
    assert detail(after, "adoption") == "2 of 2 features used in 30 days"
    assert detail(after, "usage").endswith(f"(usage data through {YESTERDAY:%Y-%m-%d})")
    assert next(c.score for c in after.components if c.name == "usage") is not None


def test_delivered_events_tell_every_replica_that_answers_changed(
    db: Database, book: dict[str, int]
) -> None:
    """Answers kept in memory (`bot.answers`) are dropped when events arrive: SQLite's
    commit counter moves, PostgreSQL sends the notification replicas listen for."""
    deadline = time.monotonic() + 5
    while (before := db.changes.generation()) is None and time.monotonic() < deadline:
        time.sleep(0.01)  # PostgreSQL's listener connects on first use
    assert before is not None
    deliver(db, group("g-1", "u-ann", "ACME"), track("t-1", YESTERDAY))
    while db.changes.generation() == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert db.changes.generation() not in (before, None)


def test_events_of_today_count_but_the_day_under_way_is_not_delivered_yet(
    db: Database, book: dict[str, int]
) -> None:
    deliver(db, group("g-1", "u-ann", "ACME"), track("t-1", TODAY))
    assert days(db) == {(book["ACME"], TODAY): (1, 1, {"report_exported": 1})}
    with db.reading() as session:
        assert watermarks.through(session, watermarks.USAGE) == YESTERDAY


def test_a_redelivered_batch_changes_nothing(db: Database, book: dict[str, int]) -> None:
    calls = [
        group("g-1", "u-ann", "ACME"),
        track("t-1", YESTERDAY),
        track("t-2", YESTERDAY, "u-bob", context={"groupId": "ACME"}),
        track("t-3", YESTERDAY, "u-nobody"),
    ]
    first = deliver(db, *calls)
    stored = days(db)
    with db.reading() as session:
        versions = dict(session.execute(select(Account.id, Account.inputs_version)).all())
    again = deliver(db, *calls)
    assert (first.accepted, first.duplicates, first.unmatched) == (4, 0, 1)
    assert (again.accepted, again.duplicates, again.unmatched) == (0, 4, 0)
    assert days(db) == stored == {(book["ACME"], YESTERDAY): (2, 2, {"report_exported": 2})}
    with db.reading() as session:
        assert dict(session.execute(select(Account.id, Account.inputs_version)).all()) == versions


def test_a_message_id_twice_in_one_batch_counts_once(db: Database, book: dict[str, int]) -> None:
    done = deliver(
        db, group("g-1", "u-ann", "ACME"), track("t-1", YESTERDAY), track("t-1", YESTERDAY)
    )
    assert (done.accepted, done.duplicates) == (2, 1)
    assert days(db)[(book["ACME"], YESTERDAY)][1] == 1


def test_requests_add_to_what_a_day_holds_and_users_count_once_a_day(
    db: Database, book: dict[str, int]
) -> None:
    acme = book["ACME"]
    deliver(db, group("g-1", "u-ann", "ACME"), group("g-2", "u-bob", "ACME"))
    deliver(db, track("t-1", YESTERDAY))
    deliver(db, track("t-2", YESTERDAY), track("t-3", YESTERDAY, "u-bob", event="Login"))
    deliver(db, track("t-4", TODAY))
    assert days(db) == {
        (acme, YESTERDAY): (2, 3, {"report_exported": 2, "login": 1}),
        (acme, TODAY): (1, 1, {"report_exported": 1}),
    }


def test_events_add_to_an_imported_day(db: Database, book: dict[str, int], tmp_path: Any) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "account_external_id,date,active_users,sessions,events,feature_report_exported\n"
        f"ACME,{YESTERDAY.isoformat()},7,9,40,5\n",
        encoding="utf-8",
    )
    import_csv(db.engine, "usage", usage)
    deliver(db, group("g-1", "u-ann", "ACME"), track("t-1", YESTERDAY))
    assert days(db) == {(book["ACME"], YESTERDAY): (8, 41, {"report_exported": 6})}
    with db.reading() as session:
        assert session.scalar(select(UsageDaily.sessions)) == 9


def test_events_more_than_a_week_old_are_late_and_not_stored(
    db: Database, book: dict[str, int]
) -> None:
    week_ago = TODAY - dt.timedelta(days=7)
    done = deliver(
        db,
        group("g-1", "u-ann", "ACME"),
        track("t-1", week_ago),
        track("t-2", week_ago - dt.timedelta(days=1)),
        {"type": "screen", "messageId": "s-1", "userId": "u-ann", "name": "Home"},
    )
    assert (done.accepted, done.late, done.ignored) == (2, 1, 1)
    assert days(db) == {(book["ACME"], week_ago): (1, 1, {"report_exported": 1})}


def test_how_users_are_tied_to_accounts(db: Database, book: dict[str, int]) -> None:
    acme, globex = book["ACME"], book["GLOBEX"]
    with db.writing() as session:  # two accounts sharing a domain
        f.account(session, "INITECH", "Initech", domain="shared.example")
        f.account(session, "INITECH-EU", "Initech EU", domain="shared.example")
    done = deliver(
        db,
        # a group call places a user; an identify call with another domain does not move her
        group("g-1", "u-ann", "ACME"),
        identify("i-1", "u-ann", "ann@globex.example"),
        # an unknown group id falls back on the group's website
        group("g-2", "u-bob", "crm-9", website="https://www.acme.example"),
        # a contact's email gives the contact's account, whatever its domain
        identify("i-2", "u-zoe", "zoe@zoe.example"),
        # a domain two accounts share is no one's
        identify("i-3", "u-eve", "eve@shared.example"),
        track("t-1", YESTERDAY, "u-ann"),
        track("t-2", YESTERDAY, "u-bob"),
        track("t-3", YESTERDAY, "u-zoe"),
        track("t-4", YESTERDAY, "u-eve"),
    )
    assert done.unmatched == 2  # eve's identify call and her event
    assert days(db) == {
        (acme, YESTERDAY): (2, 2, {"report_exported": 2}),
        (globex, YESTERDAY): (1, 1, {"report_exported": 1}),
    }
    # a later group call moves a user; her events follow from then on
    deliver(db, group("g-3", "u-ann", "GLOBEX"), track("t-5", TODAY, "u-ann"))
    assert days(db)[(globex, TODAY)] == (1, 1, {"report_exported": 1})
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(UsageIdentity)) == 3


def test_concurrent_deliveries_of_the_same_events_count_them_once(
    db: Database, book: dict[str, int]
) -> None:
    deliver(db, *(group(f"g-{n}", f"u-{n}", "ACME") for n in range(20)))
    calls = [track(f"t-{n}", YESTERDAY, f"u-{n % 20}", event=f"Feature {n % 3}") for n in range(60)]
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def redeliver(start: int) -> None:
        # each thread sends the events in another order, all of them in the end
        mine = calls[start:] + calls[:start]
        barrier.wait()
        try:
            for begin in range(0, len(mine), 15):
                deliver(db, *mine[begin : begin + 15])
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=redeliver, args=(n * 15,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert days(db) == {
        (book["ACME"], YESTERDAY): (20, 60, {"feature_0": 20, "feature_1": 20, "feature_2": 20})
    }


def test_requests_written_together_are_answered_each_for_itself(
    db: Database, book: dict[str, int]
) -> None:
    first = parse({"batch": [group("g-1", "u-ann", "ACME"), track("t-1", YESTERDAY)]}, NOW)
    second = parse({"batch": [track("t-1", YESTERDAY), track("t-2", YESTERDAY, "u-x")]}, NOW)
    known = KnownActiveUsers()
    with db.writing() as session:
        one, two = ingest_requests(session, [first, second], NOW, known)
    assert (one.accepted, one.duplicates, one.unmatched) == (2, 0, 0)
    assert (two.accepted, two.duplicates, two.unmatched) == (1, 1, 1)
    # once committed, the process remembers Ann as active yesterday and need not write it
    with db.writing() as session:
        ingest_requests(session, [parse(track("t-3", YESTERDAY), NOW)], NOW, known)
    assert days(db) == {(book["ACME"], YESTERDAY): (1, 2, {"report_exported": 2})}


def test_prune_forgets_only_what_no_event_can_reach(db: Database, book: dict[str, int]) -> None:
    long_ago = NOW - ID_RETENTION - dt.timedelta(hours=1)
    deliver(db, group("g-1", "u-ann", "ACME"), track("t-old", long_ago.date()), now=long_ago)
    deliver(db, track("t-new", YESTERDAY))
    with db.writing() as session:
        prune(session, NOW)
    with db.reading() as session:
        assert set(session.scalars(select(UsageEventId.message_id))) == {"t-new"}
        assert set(session.scalars(select(UsageActiveUser.day))) == {YESTERDAY}
    assert len(days(db)) == 2  # the daily usage itself is kept
    # the pruned ids could only come back as late events: still counted once, even one
    # whose sender's clock ran two days ahead
    done = deliver(db, track("t-old", long_ago.date()))
    assert (done.accepted, done.late) == (0, 1)
    ahead = long_ago + dt.timedelta(days=2)
    skewed = track("t-skewed", ahead.date(), timestamp=ahead.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert deliver(db, skewed, now=long_ago).accepted == 1
    with db.writing() as session:
        prune(session, NOW)
    assert deliver(db, skewed).late == 1


# --- the route, on both databases -----------------------------------------------------


@pytest.fixture
async def route(migrated_url: str, acme_on_url: int) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(DATABASE_URL=migrated_url, CLOSELOOP_INGEST_TOKEN=TOKEN)
    container = build(settings, clock=lambda: NOW)
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(container)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        container.close()


@pytest.fixture
def acme_on_url(migrated_url: str) -> int:
    database = Database(make_engine(migrated_url))
    try:
        with database.writing() as session:
            return f.account(session, seats=10).id
    finally:
        database.close()


def counts(url: str) -> tuple[int, int, int]:
    database = Database(make_engine(url))
    try:
        with database.reading() as session:
            return (
                session.scalar(select(func.count()).select_from(UsageEventId)) or 0,
                session.scalar(select(func.count()).select_from(UsageIdentity)) or 0,
                session.scalar(select(func.count()).select_from(UsageDaily)) or 0,
            )
    finally:
        database.close()


async def post(client: TestClient[Any, Any], body: object, token: str = TOKEN) -> tuple[int, Any]:
    response = await client.post(
        "/ingest/usage",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return response.status, await response.json()


async def test_a_bad_call_in_a_batch_stores_nothing_of_the_batch(
    route: TestClient[Any, Any], migrated_url: str
) -> None:
    calls = [group("g-1", "u-ann", "ACME"), track("t-1", YESTERDAY), track("t-2", YESTERDAY)]
    calls[2].pop("event")
    status, answer = await post(route, {"batch": calls})
    assert status == 400
    assert answer["error"] == (
        "body: field 'batch[2].event': is required on a track call: the action's name"
    )
    assert counts(migrated_url) == (0, 0, 0)

    calls[2]["event"] = "Report Exported"
    status, answer = await post(route, {"batch": calls})
    assert (status, answer["accepted"]) == (200, 3)
    assert counts(migrated_url) == (3, 1, 1)


async def test_concurrent_requests_are_each_answered_after_their_commit(
    route: TestClient[Any, Any], migrated_url: str, acme_on_url: int
) -> None:
    await post(route, {"batch": [group(f"g-{n}", f"u-{n}", "ACME") for n in range(10)]})
    batches = [
        {"batch": [track(f"t-{b}-{n}", YESTERDAY, f"u-{n}") for n in range(10)]} for b in range(12)
    ]
    answers = await asyncio.gather(*(post(route, body) for body in batches + batches[:3]))
    assert all(status == 200 for status, _ in answers)
    assert sum(answer["accepted"] for _, answer in answers) == 120
    assert sum(answer["duplicates"] for _, answer in answers) == 30
    database = Database(make_engine(migrated_url))
    try:
        assert days(database) == {(acme_on_url, YESTERDAY): (10, 120, {"report_exported": 120})}
    finally:
        database.close()


async def test_one_request_failing_in_a_shared_transaction_fails_alone(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.platforms.ingest import usage

    with sqlite_db.writing() as session:
        f.account(session)
    real = ingest_requests

    sizes: list[int] = []

    def refuse_poison(session: Any, requests: Any, now: dt.datetime, known: Any) -> Any:
        sizes.append(len(requests))
        if any(m.message_id == "poison" for messages in requests for m in messages):
            raise RuntimeError("the database refused a value")
        return real(session, requests, now, known)

    monkeypatch.setattr(usage, "ingest_requests", refuse_poison)
    ingest_route = usage.UsageIngest(TOKEN, sqlite_db, clock=lambda: NOW)
    good = {"batch": [group("g-1", "u-ann", "ACME"), track("t-1", YESTERDAY)]}
    bad = {"batch": [group("poison", "u-bob", "ACME")]}
    wrong = {"batch": [track("t-9", YESTERDAY, event=None)]}
    answers = await asyncio.gather(
        *(ingest_route.store(json.dumps(body).encode()) for body in (good, bad, wrong)),
        return_exceptions=True,
    )
    assert isinstance(answers[0], Ingested) and answers[0].accepted == 2
    assert isinstance(answers[1], RuntimeError)
    assert isinstance(answers[2], EventError) and answers[2].path == "batch[0].event"
    assert sizes == [2, 1, 1]  # tried together, then each alone
    with sqlite_db.reading() as session:
        assert set(session.scalars(select(UsageEventId.message_id))) == {"g-1", "t-1"}
