"""The service's HTTP routes under hostile input: a clear 4xx or an answer, never a 5xx.

The real aiohttp application runs on loopback with every survey webhook configured and
Teams in its local-testing mode (no token), so each request reaches the code under test:
webhook deliveries carry valid signatures, so the vendor's translator sees whatever body
was signed. Bodies are drawn from each vendor's real payload with fields changed, removed
or given other types, from arbitrary JSON, form-encoded fields and raw bytes. Then the size
cap: a body over it is refused with 413 before it is read whole, announced or chunked.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.bootstrap import build
from adapters.entrypoints.http import MAX_BODY_BYTES
from adapters.settings import Settings
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import SurveyResponse
from tests import webhook_signing as vendors
from tests.e2e import teams_activities as teams
from tests.e2e.loopback import Loopback
from tests.e2e.slack_requests import SECRET as SLACK_SECRET
from tests.hostile import SQL, examples, hostile_text, import_book, mutate
from tests.hostile import json_values as hostile_json_values

ALERTS = "C0ALERTS"


def service_settings(database_url: str) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-hostile-test",
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # nothing is sent: no dispatcher runs
        "CLOSELOOP_SLACK_ALERTS_CHANNEL": ALERTS,
        "CLOSELOOP_TEAMS_INSECURE_DEV": True,
        "CLOSELOOP_WEBHOOK_SECRET": vendors.GENERIC_SECRET,
        "DELIGHTED_WEBHOOK_SECRET": vendors.DELIGHTED_SECRET,
        "TYPEFORM_WEBHOOK_SECRET": vendors.TYPEFORM_SECRET,
        "WOOTRIC_WEBHOOK_SECRET": vendors.WOOTRIC_SECRET,
    }
    return Settings(**values)


@pytest.fixture
def service(migrated_url: str, tmp_path: Path) -> Iterator[Loopback]:
    """The service on a migrated database (SQLite, then PostgreSQL) holding a small book."""
    database = Database(make_engine(migrated_url))
    import_book(database, tmp_path)
    database.close()
    served = Loopback(build(service_settings(migrated_url)))
    yield served
    served.close()


@pytest.fixture
def sqlite_service(sqlite_url: str, tmp_path: Path) -> Iterator[Loopback]:
    """The same, on SQLite only: for what is about HTTP rather than storage."""
    database = Database(make_engine(sqlite_url))
    migrate.upgrade(database.engine)
    import_book(database, tmp_path)
    database.close()
    served = Loopback(build(service_settings(sqlite_url)))
    yield served
    served.close()


# --- webhook bodies ---------------------------------------------------------------------------

Signer = Callable[[bytes], dict[str, str]]
SIGNERS: dict[str, Signer] = {
    "generic": lambda body: vendors.sign_generic(
        vendors.GENERIC_SECRET, body, msg_id="msg_hostile", timestamp=int(time.time())
    ),
    "delighted": lambda body: vendors.sign_delighted(vendors.DELIGHTED_SECRET, body),
    "typeform": lambda body: vendors.sign_typeform(vendors.TYPEFORM_SECRET, body),
    "wootric": lambda body: vendors.sign_wootric(vendors.WOOTRIC_SECRET, body),
}
PAYLOADS: dict[str, Callable[..., bytes]] = {
    "generic": vendors.generic_payload,
    "delighted": vendors.delighted_payload,
    "typeform": vendors.typeform_payload,
    "wootric": vendors.wootric_payload,
}

json_values = hostile_json_values("nps", "10")


@st.composite
def mutated(draw: st.DrawFn, provider: str) -> bytes:
    """The vendor's real payload, with customer text anywhere and up to three fields
    replaced by other JSON or removed."""
    text = hostile_text(max_parts=3)
    document = json.loads(
        PAYLOADS[provider](comment=draw(text), name=draw(text), email=draw(text | st.none()))
    )
    return mutate(draw, document, json_values)


def bodies(provider: str) -> st.SearchStrategy[tuple[bytes, str]]:
    """A body and its content type: mostly the vendor's payload changed, else anything."""
    as_json = "application/json"
    form = "application/x-www-form-urlencoded"
    fields = st.dictionaries(
        st.sampled_from(["response[score]", "response[id]", "event_type", "payload", "score"]),
        hostile_text(max_parts=2),
        max_size=4,
    )
    return st.one_of(
        mutated(provider).map(lambda body: (body, as_json)),
        mutated(provider).map(lambda body: (body, as_json)),
        json_values.map(lambda value: (json.dumps(value).encode(), as_json)),
        fields.map(lambda values: (urlencode(values).encode(), form)),
        st.binary(max_size=64).map(lambda body: (body, form)),
    )


def check_delivery(service: Loopback, provider: str, body: bytes, content_type: str) -> int:
    """Deliver a signed body: a 200 with what was stored, or a 400 that says why."""
    before = service.count(SurveyResponse)
    headers = {**SIGNERS[provider](body), "Content-Type": content_type}
    status, text = service.post(f"/webhooks/surveys/{provider}", body, headers)
    assert status in (200, 400), (status, text)
    reply = json.loads(text)
    if status == 400:
        assert isinstance(reply["error"], str) and reply["error"].strip(), reply
        assert service.count(SurveyResponse) == before, "a refused delivery stored something"
    else:
        assert reply["new"] == service.count(SurveyResponse) - before, reply
    return status


@pytest.mark.parametrize("provider", sorted(SIGNERS))
def test_any_signed_delivery_is_stored_or_refused_with_a_reason(
    service: Loopback, provider: str
) -> None:
    @settings(max_examples=examples(20))
    @given(body=bodies(provider))
    def deliver(body: tuple[bytes, str]) -> None:
        check_delivery(service, provider, *body)

    deliver()


@pytest.mark.parametrize("provider", sorted(SIGNERS))
def test_customer_text_that_no_column_can_hold_is_refused_not_retried(
    service: Loopback, provider: str
) -> None:
    """A NUL or a name longer than the column is the sender's data problem: a 400 the
    vendor stops retrying, on PostgreSQL as on SQLite, never a 503 it retries forever."""
    for name, comment in (("Jane\x00Doe", "ok"), ("J" * 300, "ok"), ("Jane", "bad\x00byte")):
        body = PAYLOADS[provider](response_id=f"r-{len(name)}", name=name, comment=comment)
        status = check_delivery(service, provider, body, "application/json")
        assert status == 400


@pytest.mark.parametrize("provider", sorted(SIGNERS))
def test_sql_and_markup_from_a_survey_tool_are_stored_as_written(
    service: Loopback, provider: str
) -> None:
    comment = f"{SQL} <!channel> [pay](http://evil.example) **now** <script>x</script>"
    name = "Robert'); DROP TABLE students;-- <@U0CSM1>"
    body = PAYLOADS[provider](comment=comment, name=name)
    assert check_delivery(service, provider, body, "application/json") == 200
    with service.container.db.reading() as session:
        stored = session.scalars(select(SurveyResponse)).one()
        assert (stored.comment, stored.respondent_name) == (comment, name)


# --- Teams --------------------------------------------------------------------------------------

mentions = st.lists(st.sampled_from([teams.DANA, teams.MARCO, teams.OUTSIDER]), max_size=2)


@settings(max_examples=examples(25))
@given(text=st.text(max_size=40) | hostile_text(), mention=st.booleans(), people=mentions)
def test_any_teams_message_gets_an_answer(
    sqlite_service: Loopback, text: str, mention: bool, people: list[str]
) -> None:
    service = sqlite_service
    conversation = teams.CHANNEL if mention else teams.personal_chat(teams.DANA)
    words = " ".join([text, *(teams.at(person) for person in people)])
    if mention:
        activity = teams.channel_message(words, service_url=service.connector.service_url)
    else:
        activity = teams.message(words, service_url=service.connector.service_url)
    teams.mentioning(activity, *people)
    before = len(service.connector.of("reply")) + len(service.connector.of("post"))
    status, body = service.post(
        "/api/messages", json.dumps(activity), {"Content-Type": "application/json"}
    )
    assert status < 400, (status, body)
    after = len(service.connector.of("reply")) + len(service.connector.of("post"))
    assert after > before, f"no answer in {conversation}"


# --- the size cap ---------------------------------------------------------------------------


def raw_request(port: int, head: str, body: bytes, *, within: float = 10.0) -> str:
    """Send a request head and part of a body, never the rest; return the status line.

    The server must answer without waiting for what was announced but never sent.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=within) as connection:
        connection.sendall(head.encode() + body)
        started = time.monotonic()
        received = b""
        while b"\r\n" not in received and time.monotonic() - started < within:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n", 1)[0].decode()


ROUTES = ("/webhooks/surveys/generic", "/slack/events", "/api/messages")


@pytest.mark.parametrize("path", ROUTES)
def test_a_body_announced_over_the_cap_is_refused_before_it_is_read(
    sqlite_service: Loopback, path: str
) -> None:
    service = sqlite_service
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * MAX_BODY_BYTES}\r\n\r\n"
    )

    async def ask() -> str:
        return await asyncio.to_thread(raw_request, service.port, head, b"{" * 1024)

    assert service.run(ask()).startswith("HTTP/1.1 413"), path


@pytest.mark.parametrize("path", ROUTES)
def test_a_chunked_body_over_the_cap_is_refused_once_it_passes_the_cap(
    sqlite_service: Loopback, path: str
) -> None:
    service = sqlite_service
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 65536
    chunks = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    over = chunks * (MAX_BODY_BYTES // len(piece) + 1)  # past the cap, and never finished

    async def ask() -> str:
        return await asyncio.to_thread(raw_request, service.port, head, over)

    assert service.run(ask()).startswith("HTTP/1.1 413"), path


def test_over_the_cap_is_413_with_a_reason_and_at_the_cap_is_read(
    sqlite_service: Loopback,
) -> None:
    service = sqlite_service
    body = vendors.generic_payload(response_id="r-at-cap")
    at_cap = body + b" " * (MAX_BODY_BYTES - len(body))
    headers = SIGNERS["generic"](at_cap)
    assert service.post("/webhooks/surveys/generic", at_cap, headers)[0] == 200

    over = at_cap + b" "
    status, text = service.post("/webhooks/surveys/generic", over, SIGNERS["generic"](over))
    assert status == 413
    assert f"{MAX_BODY_BYTES:,}" in text or str(MAX_BODY_BYTES) in text

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(over), 65536):
            yield over[start : start + 65536]

    status, text = service.post("/webhooks/surveys/generic", chunked(), SIGNERS["generic"](over))
    assert status == 413, text
    assert service.count(SurveyResponse) == 1
