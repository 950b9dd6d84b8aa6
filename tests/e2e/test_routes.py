"""Every inbound route authenticates or does not exist, spoken to over HTTP on loopback.

The service is built from settings as an operator writes them (the README's setups) and
served as `serve` serves it; Slack is the local fake, which records every answer a
response_url received, so "nothing was posted" is something the test can see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import aiohttp
import pytest
from sqlalchemy import select

from adapters.bootstrap import build
from adapters.entrypoints.serve import start_socket_mode
from adapters.settings import Settings
from metrics_core.store.db import Database
from metrics_core.store.models import Account, LifecycleStage, Segment, SurveyResponse
from tests import webhook_signing as vendors
from tests.e2e.slack_requests import (
    SECRET,
    click,
    form_encoded_payload,
    header,
    post,
    sign,
    slash,
    socket_command,
)
from tests.e2e.teams_service import serving
from tests.fakes.slack_api import FakeSlack

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeSlack]:
    """A host that is not Slack's, recording whatever is posted to it."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def acme(sqlite_db: Database) -> str:
    """A database that knows Acme Corp: enough for `/health acme` to answer."""
    with sqlite_db.writing() as session:
        session.add(
            Account(
                external_id="ACME",
                name="Acme Corp",
                domain="acme.example",
                segment=Segment.ENTERPRISE,
                seats=50,
                lifecycle_stage=LifecycleStage.MATURE,
                created_on=dt.date(2024, 1, 1),
            )
        )
    return str(sqlite_db.engine.url.render_as_string(hide_password=False))


async def _unsigned(url: str, body: str) -> int:
    """POST a form body with no Slack signature headers at all, as anyone on the net can."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=headers) as r:
        return r.status


async def test_socket_mode_mounts_no_slack_route_and_forged_commands_go_nowhere(
    acme: str, slack: FakeSlack
) -> None:
    """The README's Socket Mode setup: bot and app tokens, no signing secret.

    A slash command POSTed to /slack/events by anyone, unsigned or signed with an empty
    key, with a response_url of the sender's choosing, must find no route and cause no
    answer; the same question asked over the socket is answered.
    """
    settings = Settings(
        DATABASE_URL=acme,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_SIGNING_SECRET=None,
        SLACK_API_URL=slack.api_url,
    )
    container = build(settings)
    async with serving(container) as base:
        handler = await start_socket_mode(container)
        assert handler is not None
        try:
            events = f"{base}/slack/events"
            forged = slash("/health", "acme", slack.response_url("forged"), user="UFORGED")
            assert await _unsigned(events, forged) == 404
            stamp = str(int(dt.datetime.now(dt.UTC).timestamp()))
            status, _, _ = await post(
                events, forged, timestamp=stamp, signature=sign(forged, stamp, secret="")
            )
            assert status == 404

            await slack.push(
                socket_command("env-1", "/health", "acme", slack.response_url("socket"))
            )
            (answer,) = await slack.wait_for("respond")
            assert header(answer) == "Acme Corp — health"
            await asyncio.sleep(0.3)  # time enough for a forged answer to arrive, were one sent
            assert len(slack.of("respond")) == 1
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]


async def test_with_a_signing_secret_the_route_exists_and_checks_it(
    acme: str, slack: FakeSlack
) -> None:
    """Slack over HTTP: the route is there, an unsigned command is refused, a signed one
    is answered."""
    settings = Settings(
        DATABASE_URL=acme,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
    )
    async with serving(build(settings)) as base:
        events = f"{base}/slack/events"
        body = slash("/health", "acme", slack.response_url())
        assert await _unsigned(events, body) == 401
        status, _, _ = await slack.command(events, body)
        assert status == 200
        (answer,) = await slack.wait_for("respond")
        assert header(answer) == "Acme Corp — health"


def _with_response_urls(click_body: str, response_url: str) -> str:
    """A click whose answer address is only in `response_urls`, where bolt's `respond`
    finds it (as in a modal's submission), not in `response_url`."""
    payload = json.loads(unquote_plus(click_body.removeprefix("payload=")))
    del payload["response_url"]
    payload["response_urls"] = [{"response_url": response_url, "channel_id": "C111"}]
    return form_encoded_payload(payload)


async def test_answers_go_only_to_slacks_hosts(
    acme: str, slack: FakeSlack, elsewhere: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """A response_url on another host is refused, however the answer would find it, and
    the log names the host, never the URL. (A slash command's answer rides on the
    acknowledgement to the verified request, so its response_url is not used at all.)"""
    settings = Settings(
        DATABASE_URL=acme,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
    )
    foreign = elsewhere.response_url("credential-part")
    async with serving(build(settings)) as base:
        events = f"{base}/slack/events"
        with caplog.at_level(logging.WARNING, logger="adapters.platforms.slack"):
            status, body, _ = await slack.command(events, slash("/health", "acme", foreign))
            assert status == 200 and "Acme Corp" in body
            clicked = click("closeloop.refresh", {"command": "health acme"}, foreign)
            status, _, _ = await post(events, _with_response_urls(clicked, foreign))
            assert status == 200
            await slack.command(events, slash("/health", "acme", slack.response_url()))
            (answer,) = await slack.wait_for("respond")  # Slack's own host is answered
            assert header(answer) == "Acme Corp — health"
            await asyncio.sleep(0.3)
    assert elsewhere.calls == []
    refusals = [r.getMessage() for r in caplog.records if "outside Slack" in r.getMessage()]
    assert len(refusals) == 1
    for line in refusals:
        assert "127.0.0.1" in line  # the host, to find the misconfiguration or the sender
        assert "credential-part" not in line and "/respond/" not in line


async def _request(method: str, url: str, **kwargs: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as client, client.request(method, url, **kwargs) as r:
        return r.status, await r.text()


async def test_survey_webhooks_refuse_everything_while_their_secret_is_unset(
    acme: str, sqlite_db: Database
) -> None:
    """Generic is configured; Delighted's secret is blank and Typeform's unset. Unsigned
    deliveries, and deliveries signed with an empty key, store nothing anywhere."""
    settings = Settings(
        DATABASE_URL=acme,
        CLOSELOOP_WEBHOOK_SECRET=vendors.GENERIC_SECRET,
        DELIGHTED_WEBHOOK_SECRET="",
    )
    delighted = vendors.delighted_payload(response_id="d-1", score=2)
    typeform = vendors.typeform_payload(response_id="t-1", score=2)
    generic = vendors.generic_payload(response_id="g-1", score=2)
    attempts = [
        ("delighted", delighted, vendors.JSON, 404),
        ("delighted", delighted, vendors.sign_delighted("", delighted), 404),
        ("typeform", typeform, vendors.JSON, 404),
        ("typeform", typeform, vendors.sign_typeform("", typeform), 404),
        ("generic", generic, vendors.JSON, 401),
    ]
    async with serving(build(settings)) as base:
        for provider, body, headers, refused in attempts:
            url = f"{base}/webhooks/surveys/{provider}"
            status, _ = await _request("POST", url, data=body, headers=headers)
            assert (provider, status) == (provider, refused)
    with sqlite_db.reading() as session:
        assert session.scalars(select(SurveyResponse)).all() == []


async def test_metrics_and_readiness_reveal_nothing_sensitive(
    acme: str, slack: FakeSlack, unused_tcp_port: int
) -> None:
    """After every kind of request, forged and genuine, /metrics and /readyz show no
    secret, no database location, no account, user, path or query, nor an unusual
    method name: only counts by method, route template and status."""
    secrets = {
        "SLACK_BOT_TOKEN": "xoxb-bot-token-1f2e",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": "xapp-app-token-3d4c",
        "MICROSOFT_APP_ID": "8c8f2d4e-6a0b-4f4e-9a53-1f6f0f7c2b11",
        "MICROSOFT_APP_PASSWORD": "teams-password-5b6a",
        "CLOSELOOP_WEBHOOK_SECRET": vendors.GENERIC_SECRET,
        "TYPEFORM_WEBHOOK_SECRET": vendors.TYPEFORM_SECRET,
    }
    settings = Settings(
        DATABASE_URL=acme,
        SLACK_API_URL=slack.api_url,
        CLOSELOOP_TEAMS_OPENID_METADATA_URL=f"http://127.0.0.1:{unused_tcp_port}/openid",
        **secrets,  # type: ignore[arg-type]
    )
    async with serving(build(settings)) as base:
        events = f"{base}/slack/events"
        await _unsigned(events, slash("/health", "acme", slack.response_url(), user="UFORGED"))
        await slack.command(events, slash("/health", "acme", slack.response_url()))
        await slack.wait_for("respond")
        await _request("POST", f"{base}/api/messages", json={"type": "message", "text": "hi"})
        await _request("POST", f"{base}/webhooks/surveys/typeform", data=b"{}")
        await _request("GET", f"{base}/healthz?token=query-secret-7a8b")
        await _request("GET", f"{base}/admin/UFORGED")
        await _request("PROPFIND", f"{base}/metrics")
        status, ready = await _request("GET", f"{base}/readyz")
        assert status == 200
        assert json.loads(ready) == {"status": "ok", "database": "reachable"}
        status, metrics = await _request("GET", f"{base}/metrics")
        assert status == 200
    assert 'route="/slack/events",status="401"' in metrics  # it does count what happened
    assert 'method="other"' in metrics
    database = acme.removeprefix("sqlite:///")
    hidden = [*secrets.values(), database, "closeloop.db", "query-secret", "/admin", "PROPFIND"]
    hidden += ["Acme", "acme", "U0CSM1", "UFORGED", slack.base_url]
    for text in (metrics, ready):
        for value in hidden:
            assert value not in text


async def test_readiness_of_an_unreachable_database_names_nothing_of_it(
    unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The database URL carries a password: neither the answer nor the log shows it,
    nor the user or the database's name."""
    url = (
        f"postgresql+psycopg://closeloop-user:db-password-9e0f@127.0.0.1:{unused_tcp_port}"
        "/customer_db?connect_timeout=1"
    )
    with caplog.at_level(logging.DEBUG):
        async with serving(build(Settings(DATABASE_URL=url))) as base:
            status, body = await _request("GET", f"{base}/readyz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "unreachable"}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for value in ("db-password-9e0f", "closeloop-user", "customer_db"):
        assert value not in body
        assert value not in logged


def test_serve_refuses_an_empty_signing_secret_in_one_line(tmp_path: Path) -> None:
    """`SLACK_SIGNING_SECRET=` from a deployment template: the service does not start
    half-configured, and says which setting and what each Slack mode needs."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CLOSELOOP_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'closeloop.db'}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "SLACK_SIGNING_SECRET is set but empty" in done.stderr
    assert "Socket Mode" in done.stderr
    assert "Traceback" not in done.stderr and BOT_TOKEN not in done.stderr
