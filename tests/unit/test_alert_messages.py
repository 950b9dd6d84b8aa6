"""Alerts from facts given by hand, and the Claim, Reassign and Close buttons on a fake reader.

`metrics_core.delivery.alert_facts` reads what an alert shows as things stand (its
integration tests use real databases); the presenter words it. The buttons look up who
pressed, then write once, with the follow-up id and the presser the click carried.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.actions import CLAIM, CLOSE, REASSIGN
from bot.handlers.follow_up_actions import act_on_follow_up, follow_up_form
from bot.inbound import ActionRequest, Actor, Platform
from bot.messages.alerts import alert_reply, survey_alert
from bot.reply import Reply, Tone, Visibility
from bot.reply_codec import encode
from metrics_core.accounts.team import Member, active_members, member_by_chat_id
from metrics_core.config import Config
from metrics_core.delivery.account_alerts import USAGE_DROP
from metrics_core.delivery.alert_facts import AccountStanding, AlertFacts, SurveyAlertFacts
from metrics_core.delivery.outbox import Due
from metrics_core.delivery.targets import Target
from metrics_core.digests.subscriptions import DIGEST
from metrics_core.followups import work as followups
from metrics_core.followups.work import ALERT, REMINDER, Change, FollowUpView, Outcome
from metrics_core.health.scorecard import Band
from metrics_core.store.models import AnswerBand, FollowUpStatus, Segment, SurveyKind, TeamRole
from tests.fakes.reader import FakeReader
from tests.routing import offline_context

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)  # what `offline_context` says it is
CONFIG = Config()
DANA = Member(1, "Dana Whitfield", TeamRole.CSM, "dana@closeloop.example")
SAM = Member(2, "Sam Ortiz", TeamRole.CSM, "sam@closeloop.example")
ME = Actor(Platform.SLACK, user_id="U0CSM1")

VIEW = FollowUpView(
    id=7,
    status=FollowUpStatus.OPEN,
    band=AnswerBand.DETRACTOR,
    kind=SurveyKind.NPS,
    score=4,
    comment="Reports are slow",
    respondent_name="Jane Doe",
    respondent_email="jane@acme.example",
    submitted_at=dt.datetime(2026, 11, 19, 13, tzinfo=dt.UTC),
    created_at=dt.datetime(2026, 11, 19, 13, tzinfo=dt.UTC),
    account_id=1,
    account_name="Acme Corp",
    account_external_id="ACME",
    segment=Segment.ENTERPRISE,
    owner=None,
    account_owner="Dana Whitfield",
    claimed_at=None,
    closed_at=None,
    outcome=None,
    note=None,
)
ACME = AccountStanding("Acme Corp", "ACME", 120_000.0, 58.4, Band.YELLOW)


def _due(kind: str, **fields: object) -> Due:
    values: dict[str, object] = {
        "id": 1,
        "key": f"{kind}:7",
        "kind": kind,
        "target": Target(Platform.SLACK, "C0ALERTS"),
        "follow_up_id": 7,
        "account_id": None,
        "details": {},
        "version": 1,
        "attempts": 0,
        "message_channel": None,
        "message_id": None,
        "sending_since": None,
    }
    values.update(fields)
    return Due(**values)  # type: ignore[arg-type]


def _facts(reply: Reply) -> dict[str, str]:
    return {fact.label: fact.value for fact in reply.facts}


# alerts


def test_a_survey_alert_shows_the_answer_the_account_and_the_buttons() -> None:
    reply = alert_reply(
        AlertFacts(_due(ALERT), follow_up=SurveyAlertFacts(VIEW, ACME)), CONFIG, NOW
    )
    assert reply.heading == "NPS detractor: Acme Corp"
    assert reply.paragraphs == ("“Reports are slow”",)
    assert [(m.label, m.value, m.tone) for m in reply.metrics] == [
        ("NPS", "4 / 10", Tone.BAD),
        ("Health", "58/100", Tone.WARNING),
    ]
    assert _facts(reply) == {
        "Respondent": "Jane Doe <jane@acme.example>",
        "Account": "Acme Corp (Enterprise)",
        "ARR": "$120k",
        "Status": "Open — unclaimed",
        "Account owner": "Dana Whitfield",
        "Answered": "2026-11-19 13:00 UTC",
    }
    assert [a.label for a in reply.actions] == ["Claim", "Reassign", "Close", "Account details"]
    assert reply.visibility is Visibility.CHANNEL


def test_an_alert_about_a_churned_account_shows_no_health() -> None:
    gone = dataclasses.replace(ACME, health_score=None, health_band=None)
    reply = survey_alert(SurveyAlertFacts(VIEW, gone), CONFIG)
    assert [m.label for m in reply.metrics] == ["NPS"]
    assert _facts(reply)["ARR"] == "$120k"


def test_an_unmatched_answer_says_where_it_waits() -> None:
    unmatched = dataclasses.replace(
        VIEW, account_id=None, account_name=None, account_external_id=None, segment=None
    )
    reply = survey_alert(SurveyAlertFacts(unmatched, None), CONFIG)
    assert reply.heading == "NPS detractor: unmatched respondent"
    assert "Account" not in _facts(reply)
    assert any("`/followups unmatched`" in note for note in reply.notes)


def test_a_closed_follow_up_shows_how_it_ended_and_no_claim_button() -> None:
    closed = dataclasses.replace(
        VIEW, status=FollowUpStatus.CLOSED, owner="Dana Whitfield", outcome="resolved", note="Fixed"
    )
    reply = survey_alert(SurveyAlertFacts(closed, ACME), CONFIG)
    assert _facts(reply)["Status"] == "Closed by Dana Whitfield: resolved — Fixed"
    assert [a.label for a in reply.actions] == ["Account details"]


def test_a_reminder_counts_the_wait_against_the_escalation() -> None:
    reply = alert_reply(
        AlertFacts(_due(REMINDER), follow_up=SurveyAlertFacts(VIEW, None)), CONFIG, NOW
    )
    assert reply.heading == "Reminder: NPS detractor from Acme Corp is unclaimed"
    assert reply.paragraphs[0] == "Waiting 20 h; it escalates at 24 h."


def test_a_follow_up_or_account_that_no_longer_exists_is_said_so() -> None:
    assert (
        alert_reply(AlertFacts(_due(ALERT)), CONFIG, NOW).heading
        == "This follow-up no longer exists"
    )
    usage = _due(USAGE_DROP, follow_up_id=None, account_id=1, details={"drop": 0.4})
    assert (
        alert_reply(AlertFacts(usage), CONFIG, NOW).heading
        == "An account alert about an account that no longer exists"
    )


def test_a_usage_drop_names_the_account_and_its_arr() -> None:
    usage = _due(USAGE_DROP, follow_up_id=None, account_id=1, details={"drop": 0.4})
    reply = alert_reply(AlertFacts(usage, account=ACME), CONFIG, NOW)
    assert reply.heading == "Usage down 40%: Acme Corp"
    assert (reply.metrics[0].label, reply.metrics[0].value) == ("ARR", "$120k")


def test_a_digest_is_sent_as_it_was_decided() -> None:
    decided = Reply(heading="Daily digest · whole portfolio · Fri 20 Nov 2026")
    due = _due(DIGEST, follow_up_id=None, details={"reply": encode(decided)})
    assert alert_reply(AlertFacts(due), CONFIG, NOW) == decided


# the buttons


def _press(action_id: str, **payload: str) -> ActionRequest:
    return ActionRequest(action_id, {"follow_up": "7", **payload}, ME, "C0ALERTS")


async def test_claim_writes_once_in_the_pressers_name_and_wakes_the_outbox() -> None:
    reader = FakeReader(
        {member_by_chat_id: DANA, followups.claim: Change(Outcome.DONE, 7, "Dana Whitfield")}
    )
    woken: list[bool] = []
    context = dataclasses.replace(
        offline_context(reader, today=TODAY), outbox_changed=lambda: woken.append(True)
    )
    reply = await act_on_follow_up(_press(CLAIM), context)

    _, claim = reader.asked
    assert claim.query is followups.claim
    assert claim.arguments == {"follow_up_id": 7, "member": DANA, "now": NOW}
    assert reply.heading == "Done: claimed (owner: Dana Whitfield)"
    assert woken == [True]


async def test_a_claim_someone_made_first_wakes_nothing() -> None:
    reader = FakeReader(
        {member_by_chat_id: DANA, followups.claim: Change(Outcome.TAKEN, 7, "Sam Ortiz")}
    )
    woken: list[bool] = []
    context = dataclasses.replace(
        offline_context(reader, today=TODAY), outbox_changed=lambda: woken.append(True)
    )
    reply = await act_on_follow_up(_press(CLAIM), context)
    assert reply.heading == "Already claimed by Sam Ortiz"
    assert woken == []


async def test_someone_off_the_team_changes_nothing() -> None:
    reader = FakeReader({member_by_chat_id: None})
    reply = await act_on_follow_up(_press(CLAIM), offline_context(reader, today=TODAY))
    assert reply.heading == "Only the CS team can take follow-ups"
    assert reader.queries() == [member_by_chat_id]


async def test_reassign_offers_the_team_and_hands_over_to_the_one_picked() -> None:
    reader = FakeReader(
        {
            active_members: [DANA, SAM],
            member_by_chat_id: DANA,
            followups.reassign: Change(Outcome.DONE, 7, "Sam Ortiz"),
        }
    )
    context = offline_context(reader, today=TODAY)
    form = await follow_up_form(_press(REASSIGN), context)
    assert form is not None
    (owner,) = form.fields
    assert [(c.value, c.label) for c in owner.choices] == [
        ("1", "Dana Whitfield"),
        ("2", "Sam Ortiz"),
    ]

    reply = await act_on_follow_up(_press(REASSIGN, owner="2"), context)
    reassign = reader.asked[-1]
    assert reassign.query is followups.reassign
    assert reassign.arguments == {"follow_up_id": 7, "member": DANA, "new_owner_id": 2, "now": NOW}
    assert reply.heading == "Done: reassigned (owner: Sam Ortiz)"


async def test_close_writes_the_outcome_and_note_the_form_sent() -> None:
    reader = FakeReader(
        {member_by_chat_id: DANA, followups.close: Change(Outcome.DONE, 7, "Dana Whitfield")}
    )
    reply = await act_on_follow_up(
        _press(CLOSE, outcome="resolved", note="Called back"), offline_context(reader, today=TODAY)
    )
    close = reader.asked[-1]
    assert close.arguments == {
        "follow_up_id": 7,
        "member": DANA,
        "outcome": "resolved",
        "note": "Called back",
        "allowed_outcomes": CONFIG.follow_ups.outcomes,
        "now": NOW,
    }
    assert reply.heading == "Done: closed (owner: Dana Whitfield)"
