"""Recording a promoter's advocacy end to end on Slack: signed HTTP in, a modal, the alert
edited in place, and the act stored once however often the form is sent.

The real service (aiohttp, slack-bolt, the dispatcher running as in `serve`) on loopback;
Slack's Web API is the local fake, which keeps what each channel shows.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from metrics_core.store.models import AdvocacyEvent, AdvocacyKind, TeamMember
from tests import webhook_signing as vendors
from tests.e2e.loop_service import (
    ALERTS,
    Service,
    button,
    button_labels,
    deliver,
    generic,
    text_of,
)
from tests.e2e.slack_requests import click, post, submit_form
from tests.fakes.slack_api import FakeSlack


def _answers(kind: str, note: str) -> dict[str, dict[str, Any]]:
    return {
        "advocacy_kind": {
            "advocacy_kind": {"type": "static_select", "selected_option": {"value": kind}}
        },
        "advocacy_note": {"advocacy_note": {"type": "plain_text_input", "value": note}},
    }


async def _record(
    service: Service, slack: FakeSlack, alert: dict[str, Any], kind: str, note: str
) -> str:
    """Press Record advocacy as Dana, fill the modal, and return what she is told."""
    record = button(alert, "Record advocacy")
    opened_before = len(slack.of("views.open"))
    told_before = len(slack.of("chat.postEphemeral"))
    status, _, _ = await post(
        service.events,
        click("closeloop.advocacy", json.loads(record["value"]), slack.response_url(), "U0CSM1"),
    )
    assert status == 200
    view = (await slack.wait_for("views.open", opened_before + 1))[-1].body["view"]
    status, _, _ = await post(service.events, submit_form(view, _answers(kind, note), "U0CSM1"))
    assert status == 200
    told = (await slack.wait_for("chat.postEphemeral", told_before + 1))[-1]
    assert told.body["user"] == "U0CSM1"
    return str(told.body["text"])


async def test_a_promoters_advocacy_is_recorded_from_the_alert_once(
    service: Service, slack: FakeSlack
) -> None:
    body = vendors.generic_payload(response_id="r-promoter", score=10, comment="Love it")
    assert (await deliver(service.webhook("generic"), body, generic(body)))[0] == 200
    await slack.wait_for("chat.postMessage")
    (alert,) = slack.messages(ALERTS)
    assert "NPS promoter: Acme Corp" in text_of(alert)
    assert "Record advocacy" in button_labels(alert)

    opened_before = len(slack.of("views.open"))
    record = button(alert, "Record advocacy")
    await post(
        service.events,
        click("closeloop.advocacy", json.loads(record["value"]), slack.response_url(), "U0CSM1"),
    )
    view = (await slack.wait_for("views.open", opened_before + 1))[-1].body["view"]
    kind_block, note_block = view["blocks"]
    assert [o["value"] for o in kind_block["element"]["options"]] == [k.value for k in AdvocacyKind]
    assert note_block["optional"]
    status, _, _ = await post(
        service.events, submit_form(view, _answers("referral", "Intro to Globex"), "U0CSM1")
    )
    assert status == 200
    (told,) = await slack.wait_for("chat.postEphemeral")
    assert told.body["text"].startswith("Recorded: referral of Acme Corp")
    await slack.wait_for("chat.update")
    await service.settled()
    (alert,) = slack.messages(ALERTS)
    assert "Advocacy recorded" in text_of(alert) and "Referral" in text_of(alert)

    # The same kind again is the same act; another kind is another.
    again = await _record(service, slack, alert, "referral", "twice")
    assert again.startswith("Already recorded by Dana Whitfield on ")
    other = await _record(service, slack, alert, "case_study", "")
    assert other.startswith("Recorded: case study of Acme Corp")
    with service.container.db.reading() as session:
        rows = session.execute(
            select(AdvocacyEvent.kind, AdvocacyEvent.note, TeamMember.slack_user_id)
            .join(TeamMember, TeamMember.id == AdvocacyEvent.team_member_id)
            .order_by(AdvocacyEvent.id)
        ).all()
        recorded = [
            tuple(row) for row in rows if row[0] in (AdvocacyKind.REFERRAL, AdvocacyKind.CASE_STUDY)
        ]
    # The demo's own history may hold acts too; the two recorded here are the last two.
    assert recorded[-2:] == [
        (AdvocacyKind.REFERRAL, "Intro to Globex", "U0CSM1"),
        (AdvocacyKind.CASE_STUDY, None, "U0CSM1"),
    ]
