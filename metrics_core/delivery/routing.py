"""Where an alert goes: the routing rules of `closeloop.toml` applied to one answer.

Pure functions over facts already read, so the rules are tested without a database and
the webhook transaction spends no time deciding.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics_core.config import AccountAlerts, Route
from metrics_core.delivery.targets import Target, conversations, unique
from metrics_core.store.models import AnswerBand, Segment, SurveyKind


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    band: AnswerBand
    kind: SurveyKind
    has_comment: bool
    segment: Segment | None = None
    arr: float | None = None
    owner: tuple[Target, ...] = ()
    """The account owner's direct messages, on every platform the owner is known on."""

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


def survey_targets(
    routes: list[Route], facts: AnswerFacts, *, fallback: Target | None
) -> list[Target]:
    """The targets of every matching rule up to the first `stop`; `fallback` if none matched.

    `fallback` is the operator's configured alerts target (none: an answer no rule
    matches alerts nobody, though its follow-up still opens under the SLA).
    """
    targets: list[Target] = []
    matched_any = False
    for route in routes:
        if not _matches(route, facts):
            continue
        matched_any = True
        targets += conversations(route.slack_channels, route.teams_conversations)
        if route.owner_dm:
            targets += facts.owner
        if route.stop:
            break
    if not matched_any and fallback is not None:
        targets.append(fallback)
    return unique(targets)


def account_targets(
    rules: AccountAlerts, owner: tuple[Target, ...], *, fallback: Target | None
) -> list[Target]:
    """Usage-drop and band-change alerts: the configured conversations and the owner's DMs,
    else `fallback`."""
    targets = conversations(rules.slack_channels, rules.teams_conversations)
    if rules.owner_dm:
        targets += owner
    if not targets and fallback is not None:
        targets.append(fallback)
    return unique(targets)
