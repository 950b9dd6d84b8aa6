"""Where alerts go: one address vocabulary, the owner-DM rule once, a configured fallback."""

from __future__ import annotations

from metrics_core.config import AccountAlerts, Route
from metrics_core.delivery.routing import AnswerFacts, account_targets, survey_targets
from metrics_core.delivery.targets import (
    AddressKind,
    Platform,
    Target,
    conversations,
    direct_messages,
)
from metrics_core.store.models import AnswerBand, Segment, SurveyKind

DANA_AAD = "00000000-0000-4000-8000-000000000001"
DANA = direct_messages({Platform.SLACK: "U0CSM1", Platform.TEAMS: DANA_AAD})
DETRACTOR = AnswerFacts(
    AnswerBand.DETRACTOR, SurveyKind.NPS, True, segment=Segment.ENTERPRISE, owner=DANA
)


def test_a_persons_direct_messages_are_stored_as_each_platform_addresses_them() -> None:
    # Slack posts to a user id as to that person's DM; Teams resolves `user:<aad>` to the
    # personal chat the bot keeps a reference for.
    assert [(t.platform, t.address) for t in DANA] == [
        ("slack", "U0CSM1"),
        ("teams", f"user:{DANA_AAD}"),
    ]
    assert direct_messages({Platform.SLACK: None, Platform.TEAMS: ""}) == ()


def test_a_stored_address_reads_back_as_the_same_destination() -> None:
    for target in (*DANA, Target(Platform.TEAMS, "19:abc@thread.tacv2")):
        again = Target.stored(target.platform, target.address)
        assert again == target
        assert again.address == target.address
    assert Target.stored("teams", f"user:{DANA_AAD}").kind is AddressKind.PERSON
    assert Target.stored("teams", "19:abc@thread.tacv2").kind is AddressKind.CONVERSATION


def test_one_destination_is_owed_once_however_it_was_named() -> None:
    # A rule naming the owner's Slack id as a channel, and owner_dm: one message, not two.
    route = Route(slack_channels=["U0CSM1"], owner_dm=True)
    targets = survey_targets([route], DETRACTOR, fallback=None)
    assert [(t.platform, t.address) for t in targets] == [
        ("slack", "U0CSM1"),
        ("teams", f"user:{DANA_AAD}"),
    ]


def test_configured_conversations_keep_file_order_per_platform() -> None:
    assert [(t.platform, t.address) for t in conversations(["C1", "C2"], ["19:t"])] == [
        ("slack", "C1"),
        ("slack", "C2"),
        ("teams", "19:t"),
    ]


def test_an_answer_no_rule_matches_goes_to_the_configured_fallback_on_any_platform() -> None:
    teams_channel = Target(Platform.TEAMS, "19:alerts@thread.tacv2")
    smb_only = Route(segments=[Segment.SMB], slack_channels=["C0SMB"])
    assert survey_targets([smb_only], DETRACTOR, fallback=teams_channel) == [teams_channel]
    assert survey_targets([smb_only], DETRACTOR, fallback=None) == []
    # A matching rule decides alone: the fallback is only for answers nobody routed.
    assert survey_targets([Route(slack_channels=["C0ALL"])], DETRACTOR, fallback=teams_channel) == [
        Target(Platform.SLACK, "C0ALL")
    ]


def test_account_alerts_fall_back_only_when_nothing_else_is_configured() -> None:
    fallback = Target(Platform.TEAMS, "19:alerts@thread.tacv2")
    no_dm = AccountAlerts(owner_dm=False)
    assert account_targets(no_dm, DANA, fallback=fallback) == [fallback]
    assert account_targets(AccountAlerts(), DANA, fallback=fallback) == list(DANA)
    assert account_targets(AccountAlerts(), (), fallback=None) == []
