"""Where an alert goes: the routing rules of `closeloop.toml` applied to one answer.

Pure functions over facts already read, so the rules are tested without a database and
the webhook transaction spends no time deciding.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics_core.config import AccountAlerts, Route
from metrics_core.delivery.outbox import Target
from metrics_core.store.models import AnswerBand, Segment, SurveyKind

SLACK = "slack"
TEAMS = "teams"


@dataclass(frozen=True, slots=True)
class Owner:
    """The account owner's chat identities, for direct messages."""

    slack_user_id: str | None = None
    teams_aad_object_id: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    band: AnswerBand
    kind: SurveyKind
    has_comment: bool
    segment: Segment | None = None
    arr: float | None = None
    owner: Owner | None = None

    @property
    def matched(self) -> bool:
        return self.segment is not None


def _matches(route: Route, facts: AnswerFacts) -> bool:
    return (
        (not route.bands or facts.band in route.bands)
        and (not route.surveys or facts.kind in route.surveys)
        and (not route.segments or facts.segment in route.segments)
        and (route.min_arr is None or (facts.arr or 0.0) >= route.min_arr)
        and (route.has_comment is None or route.has_comment == facts.has_comment)
        and (route.matched is None or route.matched == facts.matched)
    )


def direct_targets(owner: Owner | None) -> list[Target]:
    """The owner's direct messages on every platform they are known on."""
    if owner is None:
        return []
    targets = []
    if owner.slack_user_id:
        targets.append(Target(SLACK, owner.slack_user_id))
    if owner.teams_aad_object_id:
        targets.append(Target(TEAMS, f"user:{owner.teams_aad_object_id}"))
    return targets


def _unique(targets: list[Target]) -> list[Target]:
    return list(dict.fromkeys(targets))


def channel_targets(slack_channels: list[str], teams_conversations: list[str]) -> list[Target]:
    return [Target(SLACK, c) for c in slack_channels] + [
        Target(TEAMS, c) for c in teams_conversations
    ]


def survey_targets(
    routes: list[Route], facts: AnswerFacts, *, default_slack_channel: str | None
) -> list[Target]:
    """The targets of every matching rule up to the first `stop`; the default if none matched."""
    targets: list[Target] = []
    matched_any = False
    for route in routes:
        if not _matches(route, facts):
            continue
        matched_any = True
        targets += channel_targets(route.slack_channels, route.teams_conversations)
        if route.owner_dm:
            targets += direct_targets(facts.owner)
        if route.stop:
            break
    if not matched_any and default_slack_channel:
        targets.append(Target(SLACK, default_slack_channel))
    return _unique(targets)


def account_targets(
    rules: AccountAlerts, owner: Owner | None, *, default_slack_channel: str | None
) -> list[Target]:
    """Usage-drop and band-change alerts: the configured channels and the owner's DMs."""
    targets = channel_targets(rules.slack_channels, rules.teams_conversations)
    if rules.owner_dm:
        targets += direct_targets(owner)
    if not targets and default_slack_channel:
        targets.append(Target(SLACK, default_slack_channel))
    return _unique(targets)
