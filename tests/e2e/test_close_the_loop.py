"""Closing the loop end to end: signed survey webhooks in, alerts out, claims and closes.

The real service (aiohttp, slack-bolt, the dispatcher running as in `serve`) on loopback;
Slack's Web API is the local fake, which keeps what each channel shows.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from metrics_core.store.db import make_engine
from metrics_core.store.models import FollowUp, FollowUpStatus, SurveyResponse
from tests import webhook_signing as vendors
from tests.e2e.loop_service import (
    ALERTS,
    DETRACTOR_FROM,
    Service,
    button,
    button_labels,
    deliver,
    generic,
    text_of,
)
from tests.e2e.slack_requests import click, post, submit_form
from tests.fakes.slack_api import FakeSlack


@pytest.mark.parametrize("provider", sorted(DETRACTOR_FROM))
async def test_a_signed_delivery_becomes_one_alert(
    provider: str, service: Service, slack: FakeSlack
) -> None:
    body, sign = DETRACTOR_FROM[provider]
    answers_before = service.count(SurveyResponse)
    follow_ups_before = service.count(FollowUp)  # the demo team's history
    status, answer = await deliver(service.webhook(provider), body, sign(body))
    assert (status, answer["new"], answer["alerts"]) == (200, 1, 1)
    (posted,) = await slack.wait_for("chat.postMessage")
    assert posted.body["channel"] == ALERTS
    (alert,) = slack.messages(ALERTS)
    shown = text_of(alert)
    assert "NPS detractor: Acme Corp" in shown and "Exports keep failing" in shown
    assert "3 / 10" in shown and "Open — unclaimed" in shown and "Health" in shown
    assert button_labels(alert) == ["Claim", "Reassign", "Close", "Account details"]

    # The vendor delivers again: stored once, alerted once.
    status, answer = await deliver(service.webhook(provider), body, sign(body))
    assert (status, answer["new"], answer["alerts"]) == (200, 0, 0)
    await service.settled()
    assert len(slack.of("chat.postMessage")) == 1
    assert service.count(SurveyResponse) == answers_before + 1
    assert service.count(FollowUp) == follow_ups_before + 1


async def test_a_later_comment_edits_the_alert_in_place(service: Service, slack: FakeSlack) -> None:
    first = vendors.generic_payload(score=4, comment=None)
    assert (await deliver(service.webhook("generic"), first, generic(first)))[0] == 200
    await slack.wait_for("chat.postMessage")
    later = vendors.generic_payload(score=4, comment="Support never called back")
    assert (await deliver(service.webhook("generic"), later, generic(later, "msg_2")))[0] == 200
    (update,) = await slack.wait_for("chat.update")
    (alert,) = slack.messages(ALERTS)
    assert "Support never called back" in text_of(alert)
    assert len(slack.of("chat.postMessage")) == 1
    assert update.body["ts"] == next(iter(slack.channels[ALERTS]))  # the message posted first


async def test_concurrent_duplicate_deliveries_alert_once(
    service: Service, slack: FakeSlack
) -> None:
    body = vendors.generic_payload(score=2)
    results = await asyncio.gather(
        *(deliver(service.webhook("generic"), body, generic(body)) for _ in range(10))
    )
    assert {status for status, _ in results} == {200}
    assert sum(answer["new"] for _, answer in results) == 1
    await slack.wait_for("chat.postMessage")
    await service.settled()
    assert len(slack.of("chat.postMessage")) == 1
    assert len(slack.messages(ALERTS)) == 1


async def test_bad_signatures_and_bodies_are_refused_and_store_nothing(
    service: Service, slack: FakeSlack
) -> None:
    body = vendors.generic_payload(score=2)
    answers_before = service.count(SurveyResponse)
    forged = vendors.sign_generic("whsec_" + "A" * 32, body, timestamp=int(time.time()))
    status, answer = await deliver(service.webhook("generic"), body, forged)
    assert status == 401 and "signature" in answer["error"]
    stale = vendors.sign_generic(vendors.GENERIC_SECRET, body, timestamp=int(time.time()) - 600)
    assert (await deliver(service.webhook("generic"), body, stale))[0] == 401
    wrong = vendors.generic_payload(score=11)
    status, answer = await deliver(service.webhook("generic"), wrong, generic(wrong))
    assert status == 400 and "score" in answer["error"]
    broken = b'{"response_id": '
    status, answer = await deliver(service.webhook("generic"), broken, generic(broken))
    assert status == 400 and "JSON" in answer["error"]
    assert (await deliver(service.webhook("qualtrics"), body, generic(body)))[0] == 404
    assert service.count(SurveyResponse) == answers_before
    assert slack.of("chat.postMessage") == []


async def test_unmatched_respondents_are_kept_and_alerted(
    service: Service, slack: FakeSlack
) -> None:
    body = vendors.generic_payload(
        response_id="r-9", score=1, email="who@unknown.example", account_external_id=None
    )
    answers_before = service.count(SurveyResponse)
    assert (await deliver(service.webhook("generic"), body, generic(body)))[0] == 200
    await slack.wait_for("chat.postMessage")
    (alert,) = slack.messages(ALERTS)
    assert "unmatched respondent" in text_of(alert) and "/followups unmatched" in text_of(alert)
    assert service.count(SurveyResponse) == answers_before + 1


async def _alert(service: Service, slack: FakeSlack) -> tuple[int, dict[str, Any]]:
    body = vendors.generic_payload(score=2, comment="Exports keep failing")
    await deliver(service.webhook("generic"), body, generic(body))
    await slack.wait_for("chat.postMessage")
    (alert,) = slack.messages(ALERTS)
    follow_up = json.loads(button(alert, "Claim")["value"])["follow_up"]
    return int(follow_up), alert


async def test_claim_updates_the_alert_and_a_second_claimer_is_told_who_has_it(
    service: Service, slack: FakeSlack
) -> None:
    follow_up, _ = await _alert(service, slack)
    payload = {"follow_up": str(follow_up)}
    status, _, _ = await post(
        service.events, click("closeloop.claim", payload, slack.response_url("a"), "U0CSM2")
    )
    assert status == 200
    (answer,) = await slack.wait_for("respond")
    assert answer.body["response_type"] == "ephemeral"
    assert answer.body.get("replace_original") in (False, "false")
    assert "claimed" in answer.body["text"]
    await slack.wait_for("chat.update")
    (alert,) = slack.messages(ALERTS)
    assert "Claimed by" in text_of(alert)
    assert "Claim" not in button_labels(alert)

    await post(service.events, click("closeloop.claim", payload, slack.response_url("b"), "U0CSM3"))
    second = (await slack.wait_for("respond", 2))[1]
    assert "Already claimed by" in second.body["text"]


async def test_fifty_concurrent_clicks_give_exactly_one_owner(
    service: Service, slack: FakeSlack
) -> None:
    follow_up, _ = await _alert(service, slack)
    users = [f"U0CSM{i}" for i in range(1, 9)] + [f"U1X{i:03d}" for i in range(42)]
    payload = {"follow_up": str(follow_up)}
    statuses = await asyncio.gather(
        *(
            post(service.events, click("closeloop.claim", payload, slack.response_url(u), u))
            for u in users
        )
    )
    assert {status for status, _, _ in statuses} == {200}
    answers = await slack.wait_for("respond", 50, within=30)
    won = [a for a in answers if a.body["text"].startswith("Done: claimed")]
    lost = [a for a in answers if a.body["text"].startswith("Already claimed by")]
    assert (len(won), len(lost)) == (1, 49)
    with service.container.db.reading() as session:
        row = session.get_one(FollowUp, follow_up)
        assert row.status is FollowUpStatus.CLAIMED and row.owner_id is not None


async def test_only_the_cs_team_can_claim(service: Service, slack: FakeSlack) -> None:
    follow_up, _ = await _alert(service, slack)
    payload = {"follow_up": str(follow_up)}
    await post(service.events, click("closeloop.claim", payload, slack.response_url(), "U0SALES"))
    (answer,) = await slack.wait_for("respond")
    assert "Only the CS team" in answer.body["text"]
    with service.container.db.reading() as session:
        assert session.get_one(FollowUp, follow_up).status is FollowUpStatus.OPEN


async def test_close_asks_outcome_and_note_in_a_modal_and_shows_them(
    service: Service, slack: FakeSlack
) -> None:
    follow_up, alert = await _alert(service, slack)
    close = button(alert, "Close")
    await post(
        service.events,
        click("closeloop.close", json.loads(close["value"]), slack.response_url(), "U0CSM1"),
    )
    (opened,) = await slack.wait_for("views.open")
    view = opened.body["view"]
    assert view["type"] == "modal" and opened.body["trigger_id"]
    outcome_block, note_block = view["blocks"]
    assert note_block["optional"] and note_block["element"]["multiline"]
    assert [o["value"] for o in outcome_block["element"]["options"]] == [
        "resolved",
        "contacted",
        "unreachable",
        "no_action_needed",
    ]
    values = {
        "outcome": {"outcome": {"type": "static_select", "selected_option": {"value": "resolved"}}},
        "note": {"note": {"type": "plain_text_input", "value": "Called Jane, fix is live"}},
    }
    status, _, _ = await post(service.events, submit_form(view, values, "U0CSM1"))
    assert status == 200
    (told,) = await slack.wait_for("chat.postEphemeral")
    assert told.body["user"] == "U0CSM1" and "closed" in told.body["text"]
    await slack.wait_for("chat.update")
    await service.settled()
    (alert,) = slack.messages(ALERTS)
    assert "Closed by" in text_of(alert) and "Called Jane, fix is live" in text_of(alert)
    assert button_labels(alert) == ["Account details"]
    with service.container.db.reading() as session:
        row = session.get_one(FollowUp, follow_up)
        assert (row.status, row.outcome) == (FollowUpStatus.CLOSED, "resolved")
        assert row.closed_at is not None and row.claimed_at is not None


async def test_a_rate_limited_post_is_retried_and_posted_once(
    service: Service, slack: FakeSlack
) -> None:
    slack.rate_limited["chat.postMessage"] = 1
    body = vendors.generic_payload(score=2)
    assert (await deliver(service.webhook("generic"), body, generic(body)))[0] == 200
    await slack.wait_for("chat.postMessage")
    await service.settled()
    assert slack.attempts["chat.postMessage"] == 2
    assert len(slack.messages(ALERTS)) == 1


async def test_a_database_failure_answers_503_and_stores_nothing(
    service: Service, slack: FakeSlack, database_file: Path
) -> None:
    """The answer row goes in, the outbox row cannot: all of it is rolled back, and the
    vendor is told to retry rather than told it was stored."""
    engine = make_engine(f"sqlite:///{database_file}")
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE outbox RENAME TO outbox_away")
    engine.dispose()
    answers_before = service.count(SurveyResponse)
    follow_ups_before = service.count(FollowUp)
    body = vendors.generic_payload(score=2)
    status, answer = await deliver(service.webhook("generic"), body, generic(body))
    assert status == 503 and "retry" in answer["error"]
    assert service.count(SurveyResponse) == answers_before
    assert service.count(FollowUp) == follow_ups_before
