"""Slack end to end: signed requests, exactly as Slack sends them, to the real service.

The service runs on loopback with slack-bolt; the Web API and response_url are a local
fake (tests/fakes/slack_api.py) that records what Slack would have shown the user.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from adapters.bootstrap import Container, build
from adapters.entrypoints.http import build_app
from adapters.platforms.slack import app as slack_app
from adapters.settings import Settings
from bot.catalog import build_registry
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import ScoreFeedback, TeamMember
from metrics_core.synthetic import seed_database
from tests.e2e.slack_requests import (
    SECRET,
    buttons,
    click,
    header,
    home_opened,
    post,
    sign,
    slash,
    socket_command,
    submit_form,
)
from tests.fakes.slack_api import FakeSlack, _free_port

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("slack") / "closeloop.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, accounts=120, days=120, seed=5, as_of=TODAY)
    engine.dispose()
    return f"sqlite:///{path}"


async def _serve(database_url: str, slack: FakeSlack, secret: str) -> AsyncIterator[str]:
    settings = Settings(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=slack.api_url,
    )
    container: Container = build(settings)
    runner = web.AppRunner(build_app(container))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        await runner.cleanup()
        container.close()


@pytest.fixture
async def service(seeded_db: str, slack: FakeSlack) -> AsyncIterator[str]:
    async for url in _serve(seeded_db, slack, SECRET):
        yield url


@pytest.fixture
async def vector_service(seeded_db: str, slack: FakeSlack) -> AsyncIterator[str]:
    """The service with the signing secret of Slack's documented example."""
    vector = json.loads((CONFORMANCE / "slack-signing-test-vector.json").read_text())
    async for url in _serve(seeded_db, slack, vector["signing_secret"]):
        yield url


async def test_health_is_acked_at_once_and_answered_privately(
    service: str, slack: FakeSlack
) -> None:
    status, _, seconds = await slack.command(
        service, slash("/health", "acme", slack.response_url())
    )
    assert status == 200
    assert seconds < 3  # Slack's acknowledgement window
    (answer,) = await slack.wait_for("respond")
    assert answer.via == "ack"  # ready at once: the acknowledgement carries it
    assert header(answer) == "Acme Corp — health"
    assert answer.body["response_type"] == "ephemeral"
    assert answer.body["text"]  # the fallback for notifications
    labels = [b["text"]["text"] for b in buttons(answer)]
    assert labels == ["Account details", "This score looks wrong", "Refresh", "Share in channel"]


@pytest.mark.parametrize("name", [*build_registry().names(), "closeloop"])
async def test_every_command_answers(service: str, slack: FakeSlack, name: str) -> None:
    text = {"health": "acme", "churn": "acme", "closeloop": "help"}.get(name, "")
    status, _, _ = await slack.command(service, slash(f"/{name}", text, slack.response_url()))
    assert status == 200
    (answer,) = await slack.wait_for("respond", within=30)
    assert header(answer)
    assert "Something went wrong" not in header(answer)


async def test_an_answer_slower_than_the_ack_budget_is_acked_then_sent_to_the_response_url(
    service: str, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack's three seconds are kept for slow answers: the acknowledgement comes empty at
    the budget and the answer follows at the response_url."""
    monkeypatch.setattr(slack_app, "ACK_BUDGET_SECONDS", 0.2)
    slack.delays["users.info"] = 0.6  # /digest reads the user's time zone from Slack first
    status, body, seconds = await slack.command(
        service, slash("/digest", "list", slack.response_url("slow"))
    )
    assert status == 200
    assert body == ""
    assert 0.2 <= seconds < 0.6
    answer = await slack.answer_to("slow")
    assert answer.via == "response_url"
    assert header(answer)
    assert len(slack.of("respond")) == 1  # once, not also in the acknowledgement


async def test_unknown_and_ambiguous_accounts(service: str, slack: FakeSlack) -> None:
    await slack.command(service, slash("/health", "zzzz-nothing-like-it", slack.response_url()))
    (none,) = await slack.wait_for("respond")
    assert header(none).startswith("⚠️ No account matches")
    assert not buttons(none)  # nothing to share or refresh


async def test_share_posts_in_channel_and_refresh_replaces(service: str, slack: FakeSlack) -> None:
    payload = {"command": "health acme"}
    status, _, _ = await post(service, click("closeloop.share", payload, slack.response_url("s")))
    assert status == 200
    (shared,) = await slack.wait_for("respond")
    assert shared.body["response_type"] == "in_channel"
    assert shared.body["replace_original"] is False
    assert header(shared) == "Acme Corp — health"
    assert [b["text"]["text"] for b in buttons(shared)] == [
        "Account details",
        "This score looks wrong",
        "Refresh",
    ]
    await post(service, click("closeloop.refresh", payload, slack.response_url("r")))
    _, refreshed = await slack.wait_for("respond", 2)
    assert refreshed.body["replace_original"] is True
    assert refreshed.body["response_type"] == "ephemeral"


async def test_pick_from_did_you_mean(service: str, slack: FakeSlack) -> None:
    await post(
        service,
        click("closeloop.pick:2", {"command": "churn", "account": "ACME"}, slack.response_url()),
    )
    (answer,) = await slack.wait_for("respond")
    assert header(answer) == "Acme Corp — churn risk"


async def test_app_home_shows_the_viewers_book(service: str, slack: FakeSlack) -> None:
    event = home_opened("U0CSM1", "Ev1")
    status, _, _ = await post(service, event, content_type="application/json")
    assert status == 200
    (published,) = await slack.wait_for("views.publish")
    assert published.body["user_id"] == "U0CSM1"
    view = published.body["view"]
    assert view["type"] == "home"
    titles = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert titles[0] == "Dana Whitfield's book"
    assert "At risk" in titles
    assert "Your open follow-ups" in titles


async def test_rate_limited_publish_waits_and_posts_once(service: str, slack: FakeSlack) -> None:
    slack.rate_limited["views.publish"] = 1
    event = home_opened("U0CSM2", "Ev3")
    await post(service, event, content_type="application/json")
    (published,) = await slack.wait_for("views.publish", within=15)
    assert published.body["user_id"] == "U0CSM2"
    assert slack.attempts["views.publish"] == 2  # one 429, then one success
    assert len(slack.of("views.publish")) == 1


async def test_bad_and_stale_signatures_are_refused(service: str, slack: FakeSlack) -> None:
    body = slash("/health", "acme", slack.response_url())
    status, _, _ = await post(service, body, signature="v0=" + "0" * 64)
    assert status == 401
    stale = str(int(time.time()) - 600)
    status, _, _ = await post(service, body, timestamp=stale, signature=sign(body, stale))
    assert status == 401
    assert slack.of("respond") == []


def test_our_signing_matches_slacks_documented_vector() -> None:
    vector = json.loads((CONFORMANCE / "slack-signing-test-vector.json").read_text())
    assert (
        sign(vector["body"], vector["timestamp"], vector["signing_secret"])
        == vector["expected_signature"]
    )


async def test_slacks_documented_request_is_refused_as_stale(
    service: str, slack: FakeSlack
) -> None:
    """Slack's own example is correctly signed but from 2018: replaying it must fail."""
    vector = json.loads((CONFORMANCE / "slack-signing-test-vector.json").read_text())
    status, _, _ = await post(
        service,
        vector["body"],
        timestamp=vector["timestamp"],
        signature=vector["expected_signature"],
    )
    assert status == 401


async def test_socket_mode_answers_without_a_public_url(seeded_db: str, slack: FakeSlack) -> None:
    from adapters.entrypoints.serve import start_socket_mode

    settings = Settings(
        DATABASE_URL=seeded_db,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_APP_TOKEN="xapp-test-token",
        SLACK_API_URL=slack.api_url,
    )
    container = build(settings)
    handler = await start_socket_mode(container)
    assert handler is not None
    try:
        await slack.push(socket_command("env-1", "/health", "acme", slack.response_url()))
        (answer,) = await slack.wait_for("respond")
        assert header(answer) == "Acme Corp — health"
        assert any(ack.get("envelope_id") == "env-1" for ack in slack.acks)
        assert (
            slack.of("apps.connections.open")[0].headers["Authorization"]
            == "Bearer xapp-test-token"
        )
    finally:
        await handler.close_async()
        container.close()


async def test_ambiguous_names_offer_buttons_that_answer(
    seeded_db: str, service: str, slack: FakeSlack
) -> None:
    from metrics_core.store.db import Database
    from metrics_core.store.models import Account, LifecycleStage, Segment

    db = Database(make_engine(seeded_db))
    with db.writing() as session:
        for external_id, name in (("GLX-1", "Globex Industries"), ("GLX-2", "Globex Retail")):
            if session.query(Account).filter_by(external_id=external_id).first() is None:
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
    db.close()
    await slack.command(service, slash("/health", "globex", slack.response_url()))
    (question,) = await slack.wait_for("respond")
    assert "matches" in header(question)
    picks = [b for b in buttons(question) if b["action_id"].startswith("closeloop.pick")]
    assert sorted(b["text"]["text"] for b in picks) == ["Globex Industries", "Globex Retail"]
    assert len(buttons(question)) == len(picks)  # a question: no Refresh or Share
    assert len({b["action_id"] for b in picks}) == 2  # unique within the message
    retail = next(b for b in picks if b["text"]["text"] == "Globex Retail")
    chosen = json.loads(retail["value"])
    await post(service, click(retail["action_id"], chosen, slack.response_url("p")))
    _, answer = await slack.wait_for("respond", 2)
    assert header(answer) == "Globex Retail — health"


async def test_score_looks_wrong_asks_in_a_modal_stores_it_and_thanks_privately(
    service: str, slack: FakeSlack, seeded_db: str
) -> None:
    await slack.command(service, slash("/health", "acme", slack.response_url()))
    (answer,) = await slack.wait_for("respond")
    wrong = next(b for b in buttons(answer) if b["text"]["text"] == "This score looks wrong")
    value = json.loads(wrong["value"])
    await post(service, click(wrong["action_id"], value, slack.response_url("w")))
    (opened,) = await slack.wait_for("views.open")
    view = opened.body["view"]
    direction, reason = view["blocks"]
    assert [o["value"] for o in direction["element"]["options"]] == ["too_high", "too_low"]
    assert reason["optional"] and reason["element"]["multiline"]
    values: dict[str, dict[str, Any]] = {
        "direction": {
            "direction": {"type": "static_select", "selected_option": {"value": "too_low"}}
        },
        "reason": {"reason": {"type": "plain_text_input", "value": "They just renewed early"}},
    }
    status, _, _ = await post(service, submit_form(view, values, "U0CSM1"))
    assert status == 200
    (told,) = await slack.wait_for("chat.postEphemeral")
    assert told.body["user"] == "U0CSM1" and told.body["channel"] == "C111"
    assert told.body["text"].startswith("Thanks — noted that Acme Corp's health looks too low")
    assert len(slack.of("respond")) == 1  # the health answer itself was left as it was
    database = Database(make_engine(seeded_db))
    try:
        with database.reading() as session:
            (stored,) = session.execute(
                select(
                    ScoreFeedback.direction,
                    ScoreFeedback.reason,
                    ScoreFeedback.user_ref,
                    TeamMember.slack_user_id,
                ).join(TeamMember, TeamMember.id == ScoreFeedback.team_member_id)
            ).all()
    finally:
        database.close()
    assert tuple(stored) == ("too_low", "They just renewed early", "slack:U0CSM1", "U0CSM1")


async def test_app_home_welcomes_someone_outside_the_team(service: str, slack: FakeSlack) -> None:
    event = home_opened("UOUTSIDER", "Ev9")
    await post(service, event, content_type="application/json")
    (published,) = await slack.wait_for("views.publish")
    blocks = published.body["view"]["blocks"]
    assert blocks[0]["text"]["text"] == "Welcome to Closeloop"


async def test_account_details_button(service: str, slack: FakeSlack) -> None:
    await slack.command(service, slash("/churn", "acme", slack.response_url()))
    (churn,) = await slack.wait_for("respond")
    details = next(b for b in buttons(churn) if b["text"]["text"] == "Account details")
    await post(
        service, click(details["action_id"], json.loads(details["value"]), slack.response_url("d"))
    )
    _, answer = await slack.wait_for("respond", 2)
    assert header(answer) == "Acme Corp — account"
    fields = " ".join(f["text"] for b in answer.body["blocks"] for f in b.get("fields", []))
    for label in ("Health", "Churn risk", "NPS, 12 months", "Dana Whitfield", "Next renewal"):
        assert label in fields
    assert answer.body["replace_original"] is True  # the clicker's own private answer


async def test_a_button_on_a_message_everyone_sees_never_replaces_it(
    service: str, slack: FakeSlack
) -> None:
    """Account details on a channel alert or digest answers the clicker alone."""
    await post(
        service,
        click(
            "closeloop.details",
            {"account": "ACME"},
            slack.response_url("channel-message"),
            ephemeral=False,
        ),
    )
    (answer,) = await slack.wait_for("respond")
    assert header(answer) == "Acme Corp — account"
    assert answer.body["replace_original"] is False
    assert answer.body["response_type"] == "ephemeral"


async def test_an_unreachable_slack_api_fails_cleanly(seeded_db: str, slack: FakeSlack) -> None:
    """slack-bolt checks the token on first use; when Slack cannot be reached it answers
    5xx (Slack then tells the user the app did not respond) without leaking anything."""
    settings = Settings(
        DATABASE_URL=seeded_db,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=f"http://127.0.0.1:{_free_port()}/api/",  # nothing listens there
    )
    container = build(settings)
    runner = web.AppRunner(build_app(container))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"http://127.0.0.1:{port}/slack/events"
        status, body, _ = await slack.command(url, slash("/health", "acme", slack.response_url()))
        assert status >= 500
        assert "xoxb" not in body
        assert SECRET not in body
        assert slack.of("respond") == []
    finally:
        await runner.cleanup()
        container.close()
