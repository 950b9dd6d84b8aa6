"""Teams end to end: Bot Framework activities, as Teams sends them, to the real service.

The service runs on loopback (aiohttp, botbuilder's CloudAdapter, the dispatcher as in
`serve`); each activity's `serviceUrl` is a local fake Bot Connector
(tests/fakes/bot_connector.py) that records what the bot sent and keeps what every
conversation shows. Most tests run with CLOSELOOP_TEAMS_INSECURE_DEV=1 (no tokens either
way); the authentication tests run with an app id and check real JWTs against signing
keys served by a local OpenID endpoint.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from adapters.bootstrap import build
from adapters.entrypoints.http import build_app
from adapters.platforms.teams.app import TeamsSettingsError, authentication
from adapters.platforms.teams.sender import Connectors, TeamsSender, retry_after_seconds
from adapters.settings import Settings
from adapters.workers.dispatch import SendError
from bot.catalog import build_registry
from bot.commands import Command
from bot.context import BotContext
from bot.inbound import CommandRequest
from bot.reply import Reply
from metrics_core.delivery import conversation_references as conversations
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Delivery, DeliveryStatus, FollowUp, FollowUpStatus
from metrics_core.synthetic import seed_database
from tests import webhook_signing as vendors
from tests.e2e import teams_activities as teams
from tests.e2e.teams_activities import CHANNEL, DANA, MARCO
from tests.e2e.teams_service import Service, alerts, serving, settings_for
from tests.fakes.bot_connector import POST, REPLY, UPDATE, FakeBotConnector, _free_port

TODAY = dt.datetime.now(dt.UTC).date()
APP_ID = "3f0a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
ROUTES = f"""
[[alerts.routes]]
name = "detractors to the CS alerts channel and the owner"
bands = ["detractor"]
teams_conversations = ["{CHANNEL}"]
owner_dm = true
"""


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("teams") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, accounts=40, days=40, seed=3, as_of=TODAY)
    engine.dispose()
    return path


@pytest.fixture
def database_url(template_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "closeloop.db"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "closeloop.toml"
    path.write_text(ROUTES, encoding="utf-8")
    return path


async def _serve(settings: Settings, connector: FakeBotConnector) -> AsyncIterator[Service]:
    container = build(settings)
    async with serving(container) as base:
        yield Service(base, container, connector)


@pytest.fixture
async def service(
    database_url: str, config_file: Path, connector: FakeBotConnector
) -> AsyncIterator[Service]:
    async for running in _serve(settings_for(database_url, config_file), connector):
        yield running


def shown_card(call_body: dict[str, Any]) -> dict[str, Any]:
    return teams.card_of(call_body)


# --- commands ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*build_registry().names(), "closeloop"])
async def test_every_command_answers_in_a_personal_chat(
    service: Service, connector: FakeBotConnector, name: str
) -> None:
    text = {"health": "acme", "churn": "acme", "closeloop": "help"}.get(name, "")
    activity = teams.message(f"{name} {text}".strip(), service_url=connector.service_url)
    status, _, seconds = await service.send(activity)
    assert status == 200
    assert seconds < 15  # Teams' limit for a turn
    (reply,) = await connector.wait_for(REPLY)
    assert reply.conversation == teams.personal_chat(DANA)
    assert reply.activity_id == activity["id"]  # a reply to the user's message
    card = shown_card(reply.body)
    assert teams.heading(card)
    assert "Something went wrong" not in teams.heading(card)
    assert "I don't know" not in teams.heading(card)


async def test_health_by_mention_in_a_channel_replies_in_the_thread(
    service: Service, connector: FakeBotConnector
) -> None:
    activity = teams.channel_message("/health acme", service_url=connector.service_url)
    status, _, _ = await service.send(activity)
    assert status == 200
    (reply,) = await connector.wait_for(REPLY)
    assert reply.conversation == activity["conversation"]["id"]  # the thread
    card = shown_card(reply.body)
    assert teams.heading(card) == "Acme Corp — health"
    assert [b["title"] for b in teams.buttons(card)] == [
        "Account details",
        "This score looks wrong",
        "Refresh",
        "Share in channel",
    ]
    stored = service.reference(CHANNEL)
    assert stored is not None and stored.service_url == connector.service_url


async def test_churn_top_by_mention_in_a_group_chat_answers_there(
    service: Service, connector: FakeBotConnector
) -> None:
    chat = "19:meeting_group_chat_with_marco@thread.v2"
    activity = teams.message(
        "churn top 3",
        service_url=connector.service_url,
        mention=True,
        conversation=chat,
        conversation_type="groupChat",
    )
    status, _, _ = await service.send(activity)
    assert status == 200
    (reply,) = await connector.wait_for(REPLY)
    assert reply.conversation == chat
    card = shown_card(reply.body)
    assert "churn" in teams.heading(card).lower()
    assert "I don't know" not in teams.heading(card)
    stored = service.reference(chat)
    assert stored is not None and stored.conversation_type == "groupChat"


async def test_unknown_text_gets_help(service: Service, connector: FakeBotConnector) -> None:
    await service.send(teams.message("what can you do", service_url=connector.service_url))
    (reply,) = await connector.wait_for(REPLY)
    card = shown_card(reply.body)
    assert teams.heading(card) == "I don't know the command `what`"
    assert "renewals" in teams.text_of(card)


# --- buttons -------------------------------------------------------------------------------


async def _click(service: Service, verb: str, data: dict[str, Any], **where: Any) -> dict[str, Any]:
    activity = teams.invoke(verb, data, service_url=service.connector.service_url, **where)
    status, body, seconds = await service.send(activity)
    assert status == 200, body
    assert seconds < 15
    assert body["statusCode"] == 200
    return dict(body)


async def test_refresh_and_pick_replace_the_card(service: Service) -> None:
    body = await _click(service, "closeloop.refresh", {"command": "health acme"})
    assert body["type"] == teams.CARD
    assert teams.heading(body["value"]) == "Acme Corp — health"
    body = await _click(service, "closeloop.pick", {"command": "churn", "account": "ACME"})
    assert teams.heading(body["value"]) == "Acme Corp — churn risk"
    assert service.connector.calls == []  # answered in the invoke response alone


async def test_did_you_mean_offers_picks_that_answer(
    service: Service, connector: FakeBotConnector
) -> None:
    from metrics_core.store.models import Account, LifecycleStage, Segment

    with service.container.db.writing() as session:
        for external_id, name in (("GLX-1", "Globex Industries"), ("GLX-2", "Globex Retail")):
            session.add(
                Account(
                    external_id=external_id,
                    name=name,
                    segment=Segment.SMB,
                    seats=10,
                    lifecycle_stage=LifecycleStage.MATURE,
                    created_on=dt.date(2024, 1, 1),
                )
            )
    await service.send(teams.message("health globex", service_url=connector.service_url))
    (question,) = await connector.wait_for(REPLY)
    card = shown_card(question.body)
    retail = teams.button(card, "Globex Retail")
    assert retail["type"] == "Action.Execute" and retail["verb"] == "closeloop.pick"
    body = await _click(service, retail["verb"], retail["data"])
    assert teams.heading(body["value"]) == "Globex Retail — health"


async def test_share_posts_the_answer_for_everyone(
    service: Service, connector: FakeBotConnector
) -> None:
    thread = f"{CHANNEL};messageid=1485983408000"
    body = await _click(
        service,
        "closeloop.share",
        {"command": "health acme"},
        conversation=thread,
        conversation_type="channel",
    )
    assert body["type"] == "application/vnd.microsoft.activity.message"
    (posted,) = await connector.wait_for(REPLY)
    assert posted.conversation == thread
    card = shown_card(posted.body)
    assert teams.heading(card) == "Acme Corp — health"
    assert "Shared by Dana Whitfield" in teams.text_of(card)
    assert "Share in channel" not in [b["title"] for b in teams.buttons(card)]


async def test_account_details_are_posted(service: Service, connector: FakeBotConnector) -> None:
    body = await _click(service, "closeloop.details", {"account": "ACME"})
    assert body["type"] == "application/vnd.microsoft.activity.message"
    (posted,) = await connector.wait_for(REPLY)
    card = shown_card(posted.body)
    assert teams.heading(card) == "Acme Corp — account"
    assert "Dana Whitfield" in teams.text_of(card)


async def test_a_button_as_a_message_submit_is_answered(
    service: Service, connector: FakeBotConnector
) -> None:
    activity = teams.submit(
        {"verb": "closeloop.pick", "command": "health", "account": "ACME"},
        service_url=connector.service_url,
    )
    status, _, _ = await service.send(activity)
    assert status == 200
    (reply,) = await connector.wait_for(REPLY)
    assert teams.heading(shown_card(reply.body)) == "Acme Corp — health"


# --- alerts, proactively ------------------------------------------------------------------


async def _introduce(service: Service) -> None:
    """The bot hears from the alerts channel and from Dana (Acme's owner) in a personal chat."""
    url = service.connector.service_url
    assert (await service.send(teams.channel_message("help", service_url=url)))[0] == 200
    assert (await service.send(teams.message("help", service_url=url)))[0] == 200
    await service.connector.wait_for(REPLY, 2)


async def _alert(service: Service) -> tuple[dict[str, Any], dict[str, Any]]:
    """A detractor answer for Acme; the alert as the channel and Dana's chat show it."""
    await _introduce(service)
    body = vendors.generic_payload(score=2, comment="Exports keep failing")
    assert await service.webhook(body) == 200
    posts = await service.connector.wait_for(POST, 2)
    assert {p.conversation for p in posts} == {CHANNEL, teams.personal_chat(DANA)}
    await service.settled()
    (in_channel,) = alerts(service.connector, CHANNEL)
    (in_dm,) = alerts(service.connector, teams.personal_chat(DANA))
    return in_channel, in_dm


async def test_a_survey_alert_arrives_in_the_channel_and_the_owners_chat(
    service: Service, connector: FakeBotConnector
) -> None:
    in_channel, in_dm = await _alert(service)
    for message in (in_channel, in_dm):
        card = shown_card(message)
        assert "NPS detractor: Acme Corp" in teams.heading(card)
        assert "Exports keep failing" in teams.text_of(card)
        assert "Open — unclaimed" in teams.text_of(card)
        assert [b["title"] for b in teams.buttons(card)] == [
            "Claim",
            "Reassign",
            "Close",
            "Account details",
        ]
        assert message["channelData"]["closeloop"]["key"]  # the outbox key travels along
    assert in_channel["conversation"]["id"] == CHANNEL


async def test_claim_answers_the_clicker_and_updates_the_alert_in_place(
    service: Service, connector: FakeBotConnector
) -> None:
    in_channel, _ = await _alert(service)
    claim = teams.button(shown_card(in_channel), "Claim")
    body = await _click(
        service,
        claim["verb"],
        claim["data"],
        user=MARCO,
        conversation=f"{CHANNEL};messageid=1",
        conversation_type="channel",
    )
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert body["value"].startswith("Done: claimed (owner: Marco Alvarez)")
    updates = await connector.wait_for(UPDATE, 2)
    await service.settled()
    assert {u.conversation for u in updates} == {CHANNEL, teams.personal_chat(DANA)}
    (alert,) = connector.messages(CHANNEL)  # edited, not posted again
    card = shown_card(alert)
    assert "Claimed by Marco Alvarez" in teams.text_of(card)
    assert "Claim" not in [b["title"] for b in teams.buttons(card)]
    assert len(connector.of(POST)) == 2

    again = await _click(service, claim["verb"], claim["data"], user=DANA)
    assert again["value"].startswith("Already claimed by Marco Alvarez")


async def test_reassign_then_close_with_outcome_and_note(
    service: Service, connector: FakeBotConnector
) -> None:
    in_channel, _ = await _alert(service)
    card = shown_card(in_channel)
    reassign = teams.button(card, "Reassign")
    assert reassign["type"] == "Action.Execute"  # the team is read when it is pressed
    thread = {"conversation": f"{CHANNEL};messageid=1", "conversation_type": "channel"}
    body = await _click(service, reassign["verb"], reassign["data"], user=MARCO, **thread)
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert body["value"] == "Reassign: choose in the card below."
    (asked,) = (await connector.wait_for(REPLY, 3))[2:]
    form = teams.button(shown_card(asked.body), "Reassign")
    (choices,) = [e for e in form["card"]["body"] if e.get("id") == "owner"]
    dana = next(c["value"] for c in choices["choices"] if c["title"] == "Dana Whitfield")
    assert dana == str(service.member_id(DANA))
    submit = teams.form_submit(form)
    body = await _click(
        service, submit["verb"], {**submit["data"], "owner": dana}, user=MARCO, **thread
    )
    assert body["type"] == teams.CARD  # the form card now shows what happened
    assert teams.heading(body["value"]).startswith("Done: reassigned (owner: Dana Whitfield)")
    await connector.wait_for(UPDATE, 2)
    await service.settled()

    close = teams.form_submit(teams.button(card, "Close"))
    inputs = {"outcome": "resolved", "note": "Called Jane, the fix is live"}
    body = await _click(service, close["verb"], {**close["data"], **inputs}, user=DANA)
    assert body["value"].startswith("Done: closed")
    await connector.wait_for(UPDATE, 4)
    await service.settled()
    (alert,) = connector.messages(CHANNEL)
    shown = teams.text_of(shown_card(alert))
    assert "Closed by Dana Whitfield" in shown and "Called Jane, the fix is live" in shown
    assert [b["title"] for b in teams.buttons(shown_card(alert))] == ["Account details"]
    follow_up = int(close["data"]["follow_up"])
    with service.container.db.reading() as session:
        row = session.get_one(FollowUp, follow_up)
        assert (row.status, row.outcome) == (FollowUpStatus.CLOSED, "resolved")


async def test_a_rate_limited_post_waits_and_is_posted_once(
    service: Service, connector: FakeBotConnector
) -> None:
    connector.fail(POST, 429, retry_after="1", conversation=CHANNEL)
    started = time.monotonic()
    await _alert(service)
    assert connector.attempts[POST] == 3  # channel twice (429, then fine), the DM once
    assert len(connector.messages(CHANNEL)) == 1
    assert time.monotonic() - started >= 1  # Retry-After was honoured


async def test_a_conversation_the_bot_was_removed_from_is_marked_inactive(
    service: Service, connector: FakeBotConnector
) -> None:
    connector.fail(POST, 403, conversation=CHANNEL)
    await _introduce(service)
    body = vendors.generic_payload(score=2, comment="Exports keep failing")
    assert await service.webhook(body) == 200
    await connector.wait_for(POST, 1, conversation=teams.personal_chat(DANA))
    await service.settled()
    stored = service.reference(CHANNEL)
    assert stored is not None and not stored.active
    assert stored.last_error is not None and "403" in stored.last_error
    assert connector.messages(CHANNEL) == []
    with service.container.db.reading() as session:
        statuses = {d.status for d in session.query(Delivery).all()}
    assert DeliveryStatus.FAILED in statuses

    # The bot is added back: the conversation is usable again.
    await service.send(teams.channel_message("help", service_url=connector.service_url))
    await connector.wait_for(REPLY, 3)
    stored = service.reference(CHANNEL)
    assert stored is not None and stored.active and stored.last_error is None


# --- the 15-second budget -------------------------------------------------------------------


async def test_a_slow_answer_says_working_on_it_and_follows_later(
    database_url: str, config_file: Path, connector: FakeBotConnector
) -> None:
    release = asyncio.Event()

    async def slow(request: CommandRequest, context: BotContext) -> Reply:
        await release.wait()
        return Reply(heading="The slow answer")

    settings = settings_for(database_url, config_file, CLOSELOOP_TEAMS_REPLY_BUDGET_SECONDS=0.3)
    async for service in _serve(settings, connector):
        service.container.router.context.registry.register(Command("slow", "slow", "", slow))
        activity = teams.message("slow", service_url=connector.service_url)
        status, _, seconds = await service.send(activity)
        assert status == 200 and seconds < 5
        (working,) = await connector.wait_for(REPLY)
        assert working.body["text"].startswith("Working on it")
        release.set()
        _, late = await connector.wait_for(REPLY, 2)
        assert late.conversation == teams.personal_chat(DANA)
        assert teams.heading(shown_card(late.body)) == "The slow answer"


# --- authentication and configuration -------------------------------------------------------


class SigningKeys:
    """A local stand-in for login.botframework.com: OpenID metadata and its JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"kid-{uuid.uuid4().hex[:8]}"
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = _free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base = f"http://127.0.0.1:{port}"
        return f"{self.base}/v1/.well-known/openidconfiguration"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metadata(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.json_response(
            {
                "issuer": "https://api.botframework.com",
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.base}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update(kid=self.kid, use="sig", endorsements=["msteams"])
        return web.json_response({"keys": [jwk]})

    def token(
        self,
        service_url: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://api.botframework.com",
            "aud": APP_ID,
            "serviceurl": service_url,
            "nbf": now - 10,
            "exp": now + 3600,
            **claims,
        }
        return jwt.encode(
            payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


@pytest.fixture
async def keys() -> AsyncIterator[SigningKeys]:
    served = SigningKeys()
    await served.start()
    yield served
    await served.stop()


@pytest.fixture
async def secured(
    database_url: str, config_file: Path, connector: FakeBotConnector, keys: SigningKeys
) -> AsyncIterator[Service]:
    settings = settings_for(
        database_url,
        config_file,
        CLOSELOOP_TEAMS_INSECURE_DEV=False,
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD="not-a-real-client-secret",
        CLOSELOOP_TEAMS_OPENID_METADATA_URL=f"{keys.base}/v1/.well-known/openidconfiguration",
    )
    async for running in _serve(settings, connector):
        yield running


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_bot_framework_token_is_accepted(
    secured: Service, connector: FakeBotConnector, keys: SigningKeys
) -> None:
    activity = teams.invoke(
        "closeloop.refresh", {"command": "health acme"}, service_url=connector.service_url
    )
    status, body, _ = await secured.send(activity, _bearer(keys.token(connector.service_url)))
    assert status == 200
    assert teams.heading(body["value"]) == "Acme Corp — health"
    assert keys.requests >= 1  # the keys came from the configured OpenID metadata


Forgery = Callable[[SigningKeys, str], dict[str, str]]
FORGERIES: dict[str, Forgery] = {
    "no Authorization header": lambda k, url: {},
    "not a JWT": lambda k, url: {"Authorization": "Bearer not-a-token"},
    "not Bearer": lambda k, url: {"Authorization": f"Basic {k.token(url)}"},
    "signed by another key": lambda k, url: _bearer(
        k.token(url, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    ),
    "unknown key id": lambda k, url: _bearer(
        k.token(url, key=rsa.generate_private_key(public_exponent=65537, key_size=2048), kid="x")
    ),
    "another bot's audience": lambda k, url: _bearer(k.token(url, aud="another-app-id")),
    "another issuer": lambda k, url: _bearer(k.token(url, iss="https://evil.example")),
    "expired": lambda k, url: _bearer(
        k.token(url, nbf=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    ),
    "another service URL": lambda k, url: _bearer(k.token("https://evil.example/")),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_requests_without_a_valid_token_get_401(
    secured: Service, connector: FakeBotConnector, keys: SigningKeys, forgery: str
) -> None:
    activity = teams.invoke(
        "closeloop.refresh", {"command": "health acme"}, service_url=connector.service_url
    )
    headers = FORGERIES[forgery](keys, connector.service_url)
    status, body, _ = await secured.send(activity, headers)
    assert status == 401
    assert body == {"error": "unauthorized"}
    assert "not-a-real-client-secret" not in json.dumps(body)
    assert secured.reference(teams.personal_chat(DANA)) is None  # nothing was processed


async def test_other_tenants_are_refused_with_403(
    database_url: str, config_file: Path, connector: FakeBotConnector
) -> None:
    settings = settings_for(
        database_url, config_file, CLOSELOOP_TEAMS_TENANTS="11111111-2222-3333-4444-555555555555"
    )
    async for service in _serve(settings, connector):
        status, _, _ = await service.send(
            teams.message("health acme", service_url=connector.service_url)
        )
        assert status == 403
        await asyncio.sleep(0.2)
        assert connector.calls == []
        assert service.reference(teams.personal_chat(DANA)) is None


async def test_bad_requests_are_refused(service: Service) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.post(service.messages, data=b"{", headers=vendors.JSON) as response:
            assert response.status == 400
        async with client.post(service.messages, data=b"hello") as response:
            assert response.status == 415
        async with client.post(service.messages, json={"text": "no type"}) as response:
            assert response.status == 400


def test_an_empty_app_id_is_refused_without_the_insecure_flag(
    database_url: str, config_file: Path
) -> None:
    settings = settings_for(
        database_url, config_file, CLOSELOOP_TEAMS_INSECURE_DEV=False, MICROSOFT_APP_ID=""
    )
    with pytest.raises(TeamsSettingsError, match="CLOSELOOP_TEAMS_INSECURE_DEV=1"):
        build(settings)
    no_secret = settings_for(
        database_url, config_file, CLOSELOOP_TEAMS_INSECURE_DEV=False, MICROSOFT_APP_ID=APP_ID
    )
    with pytest.raises(TeamsSettingsError, match="MICROSOFT_APP_PASSWORD"):
        build(no_secret)


def test_serve_refuses_to_start_with_an_empty_app_id(database_url: str, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_", "CLOSELOOP_"))},
        "DATABASE_URL": database_url,
        "MICROSOFT_APP_ID": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", "serve", "--port", str(_free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert b"MICROSOFT_APP_ID is empty" in done.stderr
    assert b"Traceback" not in done.stderr  # one clear line, not a stack


async def test_without_teams_settings_there_is_no_route(database_url: str) -> None:
    container = build(Settings(DATABASE_URL=database_url))  # type: ignore[call-arg]
    assert container.teams is None
    runner = web.AppRunner(build_app(container))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with (
            aiohttp.ClientSession() as client,
            client.post(f"http://127.0.0.1:{port}/api/messages", json={"type": "message"}) as r,
        ):
            assert r.status == 404
    finally:
        await runner.cleanup()
        container.close()


# --- the sender against the fake connector ---------------------------------------------------


@pytest.fixture
def sender(sqlite_db: Database, connector: FakeBotConnector) -> tuple[TeamsSender, list[float]]:
    """A TeamsSender whose waits are recorded instead of slept, and two known chats."""
    with sqlite_db.writing() as session:
        for conversation, kind, user in (
            (CHANNEL, "channel", None),
            (teams.personal_chat(DANA), "personal", DANA),
        ):
            conversations.remember(
                session,
                conversation_id=conversation,
                conversation_type=kind,
                tenant_id=teams.TENANT,
                service_url=connector.service_url,
                user_id=user,
                reference={"bot": {"id": teams.BOT_ID, "name": teams.BOT_NAME}},
                now=dt.datetime.now(dt.UTC),
            )
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    auth = authentication(Settings(CLOSELOOP_TEAMS_INSECURE_DEV=True))  # type: ignore[call-arg]
    return TeamsSender(sqlite_db, Connectors(auth, None), sleep=wait), waits


ALERT = Reply(heading="NPS detractor: Acme Corp")


async def test_502_and_504_are_retried_with_growing_waits(
    sender: tuple[TeamsSender, list[float]], connector: FakeBotConnector
) -> None:
    teams_sender, waits = sender
    connector.fail(POST, 502)
    connector.fail(POST, 504)
    ref = await teams_sender.post(CHANNEL, ALERT, "key-1")
    assert ref.channel == CHANNEL and ref.message_id
    assert len(connector.messages(CHANNEL)) == 1 and connector.attempts[POST] == 3
    assert len(waits) == 2
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0  # exponential, jittered


async def test_a_412_on_update_is_retried(
    sender: tuple[TeamsSender, list[float]], connector: FakeBotConnector
) -> None:
    teams_sender, waits = sender
    ref = await teams_sender.post(f"user:{DANA}", ALERT, "key-1")
    assert ref.channel == teams.personal_chat(DANA)
    connector.fail(UPDATE, 412)
    await teams_sender.update(ref, Reply(heading="NPS detractor: Acme Corp (claimed)"))
    (shown,) = connector.messages(ref.channel)
    assert teams.heading(teams.card_of(shown)) == "NPS detractor: Acme Corp (claimed)"
    assert len(waits) == 1


async def test_retries_are_bounded_and_the_outbox_is_told_to_wait(
    sender: tuple[TeamsSender, list[float]], connector: FakeBotConnector
) -> None:
    teams_sender, waits = sender
    connector.fail(POST, 504, times=10)
    with pytest.raises(SendError) as failed:
        await teams_sender.post(CHANNEL, ALERT, "key-1")
    assert not failed.value.permanent and failed.value.retry_after is not None
    assert connector.attempts[POST] == 4 and len(waits) == 3


async def test_a_long_retry_after_is_left_to_the_outbox(
    sender: tuple[TeamsSender, list[float]], connector: FakeBotConnector
) -> None:
    teams_sender, waits = sender
    connector.fail(POST, 429, retry_after="120")
    with pytest.raises(SendError) as failed:
        await teams_sender.post(CHANNEL, ALERT, "key-1")
    assert failed.value.retry_after == 120 and not failed.value.permanent
    assert waits == [] and connector.attempts[POST] == 1


async def test_404_on_a_post_deactivates_but_on_an_update_does_not(
    sender: tuple[TeamsSender, list[float]], connector: FakeBotConnector, sqlite_db: Database
) -> None:
    teams_sender, _ = sender
    ref = await teams_sender.post(CHANNEL, ALERT, "key-1")
    connector.fail(UPDATE, 404)
    with pytest.raises(SendError) as failed:
        await teams_sender.update(ref, ALERT)
    assert failed.value.permanent
    with sqlite_db.reading() as session:
        still = conversations.find(session, CHANNEL)
    assert still is not None and still.active  # a deleted message, nothing more

    connector.fail(POST, 404, conversation=teams.personal_chat(DANA))
    with pytest.raises(SendError) as failed:
        await teams_sender.post(f"user:{DANA}", ALERT, "key-2")
    assert failed.value.permanent
    with sqlite_db.reading() as session:
        gone = conversations.find(session, f"user:{DANA}")
    assert gone is not None and not gone.active and "404" in (gone.last_error or "")
    with pytest.raises(SendError, match="inactive"):  # not tried again until it is back
        await teams_sender.post(f"user:{DANA}", ALERT, "key-3")
    assert connector.attempts[POST] == 2


async def test_an_unknown_address_is_permanent_and_find_has_no_history(
    sender: tuple[TeamsSender, list[float]], connector: FakeBotConnector
) -> None:
    teams_sender, _ = sender
    with pytest.raises(SendError, match="must be installed") as failed:
        await teams_sender.post("19:never-installed@thread.tacv2", ALERT, "key-1")
    assert failed.value.permanent
    with pytest.raises(SendError, match="must be installed"):
        await teams_sender.post(f"user:{MARCO}", ALERT, "key-1")
    assert connector.attempts[POST] == 0
    since = dt.datetime.now(dt.UTC)
    assert await teams_sender.find(CHANNEL, "key-1", since) is None


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    assert retry_after_seconds("3", now) == 3
    assert retry_after_seconds("Fri, 20 Nov 2026 09:30:07 GMT", now) == 7
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
