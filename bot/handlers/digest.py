"""`digest subscribe | list | unsubscribe | preview`: scheduled summaries, managed from chat.

A channel subscription posts to the channel it was made in; `mine` goes to the asker's
direct messages and covers their own book. Times are the subscriber's wall-clock time:
the zone given, else the one their chat profile says, else `digests.default_timezone`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.context import BotContext
from bot.formatting import echoed
from bot.identity import named_member, not_on_team, team_member
from bot.inbound import Actor, CommandRequest, Platform
from bot.messages.digest import compose, title
from bot.reply import Outcome, Reply, Table
from metrics_core.delivery.outbox import Target
from metrics_core.delivery.routing import SLACK, TEAMS
from metrics_core.digests.subscriptions import (
    WEEKDAYS,
    Schedule,
    Scope,
    active_subscriptions,
    next_occurrence,
    subscribe,
    unsubscribe,
)
from metrics_core.store.models import DigestCadence, DigestScope, DigestSubscription, Segment

USAGE = (
    "digest subscribe daily HH:MM [Area/City] [segment=… | owner=@user | mine] | "
    "subscribe weekly mon HH:MM … | list | unsubscribe ID | preview [daily | weekly] [scope]"
)

_HELP = Reply(
    heading="Digests",
    paragraphs=(
        "`/digest subscribe daily 09:00` posts a morning summary to this channel: portfolio "
        "KPIs, health movers, new risks, renewals, overdue follow-ups and NPS.",
        "`/digest subscribe weekly mon 09:00 Europe/Berlin segment=Enterprise` — weekly, in "
        "a time zone, for one segment. `owner=@dana` covers one CSM's book; `mine` sends your "
        "own book to your direct messages.",
        "`/digest list` shows what is scheduled here, `/digest unsubscribe 3` stops one, "
        "`/digest preview` shows today's digest to you only.",
    ),
)

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WEEKDAY_NAMES = {name: i for i, name in enumerate(WEEKDAYS)} | {
    day.lower(): i
    for i, day in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}


class _Refused(Exception):
    """A request that cannot be done, with the answer that says why."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.heading)
        self.reply = reply


def _refuse(heading: str, hint: str | None = None) -> _Refused:
    return _Refused(
        Reply(heading=heading, paragraphs=(hint or f"Usage: `{USAGE}`",), outcome=Outcome.PROBLEM)
    )


@dataclass(frozen=True, slots=True)
class _Request:
    cadence: DigestCadence
    weekday: int | None
    time: dt.time | None
    timezone: str | None
    scope: str | None  # "mine", "segment=…", "owner=…", or None


def _parse(words: list[str], *, need_time: bool, need_day: bool) -> _Request:
    """The words after the verb; a schedule needs a time (and a day, weekly), a preview not."""
    cadence = DigestCadence.DAILY
    weekday: int | None = None
    at: dt.time | None = None
    zone: str | None = None
    scope: str | None = None
    rest = list(words)
    if rest and rest[0].lower() in ("daily", "weekly"):
        cadence = DigestCadence(rest.pop(0).lower())
    if cadence is DigestCadence.WEEKLY:
        if rest and rest[0].lower() in _WEEKDAY_NAMES:
            weekday = _WEEKDAY_NAMES[rest.pop(0).lower()]
        elif need_day:
            raise _refuse(
                "Which day?", "A weekly digest needs a day: `/digest subscribe weekly mon 09:00`."
            )
    while rest:
        word = rest.pop(0)
        lowered = word.lower()
        if (match := _TIME.match(word)) is not None:
            at = dt.time(int(match[1]), int(match[2]))
        elif lowered == "mine" or lowered.startswith(("segment=", "owner=")):
            # An owner may be a Teams mention with spaces: the rest is the owner.
            scope = " ".join([word, *rest])
            rest = []
        elif "/" in word or word.upper() == "UTC":
            zone = "UTC" if word.upper() == "UTC" else word
        else:
            raise _refuse(f"I don't understand “{echoed(word)}”")
    if need_time and at is None:
        raise _refuse(
            "At what time?", "Give a time as HH:MM, e.g. `/digest subscribe daily 09:00`."
        )
    return _Request(cadence, weekday, at, zone, scope)


def _zone(asked: str | None, actor: Actor, context: BotContext) -> str:
    for candidate in (asked, actor.timezone):
        if candidate:
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                if candidate is asked:
                    raise _refuse(
                        f"Unknown time zone “{candidate}”",
                        "Use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`.",
                    ) from None
                continue
            return candidate
    return context.config.digests.default_timezone


async def _scope(scope: str | None, actor_member_id: int, context: BotContext) -> Scope:
    if scope is None:
        return Scope(DigestScope.PORTFOLIO)
    if scope.lower() == "mine":
        return Scope(DigestScope.OWNER, owner_id=actor_member_id)
    name, _, value = scope.partition("=")
    if name.lower() == "segment":
        for segment in Segment:
            if segment.value.lower() == value.strip().lower():
                return Scope(DigestScope.SEGMENT, segment=segment)
        raise _refuse(
            f"Unknown segment “{value}”",
            "Segments are " + ", ".join(s.value for s in Segment) + ".",
        )
    owner = await named_member(value, context)
    if isinstance(owner, Reply):
        raise _Refused(owner)
    return Scope(DigestScope.OWNER, owner_id=owner.id)


def _platform(actor: Actor) -> str:
    if actor.platform is Platform.SLACK:
        return SLACK
    if actor.platform is Platform.TEAMS:
        return TEAMS
    raise _refuse(
        "Digests are delivered in Slack or Teams",
        "Subscribe from the channel or chat that should receive it.",
    )


def _direct(actor: Actor) -> Target:
    """The asker's own direct messages, as the outbox addresses them."""
    assert actor.user_id is not None
    platform = _platform(actor)
    address = actor.user_id if platform == SLACK else f"user:{actor.user_id}"
    return Target(platform, address)


def _here(request: CommandRequest) -> Target:
    platform = _platform(request.actor)
    if not request.conversation:
        raise _refuse("Subscribe from the channel that should receive the digest")
    return Target(platform, request.conversation)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _describe_scope(session: Session, subscription: DigestSubscription) -> str:
    return title(session, subscription.cadence, Scope.of(subscription)).split(" · ", 1)[1]


def _next_send(subscription: DigestSubscription, now: dt.datetime) -> str:
    schedule = Schedule.of(subscription)
    due = next_occurrence(schedule, now).due_at.astimezone(ZoneInfo(schedule.timezone))
    return f"{due:%a %d %b %H:%M} {schedule.timezone}"


async def _subscribe(request: CommandRequest, words: list[str], context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor, "Digests are for the CS team")
    asked = _parse(words, need_time=True, need_day=True)
    assert asked.time is not None
    zone = _zone(asked.timezone, request.actor, context)
    scope = await _scope(asked.scope, member.id, context)
    mine = asked.scope is not None and asked.scope.lower() == "mine"
    target = _direct(request.actor) if mine else _here(request)
    schedule = Schedule(asked.cadence, asked.time, zone, asked.weekday)
    now = context.now()

    def store(session: Session) -> tuple[int, bool, str, str]:
        subscription, created = subscribe(
            session,
            target=target,
            schedule=schedule,
            scope=scope,
            created_by=request.actor.user_id,
            now=now,
        )
        return (
            subscription.id,
            created,
            _describe_scope(session, subscription),
            _next_send(subscription, now),
        )

    subscription_id, created, covers, first = await context.db.write(store)
    context.schedule_changed()
    where = "your direct messages" if mine else "this conversation"
    return Reply(
        heading=f"Digest #{subscription_id} {'scheduled' if created else 'was already scheduled'}",
        paragraphs=(
            f"{_sentence(schedule.describe())} to {where}, covering: {covers}. "
            f"The next one goes out {first}.",
            f"Stop it with `/digest unsubscribe {subscription_id}`.",
        ),
    )


async def _list(request: CommandRequest, context: BotContext) -> Reply:
    here = _here(request) if request.conversation else None
    direct = _direct(request.actor) if request.actor.user_id else None
    now = context.now()

    def rows(session: Session) -> list[tuple[str, ...]]:
        found: list[tuple[str, ...]] = []
        for target, where in ((here, "here"), (direct, "your DMs")):
            if target is None:
                continue
            for s in active_subscriptions(session, target):
                found.append(
                    (
                        f"#{s.id}",
                        Schedule.of(s).describe(),
                        _describe_scope(session, s),
                        where,
                        _next_send(s, now),
                    )
                )
        return found

    listed = await context.db.read(rows)
    if not listed:
        return Reply(
            heading="No digests scheduled here",
            paragraphs=("Start one with `/digest subscribe daily 09:00`.",),
        )
    return Reply(
        heading="Scheduled digests",
        tables=(Table(("ID", "When", "Covers", "To", "Next"), tuple(listed)),),
        notes=("Stop one with `/digest unsubscribe ID`.",),
    )


async def _unsubscribe(request: CommandRequest, words: list[str], context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor, "Digests are for the CS team")
    if len(words) != 1 or not words[0].lstrip("#").isdecimal():
        return Reply(
            heading="Which digest?",
            paragraphs=("Give its number: `/digest unsubscribe 3` (`/digest list` shows them).",),
            outcome=Outcome.PROBLEM,
        )
    subscription_id = int(words[0].lstrip("#"))
    places = [
        t for t in (_here(request) if request.conversation else None, _direct(request.actor)) if t
    ]
    now = context.now()

    def stop(session: Session) -> DigestSubscription | None:
        for place in places:
            stopped = unsubscribe(session, subscription_id, allowed=place, now=now)
            if stopped is not None:
                return stopped
        return None

    stopped = await context.db.write(stop)
    if stopped is None:
        return Reply(
            heading=f"No digest #{subscription_id} here",
            paragraphs=("`/digest list` shows the digests of this conversation and your DMs.",),
            outcome=Outcome.PROBLEM,
        )
    context.schedule_changed()
    return Reply(
        heading=f"Digest #{subscription_id} stopped",
        paragraphs=("Nothing more will be sent for it, starting with the next one due.",),
    )


async def _preview(request: CommandRequest, words: list[str], context: BotContext) -> Reply:
    member = await team_member(request.actor, context)
    if member is None:
        return not_on_team(request.actor, "Digests are for the CS team")
    asked = _parse(words, need_time=False, need_day=False)
    scope = await _scope(asked.scope, member.id, context)
    now = context.now()
    zone = _zone(asked.timezone, request.actor, context)
    today = now.astimezone(ZoneInfo(zone)).date()
    digest = await context.db.read(
        lambda session: compose(
            session,
            cadence=asked.cadence,
            scope=scope,
            as_of=today,
            window_end=now,
            config=context.config,
            now=now,
            previous=None,
        )
    )
    reply = digest.reply
    return dataclasses.replace(reply, notes=(*reply.notes, "Preview: only you see this."))


async def digest_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    verb = words[0].lower() if words else "help"
    rest = words[1:]
    try:
        if verb == "subscribe":
            return await _subscribe(request, rest, context)
        if verb == "list":
            return await _list(request, context)
        if verb in ("unsubscribe", "stop"):
            return await _unsubscribe(request, rest, context)
        if verb == "preview":
            return await _preview(request, rest, context)
    except _Refused as refused:
        return refused.reply
    if verb == "help":
        return _HELP
    return Reply(
        heading=f"I don't understand “{echoed(verb)}”",
        paragraphs=(f"Usage: `{USAGE}`",),
        outcome=Outcome.PROBLEM,
    )
