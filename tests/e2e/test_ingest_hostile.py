"""`POST /ingest/usage` under hostile input: a clear 4xx or an answer, never a 5xx.

The real aiohttp application runs on loopback with the ingest token set, on SQLite and
PostgreSQL, so each request reaches the code under test. Bodies are drawn from a real
Segment batch (group, identify, track and page calls) with fields changed, removed or
given other types and customer text anywhere, from arbitrary JSON and from raw bytes;
`Authorization` headers from anything a client may send. A refused request stores
nothing; an accepted one stores exactly the calls it says it accepted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.bootstrap import build
from adapters.entrypoints.http import MAX_BODY_BYTES
from adapters.settings import Settings
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import UsageEventId
from tests import factories as f
from tests.e2e.loopback import Loopback
from tests.hostile import examples, hostile_text, mutate
from tests.hostile import json_values as hostile_json_values

INGEST = "/ingest/usage"
TOKEN = "hostile-ingest-token"
SIGNED = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@pytest.fixture
def service(migrated_url: str, tmp_path: Path) -> Iterator[Loopback]:
    """The service on a migrated database (SQLite, then PostgreSQL) holding Acme."""
    database = Database(make_engine(migrated_url))
    with database.writing() as session:
        f.account(session)
    database.close()
    settings = Settings(DATABASE_URL=migrated_url, CLOSELOOP_INGEST_TOKEN=TOKEN)
    served = Loopback(build(settings))
    yield served
    served.close()


def real_batch(text: str, n: int) -> dict[str, Any]:
    """What an analytics library sends: a user placed in a group, identified, active."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    common = {"userId": f"u-{n}", "anonymousId": f"a-{n}", "timestamp": now}
    return {
        "batch": [
            {**common, "type": "group", "messageId": f"g-{n}", "groupId": "ACME",
             "traits": {"name": text, "website": "https://acme.example"}},
            {**common, "type": "identify", "messageId": f"i-{n}",
             "traits": {"email": f"{text}@acme.example", "name": text}},
            {**common, "type": "track", "messageId": f"t-{n}", "event": text or "Opened",
             "properties": {"feature": text, "label": text}, "context": {"groupId": "ACME"}},
            {**common, "type": "page", "messageId": f"p-{n}", "name": text},
        ],
        "context": {"library": {"name": "analytics.js"}},
    }  # fmt: skip


json_values = hostile_json_values("track", "ACME")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The real batch with customer text in it and up to three fields replaced or removed."""
    document = real_batch(draw(hostile_text(max_parts=3)), draw(st.integers(0, 10**6)))
    return mutate(draw, document, json_values)


bodies = st.one_of(
    mutated(),
    mutated(),
    mutated(),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
)


@pytest.mark.parametrize("_", ["properties"])  # one run per database
def test_any_body_is_stored_or_refused_with_a_reason(service: Loopback, _: str) -> None:
    @settings(max_examples=examples(40))
    @given(body=bodies)
    def deliver(body: bytes) -> None:
        before = service.count(UsageEventId)
        status, text = service.post(INGEST, body, SIGNED)
        assert status in (200, 400), (status, text)
        answer = json.loads(text)
        if status == 400:
            assert isinstance(answer["error"], str) and answer["error"].startswith("body"), answer
            assert service.count(UsageEventId) == before, "a refused request stored something"
        else:
            assert answer["accepted"] == service.count(UsageEventId) - before, answer
            assert answer["received"] == sum(
                answer[k] for k in ("accepted", "duplicates", "late", "ignored")
            )

    deliver()


@settings(max_examples=examples(40))
@given(header=st.text(max_size=60) | st.sampled_from(["Bearer", "Bearer ", "bearer x", "Basic x"]))
def test_any_authorization_header_but_the_token_is_refused(
    sqlite_service: Loopback, header: str
) -> None:
    body = json.dumps(real_batch("Opened", 1)).encode()
    before = sqlite_service.count(UsageEventId)
    try:
        headers = {"Authorization": header, "Content-Type": "application/json"}
        status, text = sqlite_service.post(INGEST, body, headers)
    except ValueError:  # a header no HTTP client would send (a newline in it)
        return
    assert status == (200 if header.strip() == f"Bearer {TOKEN}" else 401), (status, text)
    if status == 401:
        assert sqlite_service.count(UsageEventId) == before


@pytest.fixture
def sqlite_service(sqlite_url: str) -> Iterator[Loopback]:
    database = Database(make_engine(sqlite_url))
    from metrics_core.store import migrate

    migrate.upgrade(database.engine)
    with database.writing() as session:
        f.account(session)
    database.close()
    served = Loopback(build(Settings(DATABASE_URL=sqlite_url, CLOSELOOP_INGEST_TOKEN=TOKEN)))
    yield served
    served.close()


def test_a_body_over_the_cap_is_413_and_stores_nothing(sqlite_service: Loopback) -> None:
    calls = real_batch("Opened", 2)
    body = json.dumps(calls).encode()
    at_cap = body + b" " * (MAX_BODY_BYTES - len(body))
    status, text = sqlite_service.post(INGEST, at_cap + b" ", SIGNED)
    assert status == 413 and f"{MAX_BODY_BYTES:,}" in json.loads(text)["error"]
    assert sqlite_service.count(UsageEventId) == 0
    status, text = sqlite_service.post(INGEST, at_cap, SIGNED)
    assert (status, json.loads(text)["accepted"]) == (200, 3)
